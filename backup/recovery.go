package backup

import (
	"context"
	"errors"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// staleReason is what the customer reads about an operation whose worker died.
const staleReason = "the server running the operation stopped responding"

// RecoverStale settles operations whose worker stopped heartbeating for longer than
// Options.StaleAfter (a crashed or partitioned replica): a create becomes failed and
// its partial archive is deleted; a restore returns to ready with Error set. The
// sidecar's temp files for those backups are removed, best effort. Operations this
// service is running itself are left alone. It is safe to run on every replica at
// once: each settle is a compare-and-set. Returns how many it settled, and an error
// wrapping ErrDatabase if the stale ones could not be listed.
func (s *Service) RecoverStale(ctx context.Context) (int, error) {
	stale, err := s.deps.Repository.ListStale(ctx, s.opts.Now().Add(-s.opts.StaleAfter))
	if err != nil {
		return 0, wrapInfra(ErrDatabase, "listing stale operations", err)
	}
	settled := 0
	for _, b := range stale {
		if s.runner.Running(b.ID) {
			continue
		}
		log := s.logFor(b)
		failed, err := Apply(b, Event{Kind: EventFailed, At: s.opts.Now(), Reason: failedText(b.Status, staleReason)})
		if err != nil {
			log.Error("cannot settle stale operation", "err", err)
			continue
		}
		switch err := s.deps.Repository.Update(ctx, failed, b.Status); {
		case err == nil:
		case errors.Is(err, ErrStatusConflict), errors.Is(err, ports.ErrNotFound):
			continue // settled by its worker or another replica meanwhile
		default:
			log.Error("settling stale operation failed", "err", err)
			continue
		}
		settled++
		log.Warn("settled stale operation", "was", b.Status, "now", failed.Status, "heartbeat_at", b.HeartbeatAt)
		s.cleanupStale(ctx, b)
	}
	return settled, nil
}

// cleanupStale removes what a dead worker may have left: the sidecar's temp files
// and, for a create, the archive (a restore's archive is the backup itself).
func (s *Service) cleanupStale(ctx context.Context, b Backup) {
	log := s.logFor(b)
	if b.Status == StatusCreating {
		s.cleanup(log, "deleting the partial archive", func(ctx context.Context) error {
			return s.deps.Objects.Delete(ctx, ObjectKey(b.OrderID, b.ID))
		})
	}
	sidecar, err := s.sidecar(ctx, b.OrderID)
	if err != nil {
		log.Warn("cannot find the sidecar to remove temp files", "err", err)
		return
	}
	s.cleanup(log, "removing the sidecar's temp files", func(ctx context.Context) error {
		fio, err := s.deps.Sidecars.Dial(ctx, sidecar)
		if err != nil {
			return err
		}
		defer fio.Close()
		return errors.Join(
			fio.DeleteFile(ctx, tempBackupPath(s.opts.TempDir, b.ID)),
			fio.DeleteFile(ctx, tempRestorePath(s.opts.TempDir, b.ID)),
		)
	})
}

// RunRecovery calls RecoverStale now and every Options.RecoveryInterval until ctx
// ends, logging what it finds. Run it in the background on every replica; it
// returns ctx's error.
func (s *Service) RunRecovery(ctx context.Context) error {
	t := time.NewTicker(s.opts.RecoveryInterval)
	defer t.Stop()
	for {
		if n, err := s.RecoverStale(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("stale operation recovery failed", "err", err)
		} else if n > 0 {
			s.log.Info("stale operations settled", "count", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

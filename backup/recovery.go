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
// service is running itself are left alone. Fences whose holder stopped
// heartbeating as long are released. It is safe to run on every replica at once:
// each settle is a compare-and-set. Returns how many operations and fences it
// settled, and an error wrapping ErrDatabase if they could not be listed.
func (s *Service) RecoverStale(ctx context.Context) (int, error) {
	ctx = ports.WithActor(ctx, ports.SystemActor)
	before := s.opts.Now().Add(-s.opts.StaleAfter)
	expired, err := s.deps.Repository.ExpireFences(ctx, before)
	if err != nil {
		return 0, wrapInfra(ErrDatabase, "expiring stale fences", err)
	}
	for _, f := range expired {
		s.log.Warn("released a fence whose holder stopped heartbeating", "order_id", f.OrderID, "fence_id", f.ID, "heartbeat_at", f.HeartbeatAt)
	}
	stale, err := s.deps.Repository.ListStale(ctx, before)
	if err != nil {
		return len(expired), wrapInfra(ErrDatabase, "listing stale operations", err)
	}
	settled := len(expired)
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
func (s *Service) cleanupStale(ctx context.Context, b ports.Backup) {
	log := s.logFor(b)
	if b.Status == ports.StatusCreating {
		s.cleanup(log, "deleting the partial archive", func(ctx context.Context) error {
			return s.deps.Objects.Delete(ctx, ObjectKey(b.OrderID, b.ID))
		})
	}
	s.cleanup(log, "removing the sidecar's temp files", func(ctx context.Context) error {
		gameServer, err := s.deps.Orders.GetProvision(ctx, b.ProvisionID)
		if err != nil {
			return err
		}
		sidecar, err := s.sidecar(ctx, gameServer)
		if err != nil {
			return err
		}
		fio, dirs, err := s.dial(ctx, sidecar)
		if err != nil {
			return err
		}
		defer fio.Close()
		return errors.Join(
			fio.DeleteFile(ctx, tempBackupPath(dirs.Temp, b.ID)),
			fio.DeleteFile(ctx, tempRestorePath(dirs.Temp, b.ID)),
		)
	})
}

// RunRecovery calls RecoverStale now and every Options.RecoveryInterval, and
// SweepOrphans now and every Options.SweepInterval, until ctx ends, logging what
// they find. Run it in the background on every replica; it returns ctx's error.
func (s *Service) RunRecovery(ctx context.Context) error {
	t := time.NewTicker(s.opts.RecoveryInterval)
	defer t.Stop()
	var lastSweep time.Time
	for {
		if n, err := s.RecoverStale(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("stale operation recovery failed", "err", err)
		} else if n > 0 {
			s.log.Info("stale operations settled", "count", n)
		}
		if now := time.Now(); now.Sub(lastSweep) >= s.opts.SweepInterval {
			lastSweep = now
			if r, err := s.SweepOrphans(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("orphan sweep failed", "err", err, "archives_removed", r.Archives, "uploads_removed", r.Abandoned)
			} else if r.Archives+r.Abandoned > 0 {
				s.log.Info("orphan sweep removed leftovers", "archives_removed", r.Archives, "uploads_removed", r.Abandoned)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

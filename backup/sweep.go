package backup

import (
	"context"
	"strings"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// archivePrefix is where every archive lives (see ObjectKey).
const archivePrefix = "backups/"

// sweepBatch is how many archives the sweep checks against the repository at
// once.
const sweepBatch = 500

// SweepReport says what SweepOrphans removed.
type SweepReport struct {
	// Archives is the number of archives deleted because their backup is gone.
	Archives int
	// Abandoned is the number of unfinished uploads (or temporary files) removed.
	Abandoned int
}

// SweepOrphans removes what storage holds for backups that no longer exist, so
// that storage never leaks, even when the host deletes backup records itself
// (deleting an order cascades to its backups but cannot reach their archives):
//
//   - archives under backups/ whose backup record is gone and that are older than
//     Options.OrphanGracePeriod, with the asset recorded for each
//     (ports.ArchiveAssetID);
//   - uploads that will never finish: those of a killed process, or started longer
//     ago than any operation may run (Options.OperationTimeout plus StaleAfter).
//
// Keys it does not recognise as an archive's are left alone. It is safe to run on
// every replica at once. RunRecovery runs it every Options.SweepInterval. Returns
// what it removed, and an error wrapping ErrStorage or ErrDatabase if it could not
// finish (what it reports was removed all the same).
func (s *Service) SweepOrphans(ctx context.Context) (SweepReport, error) {
	var r SweepReport
	now := s.opts.Now()
	abandoned, err := s.deps.Objects.RemoveAbandoned(ctx, archivePrefix, now.Add(-s.opts.OperationTimeout-s.opts.StaleAfter))
	r.Abandoned = abandoned
	if err != nil {
		return r, wrapInfra(ErrStorage, "removing abandoned uploads", err)
	}
	cutoff := now.Add(-s.opts.OrphanGracePeriod)
	batch := make(map[ports.BackupID]string, sweepBatch)
	for obj, err := range s.deps.Objects.List(ctx, archivePrefix) {
		if err != nil {
			return r, wrapInfra(ErrStorage, "listing archives", err)
		}
		id, ok := archiveBackupID(obj.Key)
		if !ok || !obj.ModTime.Before(cutoff) {
			continue
		}
		batch[id] = obj.Key
		if len(batch) == sweepBatch {
			n, err := s.removeOrphans(ctx, batch)
			r.Archives += n
			if err != nil {
				return r, err
			}
			clear(batch)
		}
	}
	n, err := s.removeOrphans(ctx, batch)
	r.Archives += n
	return r, err
}

// removeOrphans deletes the archives (by backup ID) whose backup is gone.
func (s *Service) removeOrphans(ctx context.Context, archives map[ports.BackupID]string) (int, error) {
	if len(archives) == 0 {
		return 0, nil
	}
	ids := make([]ports.BackupID, 0, len(archives))
	for id := range archives {
		ids = append(ids, id)
	}
	missing, err := s.deps.Repository.Missing(ctx, ids)
	if err != nil {
		return 0, wrapInfra(ErrDatabase, "looking up the archives' backups", err)
	}
	removed := 0
	for _, id := range missing {
		key, ok := archives[id]
		if !ok {
			continue // not one we asked about: never delete on a store's say-so alone
		}
		if err := s.deps.Objects.Delete(ctx, key); err != nil {
			return removed, wrapInfra(ErrStorage, "deleting an orphaned archive", err)
		}
		if err := s.deps.Assets.DeleteAsset(ctx, ports.ArchiveAssetID(id)); err != nil {
			return removed, wrapInfra(ErrDatabase, "deleting an orphaned archive's asset", err)
		}
		removed++
		s.log.Info("deleted an archive whose backup is gone", "key", key, "backup_id", id)
	}
	return removed, nil
}

// archiveBackupID parses an ObjectKey: backups/{order_id}/{backup_id}.tar.gz.
func archiveBackupID(key string) (ports.BackupID, bool) {
	rest, ok := strings.CutPrefix(key, archivePrefix)
	if !ok {
		return ports.BackupID{}, false
	}
	order, file, ok := strings.Cut(rest, "/")
	name, ok2 := strings.CutSuffix(file, ".tar.gz")
	if !ok || !ok2 {
		return ports.BackupID{}, false
	}
	orderID, err := ports.ParseOrderID(order)
	if err != nil {
		return ports.BackupID{}, false
	}
	id, err := ports.ParseBackupID(name)
	if err != nil || ObjectKey(orderID, id) != key {
		return ports.BackupID{}, false
	}
	return id, true
}

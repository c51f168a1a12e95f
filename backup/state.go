package backup

import (
	"fmt"
	"slices"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// EventKind names what happens to a backup; see Apply for the transitions.
type EventKind int

// The events of a backup's lifecycle.
const (
	// EventStored: the archive is uploaded and its asset recorded (creating → ready).
	EventStored EventKind = iota + 1
	// EventFailed: the running operation failed, was interrupted, or was found stale.
	// A failed create ends in failed; a failed restore returns to ready with Error
	// set, because the stored archive is still intact and can be restored again.
	EventFailed
	// EventRestoreRequested: a restore was accepted (ready → restoring).
	EventRestoreRequested
	// EventRestored: the archive was extracted into the server's data (restoring → ready).
	EventRestored
	// EventDeleteRequested: a delete was accepted (ready or failed → removed),
	// which a lock refuses.
	EventDeleteRequested
	// EventLockRequested: the backup was locked, so that no delete request can
	// remove it; its status does not change.
	EventLockRequested
	// EventUnlockRequested: the backup was unlocked.
	EventUnlockRequested
	// EventOrderDeleted: the host deletes the backup's order, and the backup with
	// it, locked or not (ready or failed → removed).
	EventOrderDeleted
)

var eventNames = map[EventKind]string{
	EventStored:           "stored",
	EventFailed:           "failed",
	EventRestoreRequested: "restore requested",
	EventRestored:         "restored",
	EventDeleteRequested:  "delete requested",
	EventLockRequested:    "lock requested",
	EventUnlockRequested:  "unlock requested",
	EventOrderDeleted:     "order deleted",
}

// String returns the event's name, for errors and logs.
func (k EventKind) String() string {
	if name, ok := eventNames[k]; ok {
		return name
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something that happens to a backup, with the data the transition records.
type Event struct {
	// Kind says what happened; Apply decides whether it may.
	Kind EventKind
	// At is when it happened.
	At time.Time
	// AssetID, SizeBytes and SHA256 describe the stored archive (EventStored).
	AssetID   ports.AssetID
	SizeBytes int64
	SHA256    string
	// Skipped and SkippedCount say which files the archive does not hold
	// faithfully (EventStored). Apply keeps at most ports.MaxSkippedListed.
	Skipped      []ports.SkippedFile
	SkippedCount int
	// Excludes are the patterns that left paths out of the archive, and Quiesce
	// what the sidecar did to pause the game's writes (EventStored).
	Excludes []string
	Quiesce  ports.QuiesceReport
	// Reason says, in words a customer can read, why the operation failed (EventFailed).
	Reason string
}

// newBackup is the "create accepted" transition: a backup that starts its life creating.
func newBackup(order ports.OrderID, provision ports.ProvisionID, name string, at time.Time) ports.Backup {
	return ports.Backup{
		ID:          ports.NewBackupID(),
		OrderID:     order,
		ProvisionID: provision,
		Name:        name,
		Status:      ports.StatusCreating,
		CreatedAt:   at,
		HeartbeatAt: at,
		Progress:    &ports.Progress{StartedAt: at},
	}
}

// Apply is the state machine: it returns b after the event, or an error wrapping
// ErrStatusConflict if the event is not allowed in b's status, or
// ErrBackupLocked if b is locked and the event is a delete request. It is pure;
// the caller stores the result with a compare-and-set on b.Status (a lock with
// Repository.SetLocked, a removal by claiming the backup).
//
//	from               event              to
//	creating           stored             ready (asset, size, sha256, skipped, excludes, quiesce, completed)
//	creating           failed             failed (error, completed)
//	ready              restore requested  restoring (error cleared, progress 0 of the archive's size)
//	restoring          restored           ready (last restored)
//	restoring          failed             ready (error)
//	any                lock requested     the same status, locked
//	any                unlock requested   the same status, unlocked
//	ready, failed      delete requested   (removed unless locked; b is returned unchanged)
//	ready, failed      order deleted      (removed, locked or not; b is returned unchanged)
//
// Locking is allowed in every status, so that a backup can be protected while it
// is still being created; the lock outlasts the operation. It refuses a delete
// request whatever the status, since it, not the status, is what the user must
// change first. Progress is set while the backup is creating or restoring and
// cleared by every transition out of it. A backup claimed by a delete accepts no
// event but another removal.
func Apply(b ports.Backup, e Event) (ports.Backup, error) {
	removal := e.Kind == EventDeleteRequested || e.Kind == EventOrderDeleted
	if b.Deleting && !removal {
		return b, fmt.Errorf("%w: the backup is being deleted", ErrStatusConflict)
	}
	if b.Locked && e.Kind == EventDeleteRequested {
		return b, fmt.Errorf("%w: unlock it before deleting it", ErrBackupLocked)
	}
	next := b
	switch {
	case e.Kind == EventLockRequested || e.Kind == EventUnlockRequested:
		next.Locked = e.Kind == EventLockRequested
		return next, nil // the status stays, and so does its progress
	case e.Kind == EventStored && b.Status == ports.StatusCreating:
		next.Status = ports.StatusReady
		next.AssetID, next.SizeBytes, next.SHA256 = e.AssetID, e.SizeBytes, e.SHA256
		// A sidecar's list is bounded by the protocol, but the record must stay
		// small whatever a peer sends.
		next.Skipped = slices.Clone(e.Skipped[:min(len(e.Skipped), ports.MaxSkippedListed)])
		next.SkippedCount = max(e.SkippedCount, len(e.Skipped))
		next.Excludes = slices.Clone(e.Excludes)
		next.Quiesce = e.Quiesce
		next.CompletedAt = e.At
		next.Error = ""
	case e.Kind == EventFailed && b.Status == ports.StatusCreating:
		next.Status = ports.StatusFailed
		next.CompletedAt = e.At
		next.Error = e.Reason
	case e.Kind == EventRestoreRequested && b.Status == ports.StatusReady:
		next.Status = ports.StatusRestoring
		next.HeartbeatAt = e.At
		next.Error = ""
	case e.Kind == EventRestored && b.Status == ports.StatusRestoring:
		next.Status = ports.StatusReady
		next.LastRestoredAt = e.At
		next.Error = ""
	case e.Kind == EventFailed && b.Status == ports.StatusRestoring:
		next.Status = ports.StatusReady
		next.Error = e.Reason
	case removal && (b.Status == ports.StatusReady || b.Status == ports.StatusFailed):
	default:
		return b, fmt.Errorf("%w: cannot apply %q to a backup that is %s", ErrStatusConflict, e.Kind, b.Status)
	}
	next.Progress = nil
	if e.Kind == EventRestoreRequested {
		next.Progress = &ports.Progress{TotalBytes: b.SizeBytes, StartedAt: e.At}
	}
	return next, nil
}

package ports

import (
	"context"
	"time"
)

// Repository stores backups. Implementations enforce the invariants themselves, so
// that several service replicas sharing one store stay correct: at most one active
// operation (creating or restoring) per order, at most a given number of backups
// per provision, and status changes as compare-and-set. A read-then-write in the
// caller cannot give these guarantees under concurrency; the store must.
type Repository interface {
	// Create inserts b (status creating) if the order has no active operation and
	// the provision holds fewer than limit backups, atomically (the seed's save).
	// Returns ErrOperationInProgress or ErrLimitReached when an invariant refuses it.
	Create(ctx context.Context, b Backup, limit int) error

	// Find returns the backup with the given ID. Returns ErrNotFound.
	Find(ctx context.Context, id BackupID) (Backup, error)

	// ListByProvision returns the provision's backups, newest first.
	ListByProvision(ctx context.Context, provision ProvisionID) ([]Backup, error)

	// CountByProvision returns how many backups the provision holds, in any status.
	CountByProvision(ctx context.Context, provision ProvisionID) (int, error)

	// HasActiveOperation reports whether any backup of the order is creating or
	// restoring.
	HasActiveOperation(ctx context.Context, order OrderID) (bool, error)

	// Update writes b's status and every mutable field (asset, size, sha256, error,
	// completed, heartbeat and last-restored times) if the stored row is still in
	// status from and not claimed for deletion: a compare-and-set, so that two
	// replicas can never both move one backup. Returns ErrNotFound if the row is
	// gone, ErrStatusConflict if its status is no longer from (or a delete claimed it),
	// and ErrOperationInProgress if b.Status is active and the order already has
	// another active operation.
	Update(ctx context.Context, b Backup, from Status) error

	// Heartbeat records that the worker running the backup's active operation is
	// alive. Returns ErrStatusConflict if the backup is no longer in status (the
	// operation was settled elsewhere, e.g. recovered as stale: the worker should
	// stop), ErrNotFound if it is gone.
	Heartbeat(ctx context.Context, id BackupID, status Status, at time.Time) error

	// ListStale returns active backups whose heartbeat is older than before: work
	// whose worker died. The caller settles them with Update.
	ListStale(ctx context.Context, before time.Time) ([]Backup, error)

	// ClaimForDelete marks a ready or failed backup as being deleted, so no restore
	// can start on it, and returns it. Claiming an already claimed backup succeeds,
	// so a failed delete can be retried. Returns ErrNotFound, or ErrStatusConflict if
	// the backup is creating or restoring.
	ClaimForDelete(ctx context.Context, id BackupID) (Backup, error)

	// Delete removes a backup claimed by ClaimForDelete. Returns ErrNotFound if it
	// is already gone, ErrStatusConflict if it was not claimed.
	Delete(ctx context.Context, id BackupID) error
}

package ports

import (
	"context"
	"time"
)

// Repository stores backups. Implementations enforce the invariants themselves, so
// that several service replicas sharing one store stay correct: each order has one
// operation slot, held by at most one active operation (creating or restoring) or
// one fence; at most a given number of backups per provision; and status changes
// as compare-and-set. A read-then-write in the caller cannot give these guarantees
// under concurrency; the store must.
type Repository interface {
	// Create inserts b (status creating, locked or not, with its schedule if a
	// schedule made it) if the order's operation slot is free and the provision
	// holds fewer than limit backups, atomically. Returns
	// ErrOperationInProgress (another operation holds the slot), ErrFenced (a fence
	// holds it) or ErrLimitReached; when several refuse, in that order.
	Create(ctx context.Context, b Backup, limit int) error

	// Find returns the backup with the given ID. Returns ErrNotFound.
	Find(ctx context.Context, id BackupID) (Backup, error)

	// FindByAsset returns the backup whose archive the asset records. Returns
	// ErrNotFound.
	FindByAsset(ctx context.Context, asset AssetID) (Backup, error)

	// ListByProvision returns the provision's backups, newest first.
	ListByProvision(ctx context.Context, provision ProvisionID) ([]Backup, error)

	// ListByOrder returns the order's backups under every provision, newest first.
	ListByOrder(ctx context.Context, order OrderID) ([]Backup, error)

	// Missing returns the IDs among ids that no backup has (in the order given),
	// for the sweep that removes archives whose backup is gone.
	Missing(ctx context.Context, ids []BackupID) ([]BackupID, error)

	// CountByProvision returns how many backups the provision holds, in any status.
	CountByProvision(ctx context.Context, provision ProvisionID) (int, error)

	// HasActiveOperation reports whether any backup of the order is creating or
	// restoring.
	HasActiveOperation(ctx context.Context, order OrderID) (bool, error)

	// Update writes b's status and every mutable field (asset, size, sha256, error,
	// skipped files, excludes, quiesce report (its pause to the millisecond at
	// least), progress, completed, heartbeat and last-restored times) if the stored row
	// is still in status from and not claimed for deletion: a compare-and-set, so
	// that two replicas can never both move one backup. It never changes Locked:
	// a create or restore that finishes after the user locked or unlocked the
	// backup must not undo that, so only SetLocked writes it. Returns ErrNotFound if the
	// row is gone, ErrStatusConflict if its status is no longer from (or a delete
	// claimed it), and, when b.Status is active, ErrOperationInProgress or
	// ErrFenced if the order's operation slot is taken.
	Update(ctx context.Context, b Backup, from Status) error

	// Heartbeat records that the worker running the backup's active operation is
	// alive, and how far it has got: progress replaces the stored progress, except
	// that DoneBytes and TotalBytes never decrease (a late heartbeat cannot move
	// it backwards); nil leaves it as it is. Returns ErrStatusConflict if the
	// backup is no longer in status (the operation was settled elsewhere, e.g.
	// recovered as stale: the worker should stop), ErrNotFound if it is gone.
	Heartbeat(ctx context.Context, id BackupID, status Status, at time.Time, progress *Progress) error

	// ListStale returns active backups whose heartbeat is older than before: work
	// whose worker died. The caller settles them with Update.
	ListStale(ctx context.Context, before time.Time) ([]Backup, error)

	// SetLocked locks or unlocks the backup, in any status, and returns it as
	// stored. Setting the value it already has succeeds. Returns ErrNotFound, or
	// ErrStatusConflict if a delete has claimed the backup (it is going, locked or
	// not).
	SetLocked(ctx context.Context, id BackupID, locked bool) (Backup, error)

	// ClaimForDelete marks a ready or failed backup as being deleted, so no restore
	// can start on it and it can no longer be locked, and returns it. A locked
	// backup is refused, atomically with the claim, so that a lock and a delete
	// racing never both win. Claiming an already claimed backup succeeds, so a
	// failed delete can be retried.
	//
	// evenIfLocked claims a locked backup too. It is for the host deleting a whole
	// order: a lock protects a backup from its users' mistakes and from rotation,
	// not from the order itself going, and a locked backup that stayed would keep
	// a customer's data, and its storage, after the order it belongs to is gone.
	//
	// Returns ErrNotFound; ErrLocked if the backup is locked and evenIfLocked is
	// false, whatever its status; or ErrStatusConflict if it is creating or
	// restoring.
	ClaimForDelete(ctx context.Context, id BackupID, evenIfLocked bool) (Backup, error)

	// Delete removes a backup claimed by ClaimForDelete. Returns ErrNotFound if it
	// is already gone, ErrStatusConflict if it was not claimed.
	Delete(ctx context.Context, id BackupID) error

	// AcquireFence takes the order's operation slot for f (ID, OrderID and
	// HeartbeatAt set; a zero AcquiredAt means now), atomically with the check that
	// it is free. Returns ErrOperationInProgress if a create or restore holds it,
	// ErrFenced if another fence does.
	AcquireFence(ctx context.Context, f Fence) error

	// HeartbeatFence records that the fence's holder is alive. Returns ErrNotFound
	// if the fence is no longer held (released, or expired by ExpireFences).
	HeartbeatFence(ctx context.Context, order OrderID, id FenceID, at time.Time) error

	// ReleaseFence frees the order's operation slot if the fence id holds it.
	// Releasing a fence that is no longer held is not an error.
	ReleaseFence(ctx context.Context, order OrderID, id FenceID) error

	// ExpireFences releases every fence whose heartbeat is older than before (its
	// holder died) and returns them.
	ExpireFences(ctx context.Context, before time.Time) ([]Fence, error)
}

package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// AcquireFence takes the order's operation slot for f, in a transaction under
// the order's lock (see lockOrder), after checking that no backup of the order
// is creating or restoring and that no other fence holds the slot. f.ID and
// f.OrderID are required; a zero f.AcquiredAt means now, and a zero
// f.HeartbeatAt means the acquisition time. Returns ErrOperationInProgress or
// ErrFenced.
func (r *Repository) AcquireFence(ctx context.Context, f ports.Fence) error {
	if f.ID.IsZero() || f.OrderID.IsZero() {
		return fmt.Errorf("postgres: acquire fence %s: ID and order are required", f.ID)
	}
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("acquire fence: begin", err)
	}
	defer rollback(tx)
	if err := r.lockOrder(ctx, tx, f.OrderID); err != nil {
		return dbError("acquire fence: lock order", err)
	}
	var active, fenced bool
	if err := tx.QueryRow(ctx, r.q.orderSlot, f.OrderID).Scan(&active, &fenced); err != nil {
		return dbError("acquire fence: check the slot", err)
	}
	switch {
	case active:
		return fmt.Errorf("postgres: acquire fence for order %s: %w", f.OrderID, ports.ErrOperationInProgress)
	case fenced:
		return fmt.Errorf("postgres: acquire fence for order %s: %w", f.OrderID, ports.ErrFenced)
	}
	_, err = tx.Exec(ctx, r.q.acquireFence, f.OrderID, f.ID, nullTime(f.AcquiredAt), nullTime(f.HeartbeatAt))
	switch {
	case violates(err, codeUniqueViolation, fencesPkey):
		// Only a writer that skipped the lock gets here; the key still holds.
		return fmt.Errorf("postgres: acquire fence for order %s: %w", f.OrderID, ports.ErrFenced)
	case err != nil:
		return dbError("acquire fence for order "+f.OrderID.String(), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("acquire fence: commit", err)
	}
	return nil
}

// HeartbeatFence sets the fence's heartbeat time if fence id still holds the
// order's slot. A fence released or expired, or replaced by a newer one, is not
// touched. Returns ErrNotFound.
func (r *Repository) HeartbeatFence(ctx context.Context, order ports.OrderID, id ports.FenceID, at time.Time) error {
	tag, err := r.db.Exec(ctx, r.q.heartbeatFence, order, id, at)
	if err != nil {
		return dbError("heartbeat of fence "+id.String(), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: heartbeat of fence %s on order %s: %w", id, order, ports.ErrNotFound)
	}
	return nil
}

// ReleaseFence frees the order's slot if fence id holds it; a newer fence on the
// order is left alone. Freeing needs no lock: it can only let a waiting create,
// restore or fence find the slot free sooner.
func (r *Repository) ReleaseFence(ctx context.Context, order ports.OrderID, id ports.FenceID) error {
	if _, err := r.db.Exec(ctx, r.q.releaseFence, order, id); err != nil {
		return dbError("release fence "+id.String(), err)
	}
	return nil
}

// ExpireFences deletes the fences whose heartbeat is older than before and
// returns them, oldest heartbeat first.
func (r *Repository) ExpireFences(ctx context.Context, before time.Time) ([]ports.Fence, error) {
	rows, err := r.db.Query(ctx, r.q.expireFence, before)
	if err != nil {
		return nil, dbError("expire fences", err)
	}
	fences, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.Fence, error) {
		var f ports.Fence
		err := row.Scan(&f.ID, &f.OrderID, &f.AcquiredAt, &f.HeartbeatAt)
		f.AcquiredAt, f.HeartbeatAt = f.AcquiredAt.UTC(), f.HeartbeatAt.UTC()
		return f, err
	})
	if err != nil {
		return nil, dbError("expire fences", err)
	}
	slices.SortFunc(fences, func(a, b ports.Fence) int {
		return cmp.Or(a.HeartbeatAt.Compare(b.HeartbeatAt), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	return fences, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Repository implements ports.Repository on the backups table (see Migrate). It is
// safe for concurrent use, also from several processes sharing one database: the
// invariants are enforced by the database, not by this process.
type Repository struct {
	db DB
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns a Repository that runs its queries on db.
func NewRepository(db DB) *Repository {
	return &Repository{db: db}
}

// Names of the constraints whose violations mean something to the service.
const (
	oneActivePerOrder = "backups_one_active_per_order"
	backupsPkey       = "backups_pkey"
)

const backupColumns = `id, order_id, provision_id, name, status, asset_id, size_bytes, sha256,
	error, created_at, completed_at, heartbeat_at, last_restored_at, deleting`

// The read queries. Each is served by an index (a test checks the plans):
// listing and counting by backups_provision_created_idx, the active check by the
// partial unique index, the stale query by the partial backups_stale_idx.
const (
	listByProvisionSQL = `SELECT ` + backupColumns + ` FROM backups
		WHERE provision_id = $1
		ORDER BY created_at DESC, id DESC`
	countByProvisionSQL = `SELECT count(*) FROM backups WHERE provision_id = $1`
	hasActiveSQL        = `SELECT EXISTS (
		SELECT 1 FROM backups WHERE order_id = $1 AND status IN ('creating', 'restoring'))`
	listStaleSQL = `SELECT ` + backupColumns + ` FROM backups
		WHERE status IN ('creating', 'restoring') AND coalesce(heartbeat_at, created_at) < $1
		ORDER BY coalesce(heartbeat_at, created_at), id`
)

// Create inserts b in status creating if the order has no active operation and the
// provision holds fewer than limit backups. The count and the insert run in one
// transaction under an advisory lock keyed by the provision, so concurrent creates
// for one provision are counted one after the other; the partial unique index
// decides between concurrent operations on one order. When both invariants refuse,
// ErrOperationInProgress wins (the seed checks it first). b.ID, b.OrderID and
// b.ProvisionID must be set; a zero b.CreatedAt means now. Returns
// ErrOperationInProgress or ErrLimitReached.
func (r *Repository) Create(ctx context.Context, b ports.Backup, limit int) error {
	if err := checkNew(b); err != nil {
		return err
	}
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("create backup: begin", err)
	}
	defer rollback(tx)

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.backups.provision:' || $1::text, 0))`, b.ProvisionID); err != nil {
		return dbError("create backup: lock provision", err)
	}
	var count int
	var active bool
	err = tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM backups WHERE provision_id = $1),
		EXISTS (SELECT 1 FROM backups WHERE order_id = $2 AND status IN ('creating', 'restoring'))`,
		b.ProvisionID, b.OrderID).Scan(&count, &active)
	if err != nil {
		return dbError("create backup: count", err)
	}
	// The active check here only orders the errors; the unique index below is
	// what holds when two creates for one order run under different locks.
	if active {
		return fmt.Errorf("postgres: create backup for order %s: %w", b.OrderID, ports.ErrOperationInProgress)
	}
	if count >= limit {
		return fmt.Errorf("postgres: create backup for provision %s (%d of %d): %w", b.ProvisionID, count, limit, ports.ErrLimitReached)
	}
	_, err = tx.Exec(ctx, `INSERT INTO backups
		(id, order_id, provision_id, name, status, asset_id, size_bytes, sha256, error,
		 created_at, completed_at, heartbeat_at, last_restored_at)
		VALUES ($1, $2, $3, $4, 'creating', $5, $6, $7, $8, coalesce($9, now()), $10, $11, $12)`,
		b.ID, b.OrderID, b.ProvisionID, b.Name, b.AssetID, nullInt64(b.SizeBytes), nullString(b.SHA256),
		nullString(b.Error), nullTime(b.CreatedAt), nullTime(b.CompletedAt), nullTime(b.HeartbeatAt),
		nullTime(b.LastRestoredAt))
	switch {
	case violates(err, codeUniqueViolation, oneActivePerOrder):
		return fmt.Errorf("postgres: create backup for order %s: %w", b.OrderID, ports.ErrOperationInProgress)
	case violates(err, codeUniqueViolation, backupsPkey):
		return dbError("create backup", fmt.Errorf("backup %s already exists: %w", b.ID, err))
	case err != nil:
		return dbError("create backup "+b.ID.String(), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("create backup: commit", err)
	}
	return nil
}

// checkNew refuses a backup that Create cannot insert, before the database does
// with a less helpful message.
func checkNew(b ports.Backup) error {
	switch {
	case b.ID.IsZero():
		return errors.New("postgres: create backup: the backup has no ID")
	case b.OrderID.IsZero() || b.ProvisionID.IsZero():
		return fmt.Errorf("postgres: create backup %s: order and provision are required", b.ID)
	case b.Status != ports.StatusCreating:
		return fmt.Errorf("postgres: create backup %s: status is %q, want %q", b.ID, b.Status, ports.StatusCreating)
	}
	return nil
}

// Find returns the backup. Returns ErrNotFound.
func (r *Repository) Find(ctx context.Context, id ports.BackupID) (ports.Backup, error) {
	b, err := scanBackup(r.db.QueryRow(ctx, `SELECT `+backupColumns+` FROM backups WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, fmt.Errorf("postgres: backup %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Backup{}, dbError("find backup "+id.String(), err)
	}
	return b, nil
}

// ListByProvision returns the provision's backups, newest first (ties broken by
// ID, newest first too, as IDs are time-ordered).
func (r *Repository) ListByProvision(ctx context.Context, provision ports.ProvisionID) ([]ports.Backup, error) {
	list, err := r.queryBackups(ctx, listByProvisionSQL, provision)
	if err != nil {
		return nil, dbError("list backups of provision "+provision.String(), err)
	}
	return list, nil
}

// CountByProvision returns how many backups the provision holds, in any status.
func (r *Repository) CountByProvision(ctx context.Context, provision ports.ProvisionID) (int, error) {
	var n int
	if err := r.db.QueryRow(ctx, countByProvisionSQL, provision).Scan(&n); err != nil {
		return 0, dbError("count backups of provision "+provision.String(), err)
	}
	return n, nil
}

// HasActiveOperation reports whether a backup of the order is creating or
// restoring.
func (r *Repository) HasActiveOperation(ctx context.Context, order ports.OrderID) (bool, error) {
	var active bool
	err := r.db.QueryRow(ctx, hasActiveSQL, order).Scan(&active)
	if err != nil {
		return false, dbError("check active operation of order "+order.String(), err)
	}
	return active, nil
}

// Update writes b's status and mutable fields (asset, size, sha256, error,
// completed, heartbeat and last-restored times) in one conditional UPDATE that
// matches only while the row is in status from and not claimed for deletion. The
// name, IDs and creation time are never changed. Returns ErrNotFound,
// ErrStatusConflict, or ErrOperationInProgress when b.Status is active and the
// order already has another active operation.
func (r *Repository) Update(ctx context.Context, b ports.Backup, from ports.Status) error {
	if !b.Status.Valid() {
		return fmt.Errorf("postgres: update backup %s: invalid status %q", b.ID, b.Status)
	}
	tag, err := r.db.Exec(ctx, `UPDATE backups SET
		status = $3, asset_id = $4, size_bytes = $5, sha256 = $6, error = $7,
		completed_at = $8, heartbeat_at = $9, last_restored_at = $10
		WHERE id = $1 AND status = $2 AND NOT deleting`,
		b.ID, string(from), string(b.Status), b.AssetID, nullInt64(b.SizeBytes), nullString(b.SHA256),
		nullString(b.Error), nullTime(b.CompletedAt), nullTime(b.HeartbeatAt), nullTime(b.LastRestoredAt))
	switch {
	case violates(err, codeUniqueViolation, oneActivePerOrder):
		return fmt.Errorf("postgres: update backup %s to %s: %w", b.ID, b.Status, ports.ErrOperationInProgress)
	case err != nil:
		return dbError("update backup "+b.ID.String(), err)
	case tag.RowsAffected() == 0:
		return r.explainMiss(ctx, "update backup", b.ID, from)
	}
	return nil
}

// Heartbeat sets the backup's heartbeat time if it is still in status. Returns
// ErrStatusConflict or ErrNotFound.
func (r *Repository) Heartbeat(ctx context.Context, id ports.BackupID, status ports.Status, at time.Time) error {
	tag, err := r.db.Exec(ctx, `UPDATE backups SET heartbeat_at = $3 WHERE id = $1 AND status = $2`,
		id, string(status), nullTime(at))
	if err != nil {
		return dbError("heartbeat of backup "+id.String(), err)
	}
	if tag.RowsAffected() == 0 {
		return r.explainMiss(ctx, "heartbeat of backup", id, status)
	}
	return nil
}

// ListStale returns the creating and restoring backups whose heartbeat (or, if
// they never had one, creation time) is older than before, oldest first.
func (r *Repository) ListStale(ctx context.Context, before time.Time) ([]ports.Backup, error) {
	list, err := r.queryBackups(ctx, listStaleSQL, before)
	if err != nil {
		return nil, dbError("list stale backups", err)
	}
	return list, nil
}

// ClaimForDelete marks a ready or failed backup as being deleted and returns it.
// The claim and a restore's compare-and-set are updates of the same row, so the
// database orders them and the second one no longer matches. Claiming twice
// succeeds. Returns ErrNotFound, or ErrStatusConflict for an active backup.
func (r *Repository) ClaimForDelete(ctx context.Context, id ports.BackupID) (ports.Backup, error) {
	b, err := scanBackup(r.db.QueryRow(ctx, `UPDATE backups SET deleting = true
		WHERE id = $1 AND status IN ('ready', 'failed')
		RETURNING `+backupColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, r.explainMiss(ctx, "claim backup for deletion", id, "")
	}
	if err != nil {
		return ports.Backup{}, dbError("claim backup "+id.String()+" for deletion", err)
	}
	return b, nil
}

// Delete removes a backup claimed by ClaimForDelete. Returns ErrNotFound, or
// ErrStatusConflict if it was not claimed.
func (r *Repository) Delete(ctx context.Context, id ports.BackupID) error {
	tag, err := r.db.Exec(ctx, `DELETE FROM backups WHERE id = $1 AND deleting`, id)
	if err != nil {
		return dbError("delete backup "+id.String(), err)
	}
	if tag.RowsAffected() == 0 {
		return r.explainMiss(ctx, "delete backup", id, "")
	}
	return nil
}

// explainMiss finds out why a conditional statement matched no row: the row is
// gone (ErrNotFound) or in another state (ErrStatusConflict). It reads after the
// fact, so the state it reports may already have moved on; the outcome, that the
// statement did nothing, stands either way.
func (r *Repository) explainMiss(ctx context.Context, op string, id ports.BackupID, want ports.Status) error {
	var status string
	var deleting bool
	err := r.db.QueryRow(ctx, `SELECT status, deleting FROM backups WHERE id = $1`, id).Scan(&status, &deleting)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s %s: %w", op, id, ports.ErrNotFound)
	case err != nil:
		return dbError(op+" "+id.String(), err)
	}
	state := status
	if deleting {
		state += ", claimed for deletion"
	}
	if want != "" {
		return fmt.Errorf("postgres: %s %s: want %s, is %s: %w", op, id, want, state, ports.ErrStatusConflict)
	}
	return fmt.Errorf("postgres: %s %s: is %s: %w", op, id, state, ports.ErrStatusConflict)
}

func (r *Repository) queryBackups(ctx context.Context, sql string, args ...any) ([]ports.Backup, error) {
	rows, err := r.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.Backup, error) { return scanBackup(row) })
}

func scanBackup(row pgx.Row) (ports.Backup, error) {
	var (
		b                             ports.Backup
		status                        string
		size                          *int64
		sha, errText                  *string
		completed, heartbeat, restore *time.Time
	)
	err := row.Scan(&b.ID, &b.OrderID, &b.ProvisionID, &b.Name, &status, &b.AssetID, &size, &sha,
		&errText, &b.CreatedAt, &completed, &heartbeat, &restore, &b.Deleting)
	if err != nil {
		return ports.Backup{}, err
	}
	b.Status = ports.Status(status)
	b.SizeBytes = int64Of(size)
	b.SHA256 = stringOf(sha)
	b.Error = stringOf(errText)
	b.CreatedAt = b.CreatedAt.UTC()
	b.CompletedAt = timeOf(completed)
	b.HeartbeatAt = timeOf(heartbeat)
	b.LastRestoredAt = timeOf(restore)
	return b, nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Repository implements ports.Repository on savepoint's backups and backup_fences
// tables (see Migrate). It is safe for concurrent use, also from several processes
// sharing one database: the invariants are enforced by the database, not by this
// process. Each change that is an event (ports.BackupChange, and a delete) is
// recorded in the activity table in the change's own transaction, for the actor
// in the call's context (ports.WithActor); read them with ActivityLog.
type Repository struct {
	db DB
	q  repoQueries
	a  activityQueries
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns a Repository that runs its queries on db, on the tables
// Migrate created with the same layout.
func NewRepository(db DB, layout Layout) *Repository {
	return &Repository{db: db, q: newRepoQueries(layout.tables()), a: newActivityQueries(layout.tables())}
}

// Names of the constraints whose violations mean something to the service.
const (
	oneActivePerOrder = "backups_one_active_per_order"
	backupsPkey       = "backups_pkey"
	fencesPkey        = "backup_fences_pkey"
)

const backupColumns = `id, order_id, provision_id, name, status, asset_id, size_bytes, sha256,
	error, created_at, completed_at, heartbeat_at, last_restored_at, deleting, skipped, skipped_count,
	progress_done_bytes, progress_total_bytes, progress_started_at, locked, schedule_id,
	excludes, quiesce_method, quiesce_paused_ms, quiesce_warning`

// repoQueries are the statements a Repository runs, rendered for its layout.
type repoQueries struct {
	// The read queries. Each is served by an index (a test checks the plans):
	// listing and counting by backups_provision_created_idx, the active check by
	// the partial unique index, the stale query by the partial backups_stale_idx,
	// the order's list by backups_order_id_idx, the asset lookup by the partial
	// backups_asset_id_idx, and the missing IDs by the primary key.
	find, findByAsset, listByProvision, listByOrder, missing  string
	countByProvision, hasActive, listStale, state, claimState string

	// The slot: its lock, and what holds it.
	lockOrder, lockProvision, slot, orderSlot, orderOf, fenced string

	create, update, heartbeat, setLocked, claim string
	acquireFence, heartbeatFence, releaseFence  string
	expireFence                                 string

	// The writes whose events need the row as stored: update and delete with
	// RETURNING, and the lock's current value, locked for the change.
	updateReturning, deleteReturning, lockedState string
}

func newRepoQueries(t tables) repoQueries {
	r := func(s string) string { return mustRender(s, t) }
	return repoQueries{
		find: r(`SELECT ` + backupColumns + ` FROM {{.Backups}} WHERE id = $1`),
		findByAsset: r(`SELECT ` + backupColumns + ` FROM {{.Backups}}
			WHERE asset_id = $1
			ORDER BY created_at DESC, id DESC LIMIT 1`),
		listByProvision: r(`SELECT ` + backupColumns + ` FROM {{.Backups}}
			WHERE provision_id = $1
			ORDER BY created_at DESC, id DESC`),
		listByOrder: r(`SELECT ` + backupColumns + ` FROM {{.Backups}}
			WHERE order_id = $1
			ORDER BY created_at DESC, id DESC`),
		missing: r(`SELECT ids.id FROM unnest($1::uuid[]) WITH ORDINALITY AS ids (id, n)
			WHERE NOT EXISTS (SELECT 1 FROM {{.Backups}} b WHERE b.id = ids.id)
			ORDER BY ids.n`),
		countByProvision: r(`SELECT count(*) FROM {{.Backups}} WHERE provision_id = $1`),
		hasActive: r(`SELECT EXISTS (
			SELECT 1 FROM {{.Backups}} WHERE order_id = $1 AND status IN ('creating', 'restoring'))`),
		listStale: r(`SELECT ` + backupColumns + ` FROM {{.Backups}}
			WHERE status IN ('creating', 'restoring') AND coalesce(heartbeat_at, created_at) < $1
			ORDER BY coalesce(heartbeat_at, created_at), id`),
		state:      r(`SELECT status, deleting FROM {{.Backups}} WHERE id = $1`),
		claimState: r(`SELECT status, locked FROM {{.Backups}} WHERE id = $1`),

		lockOrder:     `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.backups.order:' || $1::text, 0))`,
		lockProvision: `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.backups.provision:' || $1::text, 0))`,
		slot: r(`SELECT
			(SELECT count(*) FROM {{.Backups}} WHERE provision_id = $1),
			EXISTS (SELECT 1 FROM {{.Backups}} WHERE order_id = $2 AND status IN ('creating', 'restoring')),
			EXISTS (SELECT 1 FROM {{.Fences}} WHERE order_id = $2)`),
		orderSlot: r(`SELECT
			EXISTS (SELECT 1 FROM {{.Backups}} WHERE order_id = $1 AND status IN ('creating', 'restoring')),
			EXISTS (SELECT 1 FROM {{.Fences}} WHERE order_id = $1)`),
		orderOf: r(`SELECT order_id FROM {{.Backups}} WHERE id = $1`),
		fenced:  r(`SELECT EXISTS (SELECT 1 FROM {{.Fences}} WHERE order_id = $1)`),

		create: r(`INSERT INTO {{.Backups}}
			(id, order_id, provision_id, name, status, asset_id, size_bytes, sha256, error,
			 created_at, completed_at, heartbeat_at, last_restored_at, skipped, skipped_count,
			 progress_done_bytes, progress_total_bytes, progress_started_at, locked, schedule_id,
			 excludes, quiesce_method, quiesce_paused_ms, quiesce_warning)
			VALUES ($1, $2, $3, $4, 'creating', $5, $6, $7, $8, coalesce($9, now()), $10, $11, $12, $13, $14,
			 $15, $16, $17, $18, $19, $20, $21, $22, $23)`),
		update: r(`UPDATE {{.Backups}} SET
			status = $3, asset_id = $4, size_bytes = $5, sha256 = $6, error = $7,
			completed_at = $8, heartbeat_at = $9, last_restored_at = $10, skipped = $11, skipped_count = $12,
			progress_done_bytes = $13, progress_total_bytes = $14, progress_started_at = $15,
			excludes = $16, quiesce_method = $17, quiesce_paused_ms = $18, quiesce_warning = $19
			WHERE id = $1 AND status = $2 AND NOT deleting`),
		// greatest ignores nulls: without progress ($4 to $6 null) the stored one
		// stays, and with it neither byte count can move backwards.
		heartbeat: r(`UPDATE {{.Backups}} SET heartbeat_at = $3,
			progress_done_bytes = greatest(progress_done_bytes, $4::bigint),
			progress_total_bytes = greatest(progress_total_bytes, $5::bigint),
			progress_started_at = coalesce($6::timestamptz, progress_started_at)
			WHERE id = $1 AND status = $2`),
		// Both are updates of the row, so the database orders a lock and a claim
		// of one backup, and the later one's WHERE sees what the earlier wrote:
		// never both win.
		setLocked: r(`UPDATE {{.Backups}} SET locked = $2
			WHERE id = $1 AND NOT deleting
			RETURNING ` + backupColumns),
		claim: r(`UPDATE {{.Backups}} SET deleting = true
			WHERE id = $1 AND status IN ('ready', 'failed') AND (NOT locked OR $2)
			RETURNING ` + backupColumns),
		updateReturning: r(`UPDATE {{.Backups}} SET
			status = $3, asset_id = $4, size_bytes = $5, sha256 = $6, error = $7,
			completed_at = $8, heartbeat_at = $9, last_restored_at = $10, skipped = $11, skipped_count = $12,
			progress_done_bytes = $13, progress_total_bytes = $14, progress_started_at = $15,
			excludes = $16, quiesce_method = $17, quiesce_paused_ms = $18, quiesce_warning = $19
			WHERE id = $1 AND status = $2 AND NOT deleting
			RETURNING ` + backupColumns),
		deleteReturning: r(`DELETE FROM {{.Backups}} WHERE id = $1 AND deleting RETURNING ` + backupColumns),
		lockedState:     r(`SELECT locked FROM {{.Backups}} WHERE id = $1 AND NOT deleting FOR UPDATE`),

		acquireFence: r(`INSERT INTO {{.Fences}} (order_id, id, acquired_at, heartbeat_at)
			VALUES ($1, $2, coalesce($3, now()), coalesce($4, $3, now()))`),
		heartbeatFence: r(`UPDATE {{.Fences}} SET heartbeat_at = $3 WHERE order_id = $1 AND id = $2`),
		releaseFence:   r(`DELETE FROM {{.Fences}} WHERE order_id = $1 AND id = $2`),
		expireFence: r(`DELETE FROM {{.Fences}} WHERE heartbeat_at < $1
			RETURNING id, order_id, acquired_at, heartbeat_at`),
	}
}

// Create inserts b in status creating if the order's operation slot is free and
// the provision holds fewer than limit backups. It takes the order's lock (see
// lockOrder), then the provision's, so that concurrent creates for one provision
// are counted one after the other; the check and the insert run under both. When
// several rules refuse, ErrOperationInProgress wins, then ErrFenced, then
// ErrLimitReached. b.ID, b.OrderID and b.ProvisionID must be set; a zero
// b.CreatedAt means now. Locked and ScheduleID are stored as given.
func (r *Repository) Create(ctx context.Context, b ports.Backup, limit int) error {
	if err := checkNew(b); err != nil {
		return err
	}
	skipped, err := skippedJSON(b)
	if err != nil {
		return fmt.Errorf("postgres: create backup %s: %w", b.ID, err)
	}
	p, err := progressColumns(b.Progress)
	if err != nil {
		return fmt.Errorf("postgres: create backup %s: %w", b.ID, err)
	}
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("create backup: begin", err)
	}
	defer rollback(tx)

	// Order before provision, as every path that takes both must, so that no two
	// transactions wait for each other's lock.
	if err := r.lockOrder(ctx, tx, b.OrderID); err != nil {
		return dbError("create backup: lock order", err)
	}
	if _, err := tx.Exec(ctx, r.q.lockProvision, b.ProvisionID); err != nil {
		return dbError("create backup: lock provision", err)
	}
	var count int
	var active, fenced bool
	if err := tx.QueryRow(ctx, r.q.slot, b.ProvisionID, b.OrderID).Scan(&count, &active, &fenced); err != nil {
		return dbError("create backup: count", err)
	}
	switch {
	case active:
		return fmt.Errorf("postgres: create backup for order %s: %w", b.OrderID, ports.ErrOperationInProgress)
	case fenced:
		return fmt.Errorf("postgres: create backup for order %s: %w", b.OrderID, ports.ErrFenced)
	case count >= limit:
		return fmt.Errorf("postgres: create backup for provision %s (%d of %d): %w", b.ProvisionID, count, limit, ports.ErrLimitReached)
	}
	_, err = tx.Exec(ctx, r.q.create,
		b.ID, b.OrderID, b.ProvisionID, b.Name, b.AssetID, nullInt64(b.SizeBytes), nullString(b.SHA256),
		nullString(b.Error), nullTime(b.CreatedAt), nullTime(b.CompletedAt), nullTime(b.HeartbeatAt),
		nullTime(b.LastRestoredAt), skipped, b.SkippedCount, p.done, p.total, p.started, b.Locked, b.ScheduleID,
		excludesColumn(b.Excludes), nullString(b.Quiesce.Method), pausedMS(b.Quiesce.Paused), nullString(b.Quiesce.Warning))
	switch {
	case violates(err, codeUniqueViolation, oneActivePerOrder):
		return fmt.Errorf("postgres: create backup for order %s: %w", b.OrderID, ports.ErrOperationInProgress)
	case violates(err, codeUniqueViolation, backupsPkey):
		return dbError("create backup", fmt.Errorf("backup %s already exists: %w", b.ID, err))
	case err != nil:
		return dbError("create backup "+b.ID.String(), err)
	}
	if err := r.a.record(ctx, tx, ports.NewBackupActivity(ports.ActivityBackupCreated, b, ports.ActorFrom(ctx), time.Time{})); err != nil {
		return dbError("create backup: record activity", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("create backup: commit", err)
	}
	return nil
}

// lockOrder takes the order's operation-slot lock until tx ends. Create, Update
// into an active status, and AcquireFence take it before they look at the slot.
//
// It is this lock, not the check that follows it, that keeps a fence and an
// active backup apart. They are rows in two tables, so no constraint can refuse
// the pair: two transactions that each checked the other's table and then wrote
// to their own would both see nothing and both commit. Holding one lock per order
// from before the check until commit serialises them, and as the lock is taken in
// a statement of its own, the check (a later statement, under read committed)
// sees whatever the previous holder committed. The partial unique index still
// decides between two backups, for any writer (a replica of an earlier version
// takes no order lock). The key names no schema: orders of separate schemas
// sharing an ID would only wait for each other.
func (r *Repository) lockOrder(ctx context.Context, tx pgx.Tx, order ports.OrderID) error {
	_, err := tx.Exec(ctx, r.q.lockOrder, order)
	return err
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

// skippedFile is a ports.SkippedFile as stored in the skipped column.
type skippedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// skippedJSON returns b's skipped files as the skipped column stores them, and
// refuses what ports.ValidateSkipped refuses.
func skippedJSON(b ports.Backup) ([]byte, error) {
	if err := ports.ValidateSkipped(b); err != nil {
		return nil, err
	}
	files := make([]skippedFile, len(b.Skipped))
	for i, f := range b.Skipped {
		files[i] = skippedFile(f)
	}
	return json.Marshal(files)
}

// Find returns the backup. Returns ErrNotFound.
func (r *Repository) Find(ctx context.Context, id ports.BackupID) (ports.Backup, error) {
	b, err := scanBackup(r.db.QueryRow(ctx, r.q.find, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, fmt.Errorf("postgres: backup %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Backup{}, dbError("find backup "+id.String(), err)
	}
	return b, nil
}

// FindByAsset returns the backup whose archive the asset records (should two
// name it, the newest). Returns ErrNotFound.
func (r *Repository) FindByAsset(ctx context.Context, asset ports.AssetID) (ports.Backup, error) {
	b, err := scanBackup(r.db.QueryRow(ctx, r.q.findByAsset, asset))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, fmt.Errorf("postgres: backup of asset %s: %w", asset, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Backup{}, dbError("find backup of asset "+asset.String(), err)
	}
	return b, nil
}

// ListByProvision returns the provision's backups, newest first (ties broken by
// ID, newest first too, as IDs are time-ordered).
func (r *Repository) ListByProvision(ctx context.Context, provision ports.ProvisionID) ([]ports.Backup, error) {
	list, err := r.queryBackups(ctx, r.q.listByProvision, provision)
	if err != nil {
		return nil, dbError("list backups of provision "+provision.String(), err)
	}
	return list, nil
}

// ListByOrder returns the order's backups under every provision, newest first,
// ties broken as in ListByProvision.
func (r *Repository) ListByOrder(ctx context.Context, order ports.OrderID) ([]ports.Backup, error) {
	list, err := r.queryBackups(ctx, r.q.listByOrder, order)
	if err != nil {
		return nil, dbError("list backups of order "+order.String(), err)
	}
	return list, nil
}

// Missing returns the IDs among ids that no backup has, in the order given (an ID
// given twice is reported twice), in one query however many there are.
func (r *Repository) Missing(ctx context.Context, ids []ports.BackupID) ([]ports.BackupID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	batch := make([]string, len(ids))
	for i, id := range ids {
		batch[i] = id.String()
	}
	rows, err := r.db.Query(ctx, r.q.missing, batch)
	if err != nil {
		return nil, dbError(fmt.Sprintf("look for %d backups", len(ids)), err)
	}
	missing, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.BackupID, error) {
		var id ports.BackupID
		err := row.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, dbError(fmt.Sprintf("look for %d backups", len(ids)), err)
	}
	return missing, nil
}

// CountByProvision returns how many backups the provision holds, in any status.
func (r *Repository) CountByProvision(ctx context.Context, provision ports.ProvisionID) (int, error) {
	var n int
	if err := r.db.QueryRow(ctx, r.q.countByProvision, provision).Scan(&n); err != nil {
		return 0, dbError("count backups of provision "+provision.String(), err)
	}
	return n, nil
}

// HasActiveOperation reports whether a backup of the order is creating or
// restoring.
func (r *Repository) HasActiveOperation(ctx context.Context, order ports.OrderID) (bool, error) {
	var active bool
	err := r.db.QueryRow(ctx, r.q.hasActive, order).Scan(&active)
	if err != nil {
		return false, dbError("check active operation of order "+order.String(), err)
	}
	return active, nil
}

// Update writes b's status and mutable fields (asset, size, sha256, error,
// skipped files, excludes, quiesce report, progress, completed, heartbeat and
// last-restored times) in one conditional
// UPDATE that matches only while the row is in status from and not claimed for
// deletion. The name, IDs, schedule, creation time and lock are never changed
// (the statement does not name them). Into an active
// status it runs under the order's lock (see lockOrder), after checking that no
// fence holds the slot. Returns ErrNotFound, ErrStatusConflict (which wins over
// the slot's errors), or when b.Status is active ErrOperationInProgress or
// ErrFenced.
func (r *Repository) Update(ctx context.Context, b ports.Backup, from ports.Status) error {
	if !b.Status.Valid() {
		return fmt.Errorf("postgres: update backup %s: invalid status %q", b.ID, b.Status)
	}
	skipped, err := skippedJSON(b)
	if err != nil {
		return fmt.Errorf("postgres: update backup %s: %w", b.ID, err)
	}
	p, err := progressColumns(b.Progress)
	if err != nil {
		return fmt.Errorf("postgres: update backup %s: %w", b.ID, err)
	}
	args := []any{b.ID, string(from), string(b.Status), b.AssetID, nullInt64(b.SizeBytes), nullString(b.SHA256),
		nullString(b.Error), nullTime(b.CompletedAt), nullTime(b.HeartbeatAt), nullTime(b.LastRestoredAt),
		skipped, b.SkippedCount, p.done, p.total, p.started,
		excludesColumn(b.Excludes), nullString(b.Quiesce.Method), pausedMS(b.Quiesce.Paused), nullString(b.Quiesce.Warning)}
	// The stored status is from wherever the update applies, and Update never
	// changes the lock, so whether it is an event is known before it runs.
	before := b
	before.Status = from
	event, isEvent := ports.BackupChange(&before, b)
	if b.Status.Active() {
		return r.updateIntoSlot(ctx, b, from, args, event, isEvent)
	}
	if !isEvent {
		tag, err := r.db.Exec(ctx, r.q.update, args...)
		if err != nil {
			return dbError("update backup "+b.ID.String(), err)
		}
		if tag.RowsAffected() == 0 {
			return r.explainMiss(ctx, r.db, "update backup", b.ID, from)
		}
		return nil
	}
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("update backup: begin", err)
	}
	defer rollback(tx)
	stored, err := scanBackup(tx.QueryRow(ctx, r.q.updateReturning, args...))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return r.explainMiss(ctx, tx, "update backup", b.ID, from)
	case err != nil:
		return dbError("update backup "+b.ID.String(), err)
	}
	return r.commitWithEvent(ctx, tx, "update backup", ports.NewBackupActivity(event, stored, ports.ActorFrom(ctx), time.Time{}))
}

// commitWithEvent records a in tx and commits it.
func (r *Repository) commitWithEvent(ctx context.Context, tx pgx.Tx, op string, a ports.Activity) error {
	if err := r.a.record(ctx, tx, a); err != nil {
		return dbError(op+": record activity", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(op+": commit", err)
	}
	return nil
}

// updateIntoSlot is Update into creating or restoring: the backup takes its
// order's operation slot.
func (r *Repository) updateIntoSlot(ctx context.Context, b ports.Backup, from ports.Status, args []any, event ports.ActivityType, isEvent bool) error {
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("update backup: begin", err)
	}
	defer rollback(tx)
	// The stored order, not b's: an update never changes it, and the lock must be
	// the one the other holders of this slot take. It cannot change once read.
	var order ports.OrderID
	var fenced bool
	err = tx.QueryRow(ctx, r.q.orderOf, b.ID).Scan(&order)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: update backup %s: %w", b.ID, ports.ErrNotFound)
	}
	if err != nil {
		return dbError("update backup "+b.ID.String(), err)
	}
	if err := r.lockOrder(ctx, tx, order); err != nil {
		return dbError("update backup: lock order", err)
	}
	if err := tx.QueryRow(ctx, r.q.fenced, order).Scan(&fenced); err != nil {
		return dbError("update backup: check for a fence", err)
	}
	if fenced {
		// The compare-and-set's verdict comes first, as it does for a backup
		// holding the slot.
		if err := r.checkState(ctx, tx, "update backup", b.ID, from); err != nil {
			return err
		}
		return fmt.Errorf("postgres: update backup %s to %s: %w", b.ID, b.Status, ports.ErrFenced)
	}
	stored, err := scanBackup(tx.QueryRow(ctx, r.q.updateReturning, args...))
	switch {
	case violates(err, codeUniqueViolation, oneActivePerOrder):
		return fmt.Errorf("postgres: update backup %s to %s: %w", b.ID, b.Status, ports.ErrOperationInProgress)
	case errors.Is(err, pgx.ErrNoRows):
		return r.explainMiss(ctx, tx, "update backup", b.ID, from)
	case err != nil:
		return dbError("update backup "+b.ID.String(), err)
	}
	if !isEvent {
		if err := tx.Commit(ctx); err != nil {
			return dbError("update backup: commit", err)
		}
		return nil
	}
	return r.commitWithEvent(ctx, tx, "update backup", ports.NewBackupActivity(event, stored, ports.ActorFrom(ctx), time.Time{}))
}

// Heartbeat sets the backup's heartbeat time, and its progress when given
// (neither byte count decreasing), if it is still in status. Returns
// ErrStatusConflict or ErrNotFound.
func (r *Repository) Heartbeat(ctx context.Context, id ports.BackupID, status ports.Status, at time.Time, progress *ports.Progress) error {
	p, err := progressColumns(progress)
	if err != nil {
		return fmt.Errorf("postgres: heartbeat of backup %s: %w", id, err)
	}
	tag, err := r.db.Exec(ctx, r.q.heartbeat, id, string(status), nullTime(at), p.done, p.total, p.started)
	if err != nil {
		return dbError("heartbeat of backup "+id.String(), err)
	}
	if tag.RowsAffected() == 0 {
		return r.explainMiss(ctx, r.db, "heartbeat of backup", id, status)
	}
	return nil
}

// ListStale returns the creating and restoring backups whose heartbeat (or, if
// they never had one, creation time) is older than before, oldest first.
func (r *Repository) ListStale(ctx context.Context, before time.Time) ([]ports.Backup, error) {
	list, err := r.queryBackups(ctx, r.q.listStale, before)
	if err != nil {
		return nil, dbError("list stale backups", err)
	}
	return list, nil
}

// SetLocked locks or unlocks the backup unless a delete has claimed it, and
// returns it: it locks the row, reads the lock it has, and writes the new one,
// recording the event when the value changes, in one transaction. Returns
// ErrNotFound or ErrStatusConflict.
func (r *Repository) SetLocked(ctx context.Context, id ports.BackupID, locked bool) (ports.Backup, error) {
	tx, err := begin(ctx, r.db)
	if err != nil {
		return ports.Backup{}, dbError("lock backup: begin", err)
	}
	defer rollback(tx)
	var was bool
	err = tx.QueryRow(ctx, r.q.lockedState, id).Scan(&was)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, r.explainMiss(ctx, tx, "lock backup", id, "")
	}
	if err != nil {
		return ports.Backup{}, dbError("lock backup "+id.String(), err)
	}
	b, err := scanBackup(tx.QueryRow(ctx, r.q.setLocked, id, locked))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, r.explainMiss(ctx, tx, "lock backup", id, "")
	}
	if err != nil {
		return ports.Backup{}, dbError("lock backup "+id.String(), err)
	}
	before := b
	before.Locked = was
	if event, ok := ports.BackupChange(&before, b); ok {
		err = r.commitWithEvent(ctx, tx, "lock backup", ports.NewBackupActivity(event, b, ports.ActorFrom(ctx), time.Time{}))
	} else if err = tx.Commit(ctx); err != nil {
		err = dbError("lock backup: commit", err)
	}
	if err != nil {
		return ports.Backup{}, err
	}
	return b, nil
}

// ClaimForDelete marks a ready or failed backup as being deleted and returns it;
// a locked one only if evenIfLocked. The claim and a restore's compare-and-set,
// or a lock, are updates of the same row, so the database orders them and the
// second one no longer matches. Claiming twice succeeds. Returns ErrNotFound,
// ErrLocked (which wins over the status), or ErrStatusConflict for an active
// backup.
func (r *Repository) ClaimForDelete(ctx context.Context, id ports.BackupID, evenIfLocked bool) (ports.Backup, error) {
	b, err := scanBackup(r.db.QueryRow(ctx, r.q.claim, id, evenIfLocked))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Backup{}, r.explainClaimMiss(ctx, id, evenIfLocked)
	}
	if err != nil {
		return ports.Backup{}, dbError("claim backup "+id.String()+" for deletion", err)
	}
	return b, nil
}

// explainClaimMiss is explainMiss for a claim, which a lock refuses too. Like
// explainMiss it reads after the fact.
func (r *Repository) explainClaimMiss(ctx context.Context, id ports.BackupID, evenIfLocked bool) error {
	const op = "claim backup for deletion"
	var status string
	var locked bool
	err := r.db.QueryRow(ctx, r.q.claimState, id).Scan(&status, &locked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s %s: %w", op, id, ports.ErrNotFound)
	case err != nil:
		return dbError(op+" "+id.String(), err)
	case locked && !evenIfLocked:
		return fmt.Errorf("postgres: %s %s: %w", op, id, ports.ErrLocked)
	case status != string(ports.StatusReady) && status != string(ports.StatusFailed):
		return fmt.Errorf("postgres: %s %s: is %s: %w", op, id, status, ports.ErrStatusConflict)
	}
	return fmt.Errorf("postgres: %s %s: the backup changed while the statement ran: %w", op, id, ports.ErrStatusConflict)
}

// Delete removes a backup claimed by ClaimForDelete, and records its
// ActivityBackupDeleted, in one transaction. Returns ErrNotFound, or
// ErrStatusConflict if it was not claimed.
func (r *Repository) Delete(ctx context.Context, id ports.BackupID) error {
	tx, err := begin(ctx, r.db)
	if err != nil {
		return dbError("delete backup: begin", err)
	}
	defer rollback(tx)
	b, err := scanBackup(tx.QueryRow(ctx, r.q.deleteReturning, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return r.explainMiss(ctx, tx, "delete backup", id, "")
	case err != nil:
		return dbError("delete backup "+id.String(), err)
	}
	return r.commitWithEvent(ctx, tx, "delete backup", ports.NewBackupActivity(ports.ActivityBackupDeleted, b, ports.ActorFrom(ctx), time.Time{}))
}

// querier is what explainMiss and checkState read with: the pool, or the
// transaction that missed.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// explainMiss finds out why a conditional statement matched no row: the row is
// gone (ErrNotFound) or in another state (ErrStatusConflict). It reads after the
// fact, so the state it reports may already have moved on; the outcome, that the
// statement did nothing, stands either way.
func (r *Repository) explainMiss(ctx context.Context, q querier, op string, id ports.BackupID, want ports.Status) error {
	if err := r.checkState(ctx, q, op, id, want); err != nil {
		return err
	}
	return fmt.Errorf("postgres: %s %s: the backup changed while the statement ran: %w", op, id, ports.ErrStatusConflict)
}

// checkState returns nil if the backup is in status want (any status if want is
// empty) and not claimed for deletion, and otherwise the ErrNotFound or
// ErrStatusConflict that a compare-and-set from want meets.
func (r *Repository) checkState(ctx context.Context, q querier, op string, id ports.BackupID, want ports.Status) error {
	var status string
	var deleting bool
	err := q.QueryRow(ctx, r.q.state, id).Scan(&status, &deleting)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s %s: %w", op, id, ports.ErrNotFound)
	case err != nil:
		return dbError(op+" "+id.String(), err)
	case !deleting && (want == "" || ports.Status(status) == want):
		return nil
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
		skipped                       []skippedFile
		done, total                   *int64
		started                       *time.Time
		excludes                      []string
		method, warning               *string
		pausedMS                      int64
	)
	err := row.Scan(&b.ID, &b.OrderID, &b.ProvisionID, &b.Name, &status, &b.AssetID, &size, &sha,
		&errText, &b.CreatedAt, &completed, &heartbeat, &restore, &b.Deleting, &skipped, &b.SkippedCount,
		&done, &total, &started, &b.Locked, &b.ScheduleID,
		&excludes, &method, &pausedMS, &warning)
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
	for _, f := range skipped {
		b.Skipped = append(b.Skipped, ports.SkippedFile(f))
	}
	if started != nil {
		b.Progress = &ports.Progress{DoneBytes: int64Of(done), TotalBytes: int64Of(total), StartedAt: started.UTC()}
	}
	if len(excludes) > 0 {
		b.Excludes = excludes
	}
	b.Quiesce = ports.QuiesceReport{Method: stringOf(method), Paused: time.Duration(pausedMS) * time.Millisecond, Warning: stringOf(warning)}
	return b, nil
}

// excludesColumn is a list of patterns as the excludes columns store it: an
// array, empty for none (the column is not null).
func excludesColumn(patterns []string) []string {
	if patterns == nil {
		return []string{}
	}
	return patterns
}

// pausedMS is a pause as quiesce_paused_ms stores it: whole milliseconds, none
// below zero whatever a sidecar reported.
func pausedMS(d time.Duration) int64 { return max(d.Milliseconds(), 0) }

// progressRow is a ports.Progress as the progress columns store it: all null
// for none.
type progressRow struct {
	done, total *int64
	started     *time.Time
}

// progressColumns returns p as the progress columns store it, and refuses what
// ports.ValidateProgress refuses.
func progressColumns(p *ports.Progress) (progressRow, error) {
	if err := ports.ValidateProgress(p); err != nil || p == nil {
		return progressRow{}, err
	}
	return progressRow{done: &p.DoneBytes, total: &p.TotalBytes, started: &p.StartedAt}, nil
}

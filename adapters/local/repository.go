package local

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Repository is an in-memory ports.Repository. One mutex guards every method, so
// each check and the write that depends on it happen atomically, which is what the
// database's index and locks give the PostgreSQL adapter: in particular a fence
// and an active backup of one order never coexist. Each change that is an event
// (ports.BackupChange, and a delete) is recorded in its activity log under the
// same lock, for the actor in the call's context (ports.WithActor).
type Repository struct {
	mu      sync.Mutex
	backups map[ports.BackupID]ports.Backup
	fences  map[ports.OrderID]ports.Fence // the fence holding each fenced order's slot
	log     *ActivityLog
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns an empty Repository with an activity log of its own
// (ActivityLog).
func NewRepository() *Repository { return NewRepositoryWithLog(NewActivityLog()) }

// NewRepositoryWithLog returns an empty Repository that records its events in
// log, which a Schedules store may share (NewSchedulesWithLog).
func NewRepositoryWithLog(log *ActivityLog) *Repository {
	return &Repository{
		backups: make(map[ports.BackupID]ports.Backup),
		fences:  make(map[ports.OrderID]ports.Fence),
		log:     log,
	}
}

// ActivityLog returns the log the repository records its events in.
func (r *Repository) ActivityLog() *ActivityLog { return r.log }

// Create stores b in status creating if the order's operation slot is free and
// the provision holds fewer than limit backups; when several rules refuse,
// ErrOperationInProgress wins, then ErrFenced, then ErrLimitReached. b.ID,
// b.OrderID and b.ProvisionID must be set; a zero b.CreatedAt means now. Locked
// and ScheduleID are stored as given.
func (r *Repository) Create(ctx context.Context, b ports.Backup, limit int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: create backup: %w", err)
	}
	switch {
	case b.ID.IsZero():
		return errors.New("local: create backup: the backup has no ID")
	case b.OrderID.IsZero() || b.ProvisionID.IsZero():
		return fmt.Errorf("local: create backup %s: order and provision are required", b.ID)
	case b.Status != ports.StatusCreating:
		return fmt.Errorf("local: create backup %s: status is %q, want %q", b.ID, b.Status, ports.StatusCreating)
	case b.SizeBytes < 0:
		return fmt.Errorf("local: create backup %s: negative size", b.ID)
	}
	if err := ports.ValidateSkipped(b); err != nil {
		return fmt.Errorf("local: create backup %s: %w", b.ID, err)
	}
	if err := ports.ValidateProgress(b.Progress); err != nil {
		return fmt.Errorf("local: create backup %s: %w", b.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.backups[b.ID]; ok {
		return fmt.Errorf("local: create backup: backup %s already exists", b.ID)
	}
	count := 0
	for _, o := range r.backups {
		if o.ProvisionID == b.ProvisionID {
			count++
		}
	}
	switch _, fenced := r.fences[b.OrderID]; {
	case r.activeLocked(b.OrderID, ports.BackupID{}):
		return fmt.Errorf("local: create backup for order %s: %w", b.OrderID, ports.ErrOperationInProgress)
	case fenced:
		return fmt.Errorf("local: create backup for order %s: %w", b.OrderID, ports.ErrFenced)
	case count >= limit:
		return fmt.Errorf("local: create backup for provision %s (%d of %d): %w", b.ProvisionID, count, limit, ports.ErrLimitReached)
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	b.Deleting = false
	r.backups[b.ID] = normalize(b)
	r.log.recordBackup(ctx, nil, r.backups[b.ID])
	return nil
}

// Find returns the backup. Returns ErrNotFound.
func (r *Repository) Find(ctx context.Context, id ports.BackupID) (ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return ports.Backup{}, fmt.Errorf("local: find backup: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.backups[id]
	if !ok {
		return ports.Backup{}, fmt.Errorf("local: backup %s: %w", id, ports.ErrNotFound)
	}
	return clone(b), nil
}

// FindByAsset returns the backup whose archive the asset records (should two
// name it, the newest, as in PostgreSQL). Returns ErrNotFound.
func (r *Repository) FindByAsset(ctx context.Context, asset ports.AssetID) (ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return ports.Backup{}, fmt.Errorf("local: find backup by asset: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	list := r.listLocked(func(b ports.Backup) bool { return !asset.IsZero() && b.AssetID == asset })
	if len(list) == 0 {
		return ports.Backup{}, fmt.Errorf("local: backup of asset %s: %w", asset, ports.ErrNotFound)
	}
	return list[0], nil
}

// ListByProvision returns the provision's backups, newest first (ties broken by
// ID, newest first, as in PostgreSQL).
func (r *Repository) ListByProvision(ctx context.Context, provision ports.ProvisionID) ([]ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list backups: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listLocked(func(b ports.Backup) bool { return b.ProvisionID == provision }), nil
}

// ListByOrder returns the order's backups under every provision, newest first,
// ties broken as in ListByProvision.
func (r *Repository) ListByOrder(ctx context.Context, order ports.OrderID) ([]ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list backups: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listLocked(func(b ports.Backup) bool { return b.OrderID == order }), nil
}

// listLocked returns copies of the backups that match, newest first.
func (r *Repository) listLocked(match func(ports.Backup) bool) []ports.Backup {
	var list []ports.Backup
	for _, b := range r.backups {
		if match(b) {
			list = append(list, clone(b))
		}
	}
	slices.SortFunc(list, func(a, b ports.Backup) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), compareIDs(b.ID.UUID(), a.ID.UUID()))
	})
	return list
}

// Missing returns the IDs among ids that no backup has, in the order given (an ID
// given twice is reported twice).
func (r *Repository) Missing(ctx context.Context, ids []ports.BackupID) ([]ports.BackupID, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: look for backups: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []ports.BackupID
	for _, id := range ids {
		if _, ok := r.backups[id]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// CountByProvision returns how many backups the provision holds, in any status.
func (r *Repository) CountByProvision(ctx context.Context, provision ports.ProvisionID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("local: count backups: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.backups {
		if b.ProvisionID == provision {
			n++
		}
	}
	return n, nil
}

// HasActiveOperation reports whether a backup of the order is creating or
// restoring.
func (r *Repository) HasActiveOperation(ctx context.Context, order ports.OrderID) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("local: check active operation: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.activeLocked(order, ports.BackupID{}), nil
}

// activeLocked reports whether a backup of the order other than except is active.
func (r *Repository) activeLocked(order ports.OrderID, except ports.BackupID) bool {
	for _, b := range r.backups {
		if b.OrderID == order && b.ID != except && b.Status.Active() {
			return true
		}
	}
	return false
}

// Update writes b's status and mutable fields (asset, size, sha256, error,
// skipped files, completed, heartbeat and last-restored times) if the stored
// backup is in status from and not claimed for deletion. The name, IDs, schedule,
// creation time and lock are never changed. Returns ErrNotFound, ErrStatusConflict (which
// wins over the slot's errors), or when b.Status is active
// ErrOperationInProgress or ErrFenced if the order's slot is taken.
func (r *Repository) Update(ctx context.Context, b ports.Backup, from ports.Status) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: update backup: %w", err)
	}
	if !b.Status.Valid() {
		return fmt.Errorf("local: update backup %s: invalid status %q", b.ID, b.Status)
	}
	if b.SizeBytes < 0 {
		return fmt.Errorf("local: update backup %s: negative size", b.ID)
	}
	if err := ports.ValidateSkipped(b); err != nil {
		return fmt.Errorf("local: update backup %s: %w", b.ID, err)
	}
	if err := ports.ValidateProgress(b.Progress); err != nil {
		return fmt.Errorf("local: update backup %s: %w", b.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.backups[b.ID]
	switch {
	case !ok:
		return fmt.Errorf("local: update backup %s: %w", b.ID, ports.ErrNotFound)
	case cur.Status != from || cur.Deleting:
		return fmt.Errorf("local: update backup %s: want %s, is %s: %w", b.ID, from, state(cur), ports.ErrStatusConflict)
	case b.Status.Active() && r.activeLocked(cur.OrderID, cur.ID):
		return fmt.Errorf("local: update backup %s to %s: %w", b.ID, b.Status, ports.ErrOperationInProgress)
	case b.Status.Active() && r.fencedLocked(cur.OrderID):
		return fmt.Errorf("local: update backup %s to %s: %w", b.ID, b.Status, ports.ErrFenced)
	}
	before := cur
	cur.Status = b.Status
	cur.AssetID = b.AssetID
	cur.SizeBytes = b.SizeBytes
	cur.SHA256 = b.SHA256
	cur.Error = b.Error
	cur.CompletedAt = b.CompletedAt
	cur.HeartbeatAt = b.HeartbeatAt
	cur.LastRestoredAt = b.LastRestoredAt
	cur.Skipped = b.Skipped
	cur.SkippedCount = b.SkippedCount
	cur.Excludes = b.Excludes
	cur.Quiesce = b.Quiesce
	cur.Progress = b.Progress
	r.backups[b.ID] = normalize(cur)
	r.log.recordBackup(ctx, &before, r.backups[b.ID])
	return nil
}

// Heartbeat sets the backup's heartbeat time, and its progress when given
// (neither byte count decreasing), if it is still in status. Returns
// ErrStatusConflict or ErrNotFound.
func (r *Repository) Heartbeat(ctx context.Context, id ports.BackupID, status ports.Status, at time.Time, progress *ports.Progress) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: heartbeat: %w", err)
	}
	if err := ports.ValidateProgress(progress); err != nil {
		return fmt.Errorf("local: heartbeat of backup %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.backups[id]
	switch {
	case !ok:
		return fmt.Errorf("local: heartbeat of backup %s: %w", id, ports.ErrNotFound)
	case cur.Status != status:
		return fmt.Errorf("local: heartbeat of backup %s: want %s, is %s: %w", id, status, state(cur), ports.ErrStatusConflict)
	}
	cur.HeartbeatAt = at
	if progress != nil {
		p := *progress
		if old := cur.Progress; old != nil {
			p.DoneBytes = max(p.DoneBytes, old.DoneBytes)
			p.TotalBytes = max(p.TotalBytes, old.TotalBytes)
		}
		cur.Progress = &p
	}
	r.backups[id] = normalize(cur)
	return nil
}

// ListStale returns the creating and restoring backups whose heartbeat (or, if
// they never had one, creation time) is older than before, oldest first.
func (r *Repository) ListStale(ctx context.Context, before time.Time) ([]ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list stale backups: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []ports.Backup
	for _, b := range r.backups {
		if b.Status.Active() && lastSignOfLife(b).Before(before) {
			list = append(list, clone(b))
		}
	}
	slices.SortFunc(list, func(a, b ports.Backup) int {
		return cmp.Or(lastSignOfLife(a).Compare(lastSignOfLife(b)), compareIDs(a.ID.UUID(), b.ID.UUID()))
	})
	return list, nil
}

func lastSignOfLife(b ports.Backup) time.Time {
	if b.HeartbeatAt.IsZero() {
		return b.CreatedAt
	}
	return b.HeartbeatAt
}

// SetLocked locks or unlocks the backup unless a delete has claimed it, and
// returns it. Returns ErrNotFound or ErrStatusConflict.
func (r *Repository) SetLocked(ctx context.Context, id ports.BackupID, locked bool) (ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return ports.Backup{}, fmt.Errorf("local: lock backup: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.backups[id]
	switch {
	case !ok:
		return ports.Backup{}, fmt.Errorf("local: lock backup %s: %w", id, ports.ErrNotFound)
	case cur.Deleting:
		return ports.Backup{}, fmt.Errorf("local: lock backup %s: is %s: %w", id, state(cur), ports.ErrStatusConflict)
	}
	before := cur
	cur.Locked = locked
	r.backups[id] = cur
	r.log.recordBackup(ctx, &before, cur)
	return clone(cur), nil
}

// ClaimForDelete marks a ready or failed backup as being deleted and returns it;
// a locked one only if evenIfLocked. Claiming twice succeeds. Returns
// ErrNotFound, ErrLocked (which wins over the status), or ErrStatusConflict for
// an active backup.
func (r *Repository) ClaimForDelete(ctx context.Context, id ports.BackupID, evenIfLocked bool) (ports.Backup, error) {
	if err := ctx.Err(); err != nil {
		return ports.Backup{}, fmt.Errorf("local: claim backup for deletion: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.backups[id]
	switch {
	case !ok:
		return ports.Backup{}, fmt.Errorf("local: claim backup %s for deletion: %w", id, ports.ErrNotFound)
	case cur.Locked && !evenIfLocked:
		return ports.Backup{}, fmt.Errorf("local: claim backup %s for deletion: %w", id, ports.ErrLocked)
	case cur.Status != ports.StatusReady && cur.Status != ports.StatusFailed:
		return ports.Backup{}, fmt.Errorf("local: claim backup %s for deletion: is %s: %w", id, state(cur), ports.ErrStatusConflict)
	}
	cur.Deleting = true
	r.backups[id] = cur
	return clone(cur), nil
}

// Delete removes a backup claimed by ClaimForDelete. Returns ErrNotFound, or
// ErrStatusConflict if it was not claimed.
func (r *Repository) Delete(ctx context.Context, id ports.BackupID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: delete backup: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.backups[id]
	switch {
	case !ok:
		return fmt.Errorf("local: delete backup %s: %w", id, ports.ErrNotFound)
	case !cur.Deleting:
		return fmt.Errorf("local: delete backup %s: is %s, not claimed for deletion: %w", id, state(cur), ports.ErrStatusConflict)
	}
	delete(r.backups, id)
	r.log.record(ports.NewBackupActivity(ports.ActivityBackupDeleted, cur, ports.ActorFrom(ctx), time.Now()))
	return nil
}

func state(b ports.Backup) string {
	if b.Deleting {
		return string(b.Status) + ", claimed for deletion"
	}
	return string(b.Status)
}

// compareIDs orders IDs as PostgreSQL orders uuid values: bytewise.
func compareIDs(a, b uuid.UUID) int {
	return bytes.Compare(a[:], b[:])
}

// normalize stores a backup as PostgreSQL does: times at microsecond precision,
// in UTC, and no skipped files as none. The list is copied, so that the caller's
// slice and the stored one never share an array.
func normalize(b ports.Backup) ports.Backup {
	b.CreatedAt = dbTime(b.CreatedAt)
	b.CompletedAt = dbTime(b.CompletedAt)
	b.HeartbeatAt = dbTime(b.HeartbeatAt)
	b.LastRestoredAt = dbTime(b.LastRestoredAt)
	return clone(b)
}

// clone returns b with its own copy of the skipped files, excludes and
// progress.
func clone(b ports.Backup) ports.Backup {
	b.Excludes = cloneExcludes(b.Excludes)
	if b.Progress != nil {
		p := *b.Progress
		p.StartedAt = dbTime(p.StartedAt)
		b.Progress = &p
	}
	if len(b.Skipped) == 0 {
		b.Skipped = nil
	} else {
		b.Skipped = slices.Clone(b.Skipped)
	}
	return b
}

// cloneExcludes returns a copy of patterns; nil for none, as the database
// reads an empty array.
func cloneExcludes(patterns []string) []string {
	if len(patterns) == 0 {
		return nil
	}
	return slices.Clone(patterns)
}

func dbTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

func (r *Repository) fencedLocked(order ports.OrderID) bool {
	_, ok := r.fences[order]
	return ok
}

// AcquireFence takes the order's operation slot for f if no backup of the order
// is creating or restoring and no other fence holds it. f.ID and f.OrderID are
// required; a zero f.AcquiredAt means now, and a zero f.HeartbeatAt means the
// acquisition time. Returns ErrOperationInProgress or ErrFenced.
func (r *Repository) AcquireFence(ctx context.Context, f ports.Fence) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: acquire fence: %w", err)
	}
	if f.ID.IsZero() || f.OrderID.IsZero() {
		return fmt.Errorf("local: acquire fence %s: ID and order are required", f.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.activeLocked(f.OrderID, ports.BackupID{}):
		return fmt.Errorf("local: acquire fence for order %s: %w", f.OrderID, ports.ErrOperationInProgress)
	case r.fencedLocked(f.OrderID):
		return fmt.Errorf("local: acquire fence for order %s: %w", f.OrderID, ports.ErrFenced)
	}
	if f.AcquiredAt.IsZero() {
		f.AcquiredAt = time.Now()
	}
	if f.HeartbeatAt.IsZero() {
		f.HeartbeatAt = f.AcquiredAt
	}
	f.AcquiredAt, f.HeartbeatAt = dbTime(f.AcquiredAt), dbTime(f.HeartbeatAt)
	r.fences[f.OrderID] = f
	return nil
}

// HeartbeatFence sets the fence's heartbeat time if fence id still holds the
// order's slot. Returns ErrNotFound.
func (r *Repository) HeartbeatFence(ctx context.Context, order ports.OrderID, id ports.FenceID, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: heartbeat of fence: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.fences[order]
	if !ok || f.ID != id {
		return fmt.Errorf("local: heartbeat of fence %s on order %s: %w", id, order, ports.ErrNotFound)
	}
	f.HeartbeatAt = dbTime(at)
	r.fences[order] = f
	return nil
}

// ReleaseFence frees the order's slot if fence id holds it; a newer fence on the
// order is left alone.
func (r *Repository) ReleaseFence(ctx context.Context, order ports.OrderID, id ports.FenceID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: release fence: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.fences[order]; ok && f.ID == id {
		delete(r.fences, order)
	}
	return nil
}

// ExpireFences releases the fences whose heartbeat is older than before and
// returns them, oldest heartbeat first.
func (r *Repository) ExpireFences(ctx context.Context, before time.Time) ([]ports.Fence, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: expire fences: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var expired []ports.Fence
	for order, f := range r.fences {
		if f.HeartbeatAt.Before(before) {
			expired = append(expired, f)
			delete(r.fences, order)
		}
	}
	slices.SortFunc(expired, func(a, b ports.Fence) int {
		return cmp.Or(a.HeartbeatAt.Compare(b.HeartbeatAt), compareIDs(a.ID.UUID(), b.ID.UUID()))
	})
	return expired, nil
}

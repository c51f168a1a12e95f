package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// service is what the handlers need of *backup.Service; an interface only so
// that OpenAPI can register the operations without one.
type service interface {
	CreateBackup(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, req backup.CreateRequest) (ports.Backup, error)
	ListBackups(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID) ([]ports.Backup, error)
	MaxBackupsPerProvision() int
	GetBackup(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, id ports.BackupID) (ports.Backup, error)
	DeleteBackup(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, id ports.BackupID) error
	RestoreBackup(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, id ports.BackupID) (ports.Backup, error)
	LockBackup(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, id ports.BackupID, locked bool) (ports.Backup, error)
	Download(ctx context.Context, user ports.UserID, id ports.AssetID) (*backup.Download, error)
	GetSchedule(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID) (ports.Schedule, error)
	PutSchedule(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID, set backup.ScheduleSettings) (ports.Schedule, error)
	DeleteSchedule(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID) error
	ListScheduleRuns(ctx context.Context, user ports.UserID, order ports.OrderID, provision ports.ProvisionID) ([]ports.ScheduleRun, error)
	ListActivity(ctx context.Context, user ports.UserID, order ports.OrderID, before ports.ActivityID, limit int) (backup.ActivityPage, error)
}

var _ service = (*backup.Service)(nil)

// The operation IDs: stable names for generated clients.
const (
	opListBackups   = "list-backups"
	opCreateBackup  = "create-backup"
	opGetBackup     = "get-backup"
	opDeleteBackup  = "delete-backup"
	opRestoreBackup = "restore-backup"
	opLockBackup    = "lock-backup"
	opUnlockBackup  = "unlock-backup"
	opDownloadAsset = "download-asset"
)

const (
	backupsPath = "/api/v1/orders/{order_id}/provisions/{provision_id}/backups"
	backupPath  = backupsPath + "/{backup_id}"
)

// BackupView is a backup as clients see it. Fields that are not known yet are
// null rather than absent, so every field is always present.
type BackupView struct {
	ID     string `json:"id" format:"uuid" doc:"The backup's ID."`
	Name   string `json:"name" doc:"The name given at creation, or Backup YYYY-MM-DD HH:MM UTC." example:"Before the 1.21 update"`
	Status string `json:"status" enum:"creating,ready,failed,restoring" doc:"creating and restoring are operations in progress: poll until ready or failed. A failed restore returns the backup to ready, with error set."`
	// AssetID is the download; set once the backup is ready.
	AssetID *string `json:"asset_id" format:"uuid" doc:"Set once ready: download the archive with GET /api/v1/assets/{asset_id}."`
	// SizeBytes is the archive's size; set once the backup is ready.
	SizeBytes *int64 `json:"size_bytes" minimum:"0" doc:"The archive's size in bytes; set once ready."`
	// SHA256 is the archive's checksum, also its download's ETag.
	SHA256 *string `json:"sha256" pattern:"^[0-9a-f]{64}$" doc:"Hex SHA-256 of the archive; set once ready, checked before every restore."`
	// Error says why the backup failed, or why its last restore did.
	Error       *string    `json:"error" doc:"Why the backup failed, or (status ready) why the last restore did not complete. Null when nothing failed."`
	CreatedAt   time.Time  `json:"created_at" doc:"When the backup was requested (RFC 3339, UTC)."`
	CompletedAt *time.Time `json:"completed_at" doc:"When the archive was stored or the backup failed (RFC 3339, UTC)."`
	// LastRestoredAt lets a client show when the server's data was last restored.
	LastRestoredAt *time.Time `json:"last_restored_at" doc:"When a restore of this backup last completed (RFC 3339, UTC)."`
	// SkippedCount and Skipped say which files the archive does not hold faithfully.
	SkippedCount int           `json:"skipped_count" minimum:"0" doc:"How many files the archive does not hold, or holds an untrustworthy copy of (unreadable, sockets and devices, changed while they were read). 0 until ready."`
	Skipped      []SkippedView `json:"skipped" nullable:"false" maxItems:"100" doc:"The skipped files, at most 100 of them (skipped_count says how many in all), in archive order."`
	// Progress lets a client draw a progress bar while it polls.
	Progress *ProgressView `json:"progress" doc:"How far the running create or restore has got; null when none runs, and possibly null for a moment after one starts. Updated at most once a second."`
	// Locked lets a client show the lock and offer delete only when it is off.
	Locked bool `json:"locked" doc:"A locked backup cannot be deleted (409 backup_locked) until it is unlocked with DELETE .../lock; it can still be downloaded and restored."`
	// ScheduleID tells scheduled backups from the ones users asked for.
	ScheduleID *string `json:"schedule_id" format:"uuid" doc:"The schedule that made the backup; null for a backup someone asked for."`
	// Excludes tell a user what the archive lacks, and so what a restore keeps.
	Excludes []string `json:"excludes" nullable:"false" doc:"The gitignore-style patterns that left paths out of the archive: the data directory's .savepointignore file's, then the create's own. A restore keeps the server's current files that they match. Empty until ready, and when none applied." example:"[\"logs/\",\"cache/\"]"`
	// Quiesce says whether the archive was taken with the game's writes paused.
	Quiesce *QuiesceView `json:"quiesce" doc:"How the game was paused while its files were archived; null when it was not (the game server has no pause method configured, or the backup is not ready)."`
	// Warnings are things the user should know about a backup that succeeded.
	Warnings []string `json:"warnings" nullable:"false" doc:"Things to know about the backup, for people: for example that the game could not be paused, so files it wrote meanwhile may be inconsistent. Empty when none."`
}

// QuiesceView is how the game's writes were paused while a backup was archived.
type QuiesceView struct {
	// huma makes only scalar pointers nullable; an object says so itself.
	_        struct{} `nullable:"true"`
	Method   string   `json:"method" doc:"How the game was asked to pause: rcon or exec." example:"rcon"`
	PausedMS int64    `json:"paused_ms" minimum:"0" doc:"How long the game's writes were paused, in milliseconds: what players may have noticed." example:"1850"`
}

// ProgressView is how far a running create or restore has got.
type ProgressView struct {
	// huma makes only scalar pointers nullable; an object says so itself.
	_          struct{}  `nullable:"true"`
	DoneBytes  int64     `json:"done_bytes" minimum:"0" doc:"Bytes processed so far: for a create, bytes of file contents archived; for a restore, bytes of the archive extracted. Never decreases while the operation runs."`
	TotalBytes int64     `json:"total_bytes" minimum:"0" doc:"What done_bytes will reach: for a create, the size of the files being archived; for a restore, the archive's size. 0 means not measured yet. Never below done_bytes once measured."`
	StartedAt  time.Time `json:"started_at" doc:"When the operation started (RFC 3339, UTC); with done_bytes it gives the rate, and the time left."`
}

// SkippedView is a file a backup's archive does not hold faithfully.
type SkippedView struct {
	Path   string `json:"path" doc:"The file's path inside the server's data directory." example:"world/session.lock"`
	Reason string `json:"reason" doc:"Why, in words for people." example:"permission denied"`
}

// NewBackupView returns the view of b that the API sends.
func NewBackupView(b ports.Backup) BackupView {
	v := BackupView{
		ID:        b.ID.String(),
		Name:      b.Name,
		Status:    string(b.Status),
		CreatedAt: b.CreatedAt.UTC(),
	}
	if !b.AssetID.IsZero() {
		id := b.AssetID.String()
		v.AssetID = &id
		v.SizeBytes = &b.SizeBytes // recorded together with the asset
	}
	if b.SHA256 != "" {
		v.SHA256 = &b.SHA256
	}
	if b.Error != "" {
		v.Error = &b.Error
	}
	v.CompletedAt = optionalTime(b.CompletedAt)
	v.LastRestoredAt = optionalTime(b.LastRestoredAt)
	v.SkippedCount = b.SkippedCount
	v.Skipped = make([]SkippedView, len(b.Skipped))
	for i, s := range b.Skipped {
		v.Skipped[i] = SkippedView{Path: s.Path, Reason: s.Reason}
	}
	if p := b.Progress; p != nil {
		v.Progress = &ProgressView{DoneBytes: p.DoneBytes, TotalBytes: p.TotalBytes, StartedAt: p.StartedAt.UTC()}
	}
	v.Locked = b.Locked
	if !b.ScheduleID.IsZero() {
		id := b.ScheduleID.String()
		v.ScheduleID = &id
	}
	v.Excludes = nonNil(b.Excludes)
	// A pause that failed has a warning and lasted nothing; one whose resume
	// failed still paused the game, and says so.
	if q := b.Quiesce; q.Method != "" && (q.Paused > 0 || q.Warning == "") {
		v.Quiesce = &QuiesceView{Method: q.Method, PausedMS: q.Paused.Milliseconds()}
	}
	v.Warnings = []string{}
	if w := b.Quiesce.Warning; w != "" {
		// The sidecar words it for customers: the game was not paused (so the
		// archive may hold half-written files), or was not told to resume.
		v.Warnings = append(v.Warnings, strings.ToUpper(w[:1])+w[1:])
	}
	return v
}

// nonNil returns list, or an empty list for nil: a JSON array, never null.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// BackupList is the body of list-backups: an object rather than a bare array, so
// that fields (paging) can be added without breaking clients.
type BackupList struct {
	Backups []BackupView `json:"backups" nullable:"false" doc:"The provision's backups, newest first."`
	// Limit is the host's configured limit, so clients need not hard-code it.
	Limit int `json:"limit" minimum:"1" doc:"How many backups the provision may hold; a create beyond it answers 409 limit_reached." example:"10"`
}

// CreateBackupRequest is the optional body of create-backup. Unknown fields are
// refused (422 invalid_input), so a misspelt "nmae" is not silently ignored.
type CreateBackupRequest struct {
	_    struct{} `additionalProperties:"false"`
	Name string   `json:"name,omitempty" maxLength:"100" doc:"Printable characters, at least one; surrounding spaces are trimmed. Omit for Backup YYYY-MM-DD HH:MM UTC." example:"Before the 1.21 update"`
	// Excludes is bounded in the schema as the service bounds it, so that
	// clients can check before they send; the service also refuses patterns
	// with too many wildcards or a control character.
	Excludes []string `json:"excludes,omitempty" nullable:"false" maxItems:"256" maxLength:"256" doc:"Gitignore-style patterns, relative to the server's data directory, of paths to leave out, applied after the directory's .savepointignore file: cache/ leaves out every directory named cache, /logs/ only the top one, *.tmp every such file, !keep.tmp takes one back. At most 256 patterns of at most 256 bytes and 16 wildcards (* ? [) each; more is refused with 422 invalid_excludes. Omit for none." example:"[\"cache/\",\"plugins/dynmap/web/tiles/\"]"`
}

// The bounds on exclude patterns the schema states: exclude.DefaultLimits'.
const (
	maxExcludes      = 256
	maxExcludeLength = 256
)

// errInvalidUTF8 refuses a body that is not UTF-8: encoding/json would replace
// the bad bytes with U+FFFD, and a name the client never sent would be stored.
var errInvalidUTF8 = errors.New("the request body is not valid UTF-8")

// UnmarshalJSON decodes the body, refusing bytes that are not valid UTF-8.
func (r *CreateBackupRequest) UnmarshalJSON(b []byte) error {
	if !utf8.Valid(b) {
		return errInvalidUTF8
	}
	type plain CreateBackupRequest // without this method
	return json.Unmarshal(b, (*plain)(r))
}

// The path parameters. huma reads only exported fields of the input struct
// itself (not of an unexported embedded one), so each input declares its own;
// Resolve parses them strictly (one textual form per UUID) into the unexported
// typed IDs.
type backupsInput struct {
	OrderID     string `path:"order_id" format:"uuid" doc:"The order (the customer's game server)."`
	ProvisionID string `path:"provision_id" format:"uuid" doc:"The order's primary game-server provision."`
	order       ports.OrderID
	provision   ports.ProvisionID
}

func (in *backupsInput) Resolve(huma.Context) []error {
	var errs []error
	in.order = parseID(&errs, "order_id", in.OrderID, ports.ParseOrderID)
	in.provision = parseID(&errs, "provision_id", in.ProvisionID, ports.ParseProvisionID)
	return errs
}

type createInput struct {
	OrderID     string `path:"order_id" format:"uuid" doc:"The order (the customer's game server)."`
	ProvisionID string `path:"provision_id" format:"uuid" doc:"The order's primary game-server provision."`
	Body        *CreateBackupRequest
	order       ports.OrderID
	provision   ports.ProvisionID
}

func (in *createInput) Resolve(huma.Context) []error {
	var errs []error
	in.order = parseID(&errs, "order_id", in.OrderID, ports.ParseOrderID)
	in.provision = parseID(&errs, "provision_id", in.ProvisionID, ports.ParseProvisionID)
	return errs
}

type backupInput struct {
	OrderID     string `path:"order_id" format:"uuid" doc:"The order (the customer's game server)."`
	ProvisionID string `path:"provision_id" format:"uuid" doc:"The order's primary game-server provision."`
	BackupID    string `path:"backup_id" format:"uuid" doc:"The backup, which must belong to the order and provision."`
	order       ports.OrderID
	provision   ports.ProvisionID
	id          ports.BackupID
}

func (in *backupInput) Resolve(huma.Context) []error {
	var errs []error
	in.order = parseID(&errs, "order_id", in.OrderID, ports.ParseOrderID)
	in.provision = parseID(&errs, "provision_id", in.ProvisionID, ports.ParseProvisionID)
	in.id = parseID(&errs, "backup_id", in.BackupID, ports.ParseBackupID)
	return errs
}

// parseID parses one path ID, adding a validation error (422 invalid_input, with
// the parameter's location) when it is not a canonical UUID.
func parseID[T any](errs *[]error, name, raw string, parse func(string) (T, error)) T {
	id, err := parse(raw)
	if err != nil {
		*errs = append(*errs, &huma.ErrorDetail{
			Message:  "expected a UUID in canonical form, like 0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e",
			Location: "path." + name,
			Value:    raw,
		})
	}
	return id
}

type listOutput struct{ Body BackupList }

type backupOutput struct{ Body BackupView }

func registerBackups(api huma.API, h *handlers) {
	reg := api.OpenAPI().Components.Schemas
	huma.Register(api, huma.Operation{
		OperationID:        opListBackups,
		Method:             http.MethodGet,
		Path:               backupsPath,
		Tags:               []string{tagBackups},
		Summary:            "List backups",
		Description:        "Returns the provision's backups, newest first. The caller must own the order or hold ViewAllOrders.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound),
	}, h.listBackups)

	huma.Register(api, huma.Operation{
		OperationID: opCreateBackup,
		Method:      http.MethodPost,
		Path:        backupsPath,
		Tags:        []string{tagBackups},
		Summary:     "Create a backup",
		Description: "Starts a backup of the game server's data and returns it in status creating; poll get-backup " +
			"until it is ready (asset_id set) or failed (error set). Only one backup or restore runs per order " +
			"at a time, and a provision holds at most the list's limit of backups.",
		DefaultStatus:      http.StatusAccepted,
		Security:           security(),
		SkipValidateParams: true,
		MaxBodyBytes:       createBodyLimit,
		Responses: problemResponses(reg, true, CodeInvalidInput, CodeInvalidExcludes, CodeForbidden, CodeNotFound, CodeNoSidecar,
			CodeOperationInProgress, CodeLimitReached, CodeUnavailable),
	}, h.createBackup)

	huma.Register(api, huma.Operation{
		OperationID:        opGetBackup,
		Method:             http.MethodGet,
		Path:               backupPath,
		Tags:               []string{tagBackups},
		Summary:            "Get a backup",
		Description:        "Returns one backup; poll this while it is creating or restoring.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound),
	}, h.getBackup)

	huma.Register(api, huma.Operation{
		OperationID: opDeleteBackup,
		Method:      http.MethodDelete,
		Path:        backupPath,
		Tags:        []string{tagBackups},
		Summary:     "Delete a backup",
		Description: "Deletes a ready or failed backup and its archive. A locked backup is refused with 409 " +
			"backup_locked: unlock it first. If storage fails part-way the backup stays, and deleting it again " +
			"finishes the job.",
		DefaultStatus:      http.StatusNoContent,
		Security:           security(),
		SkipValidateParams: true,
		Responses: problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeBackupLocked,
			CodeStatusConflict, CodeUpstreamUnavailable),
	}, h.deleteBackup)

	huma.Register(api, huma.Operation{
		OperationID: opLockBackup,
		Method:      http.MethodPut,
		Path:        backupPath + "/lock",
		Tags:        []string{tagBackups},
		Summary:     "Lock a backup",
		Description: "Locks the backup, in any status, so that it cannot be deleted until it is unlocked, and " +
			"returns it. Locking a locked backup changes nothing. Whoever may delete the backup may lock it.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeStatusConflict),
	}, h.lockBackup(true))

	huma.Register(api, huma.Operation{
		OperationID: opUnlockBackup,
		Method:      http.MethodDelete,
		Path:        backupPath + "/lock",
		Tags:        []string{tagBackups},
		Summary:     "Unlock a backup",
		Description: "Removes the backup's lock, so that it can be deleted again, and returns it. Unlocking a " +
			"backup that is not locked changes nothing.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeStatusConflict),
	}, h.lockBackup(false))

	huma.Register(api, huma.Operation{
		OperationID: opRestoreBackup,
		Method:      http.MethodPost,
		Path:        backupPath + "/restore",
		Tags:        []string{tagBackups},
		Summary:     "Restore a backup",
		Description: "Starts replacing the game server's data with the backup's and returns the backup in status " +
			"restoring; poll get-backup until it is ready again. If the restore fails the backup is ready with " +
			"error set and the server's files are as they were.",
		DefaultStatus:      http.StatusAccepted,
		Security:           security(),
		SkipValidateParams: true,
		Responses: problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeStatusConflict,
			CodeNoSidecar, CodeOperationInProgress, CodeUnavailable),
	}, h.restoreBackup)
}

func (h *handlers) listBackups(ctx context.Context, in *backupsInput) (*listOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	list, err := h.svc.ListBackups(ctx, user, in.order, in.provision)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	out := &listOutput{Body: BackupList{Backups: make([]BackupView, 0, len(list)), Limit: h.svc.MaxBackupsPerProvision()}}
	for _, b := range list {
		out.Body.Backups = append(out.Body.Backups, NewBackupView(b))
	}
	return out, nil
}

func (h *handlers) createBackup(ctx context.Context, in *createInput) (*backupOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	var req backup.CreateRequest
	if in.Body != nil {
		req = backup.CreateRequest{Name: in.Body.Name, Excludes: in.Body.Excludes}
	}
	b, err := h.svc.CreateBackup(ctx, user, in.order, in.provision, req)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	return &backupOutput{Body: NewBackupView(b)}, nil
}

func (h *handlers) getBackup(ctx context.Context, in *backupInput) (*backupOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	b, err := h.svc.GetBackup(ctx, user, in.order, in.provision, in.id)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order, "backup_id", in.id)
	}
	return &backupOutput{Body: NewBackupView(b)}, nil
}

func (h *handlers) deleteBackup(ctx context.Context, in *backupInput) (*struct{}, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	if err := h.svc.DeleteBackup(ctx, user, in.order, in.provision, in.id); err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order, "backup_id", in.id)
	}
	return nil, nil
}

func (h *handlers) restoreBackup(ctx context.Context, in *backupInput) (*backupOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	b, err := h.svc.RestoreBackup(ctx, user, in.order, in.provision, in.id)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order, "backup_id", in.id)
	}
	return &backupOutput{Body: NewBackupView(b)}, nil
}

// lockBackup serves lock-backup (locked true) and unlock-backup: one resource,
// the lock, that PUT sets and DELETE removes, both idempotent.
func (h *handlers) lockBackup(locked bool) func(context.Context, *backupInput) (*backupOutput, error) {
	return func(ctx context.Context, in *backupInput) (*backupOutput, error) {
		user, err := userFrom(ctx)
		if err != nil {
			return nil, failure(ctx, h.log, err)
		}
		b, err := h.svc.LockBackup(ctx, user, in.order, in.provision, in.id, locked)
		if err != nil {
			return nil, failure(ctx, h.log, err, "order_id", in.order, "backup_id", in.id)
		}
		return &backupOutput{Body: NewBackupView(b)}, nil
	}
}

package ports

import (
	"fmt"
	"time"
)

// Status is where a backup is in its lifecycle. The values are the wire strings.
type Status string

// The statuses of a backup. Creating and Restoring are "active operations": at most
// one backup per order is in one of them at a time.
const (
	StatusCreating  Status = "creating"
	StatusReady     Status = "ready"
	StatusFailed    Status = "failed"
	StatusRestoring Status = "restoring"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusCreating, StatusReady, StatusFailed, StatusRestoring:
		return true
	}
	return false
}

// Active reports whether s is an operation in progress (creating or restoring).
func (s Status) Active() bool { return s == StatusCreating || s == StatusRestoring }

// Backup is one backup of a provision's server data. Optional fields hold their zero
// value when unset.
type Backup struct {
	ID          BackupID
	OrderID     OrderID
	ProvisionID ProvisionID
	// Name is user-chosen, validated by backup.NewName.
	Name   string
	Status Status
	// AssetID is the downloadable archive; set once the backup is ready.
	AssetID AssetID
	// SizeBytes is the archive's size; set once the backup is ready.
	SizeBytes int64
	// SHA256 is the hex SHA-256 of the archive; set once the backup is ready and
	// verified before every restore.
	SHA256 string
	// Error describes the last failure in words a customer can read: why the backup
	// failed, or why the last restore did not complete. Empty when none.
	Error     string
	CreatedAt time.Time
	// CompletedAt is when the archive was stored (or the create failed).
	CompletedAt time.Time
	// HeartbeatAt is refreshed by the worker while an operation runs; an active backup
	// whose heartbeat is too old is recovered as stale.
	HeartbeatAt time.Time
	// LastRestoredAt is when a restore of this backup last completed.
	LastRestoredAt time.Time
	// Deleting is set once a delete has claimed the backup: no restore can start, and a
	// retried delete finishes the job.
	Deleting bool
	// Skipped lists files the archive does not hold, or holds a copy of that cannot
	// be trusted (unreadable files, sockets and devices, files that changed while
	// they were read), at most MaxSkippedListed of them; set once the backup is ready.
	Skipped []SkippedFile
	// SkippedCount is how many files were skipped in all; Skipped may list fewer.
	SkippedCount int
	// Progress is how far the running create or restore has got; nil when no
	// operation runs.
	Progress *Progress
	// Locked protects the backup: it cannot be deleted, and neither rotation nor
	// retention removes it, until it is unlocked.
	Locked bool
	// ScheduleID is the schedule that made the backup; zero for a backup a user
	// asked for.
	ScheduleID ScheduleID
	// Excludes are the gitignore-style patterns that left paths out of the
	// archive (the data directory's .savepointignore file's, then the create's
	// own); a restore carries the paths they match over from the current files.
	// Set once the backup is ready.
	Excludes []string
	// Quiesce is what the sidecar did to pause the game's writes while it was
	// archived; set once the backup is ready.
	Quiesce QuiesceReport
}

// Progress is how far a running create or restore has got, saved with its
// heartbeat so that every replica can answer it.
type Progress struct {
	// DoneBytes is what the operation has processed: for a create, bytes of
	// file contents archived; for a restore, bytes of the archive extracted. It
	// never decreases while the operation runs.
	DoneBytes int64
	// TotalBytes is what DoneBytes will reach: for a create, the size of the data
	// being archived (0 until it is known); for a restore, the archive's size.
	TotalBytes int64
	// StartedAt is when the operation started.
	StartedAt time.Time
}

// MaxSkippedListed bounds the list of skipped files a backup keeps: a tree with
// thousands of unreadable files must not make every backup record huge. The count
// is always complete.
const MaxSkippedListed = 100

// ValidateSkipped applies the rule every Repository enforces on a backup's
// skipped files: at most MaxSkippedListed are listed, and SkippedCount is at
// least as many as are listed.
func ValidateSkipped(b Backup) error {
	switch {
	case len(b.Skipped) > MaxSkippedListed:
		return fmt.Errorf("%d skipped files listed, at most %d may be", len(b.Skipped), MaxSkippedListed)
	case b.SkippedCount < len(b.Skipped):
		return fmt.Errorf("skipped count %d is below the %d files listed", b.SkippedCount, len(b.Skipped))
	}
	return nil
}

// ValidateProgress applies the rule every Repository enforces on a progress it
// stores: byte counts are not negative and the start is set. nil (no progress)
// is valid.
func ValidateProgress(p *Progress) error {
	if p != nil && (p.DoneBytes < 0 || p.TotalBytes < 0 || p.StartedAt.IsZero()) {
		return fmt.Errorf("invalid progress: %d of %d bytes, started %v: want counts of at least 0 and a start time",
			p.DoneBytes, p.TotalBytes, p.StartedAt)
	}
	return nil
}

// SkippedFile is a file the sidecar could not archive faithfully, and why.
type SkippedFile struct {
	// Path is the file's path relative to the archived directory, slash-separated.
	// Bytes that are not valid UTF-8 are replaced with U+FFFD.
	Path string
	// Reason says, in words a customer can read, why the file is missing from the
	// archive or why its copy cannot be trusted ("permission denied", "a socket",
	// "changed while it was being read").
	Reason string
}

// ProvisionKind is the kind of a provision in the host's catalog.
type ProvisionKind string

// KindDeployment is the only kind of provision that can be backed up.
const KindDeployment ProvisionKind = "deployment"

// ProvisionRole says what a provision does within its order.
type ProvisionRole string

// Provision roles; see Provision for how the service uses them.
const (
	RoleGameServer ProvisionRole = "game_server"
	RoleSidecar    ProvisionRole = "sidecar"
)

// Order is a customer's order as the host knows it.
type Order struct {
	ID      OrderID
	OwnerID UserID
}

// Provision is a component deployed for an order. The service uses two of an
// order's provisions:
//
//   - the game server: Kind KindDeployment and Primary. Backups belong to it, and
//     every backup route names it; any other provision answers not found. Its Role
//     is not read (RoleGameServer is the natural value).
//   - the sidecar that reads and writes the game server's files: by default a
//     provision of its own with Role RoleSidecar, found among the order's
//     provisions (Orders.ListProvisions); its Kind and Primary are not read. A host
//     that keeps the sidecar's address on the game server's own row sets
//     HasSidecar on the game server instead, and needs no sidecar provision.
//
// Whichever provision is the sidecar is what the service hands to
// SidecarDialer.Dial.
type Provision struct {
	ID      ProvisionID
	OrderID OrderID
	Kind    ProvisionKind
	// Primary marks the order's main deployment: the one whose data is backed up.
	Primary bool
	Role    ProvisionRole
	// HasSidecar says that this game server's sidecar is reached through the game
	// server's own provision: the service dials it, and looks for no separate
	// RoleSidecar provision.
	HasSidecar bool
}

// Asset is a stored file that can be downloaded (GET /api/v1/assets/{id}). Who
// may download a backup's archive is decided by the backup's order, not by the
// asset: an order can change hands.
type Asset struct {
	ID AssetID
	// OwnerID is the order's owner when the asset was recorded, for hosts that
	// list assets per user. Downloads are not authorized by it.
	OwnerID UserID
	// Key locates the object in the ObjectStore; always derived from IDs.
	Key string
	// FileName is suggested to browsers in Content-Disposition.
	FileName    string
	ContentType string
	SizeBytes   int64
	SHA256      string
	CreatedAt   time.Time
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key       string
	SizeBytes int64
	ModTime   time.Time
}

// Fence is a host's hold on an order's one operation slot (see
// Repository.AcquireFence): while it is held no create or restore can start, and
// it cannot be taken while one runs.
type Fence struct {
	ID      FenceID
	OrderID OrderID
	// AcquiredAt is when the fence was taken.
	AcquiredAt time.Time
	// HeartbeatAt is refreshed while the holder is alive; a fence whose heartbeat
	// is too old is expired by the recovery loop (a host that died holding it).
	HeartbeatAt time.Time
}

// ByteRange selects bytes [Offset, Offset+Length) of an object. A nil *ByteRange
// means the whole object.
type ByteRange struct {
	Offset int64
	Length int64
}

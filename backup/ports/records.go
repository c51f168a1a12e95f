package ports

import "time"

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

// Statuses lists every status, in lifecycle order.
var Statuses = []Status{StatusCreating, StatusReady, StatusFailed, StatusRestoring}

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
}

// ProvisionKind is the kind of a provision in the host's catalog.
type ProvisionKind string

// KindDeployment is the only kind of provision that can be backed up.
const KindDeployment ProvisionKind = "deployment"

// ProvisionRole says what a provision does within its order.
type ProvisionRole string

// Provision roles. A backup needs an order's primary game-server provision and its
// sibling sidecar.
const (
	RoleGameServer ProvisionRole = "game_server"
	RoleSidecar    ProvisionRole = "sidecar"
)

// Order is a customer's order as the host knows it.
type Order struct {
	ID      OrderID
	OwnerID UserID
}

// Provision is a component deployed for an order.
type Provision struct {
	ID      ProvisionID
	OrderID OrderID
	Kind    ProvisionKind
	// Primary marks the order's main deployment: the one whose data is backed up.
	Primary bool
	Role    ProvisionRole
}

// Asset is a stored file the owner can download (GET /api/v1/assets/{id}).
type Asset struct {
	ID      AssetID
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

// ByteRange selects bytes [Offset, Offset+Length) of an object. A nil *ByteRange
// means the whole object.
type ByteRange struct {
	Offset int64
	Length int64
}

package backup

import "github.com/savepoint-dev/savepoint/backup/ports"

// The records and IDs of package ports, re-exported so that callers of the
// service rarely need to import ports (the way os re-exports io/fs types).
type (
	// Backup is one backup of a provision's server data.
	Backup = ports.Backup
	// Status is where a backup is in its lifecycle.
	Status = ports.Status
	// Asset is a downloadable archive.
	Asset = ports.Asset
	// BackupID identifies a backup.
	BackupID = ports.BackupID
	// OrderID identifies an order.
	OrderID = ports.OrderID
	// ProvisionID identifies a provision.
	ProvisionID = ports.ProvisionID
	// AssetID identifies an asset.
	AssetID = ports.AssetID
	// UserID identifies the caller.
	UserID = ports.UserID
	// ByteRange selects part of a download.
	ByteRange = ports.ByteRange
	// SkippedFile is a file a backup's archive does not hold faithfully.
	SkippedFile = ports.SkippedFile
)

// The statuses, re-exported from ports.
const (
	StatusCreating  = ports.StatusCreating
	StatusReady     = ports.StatusReady
	StatusFailed    = ports.StatusFailed
	StatusRestoring = ports.StatusRestoring
)

package ports

import (
	"database/sql/driver"
	"fmt"

	"github.com/google/uuid"
)

// ID is a UUID tagged with the kind of thing it identifies. The tag makes
// BackupID, OrderID, ProvisionID, AssetID, UserID, FenceID and ScheduleID distinct types, so an order ID
// cannot be passed where a backup ID is expected. The zero ID is the nil UUID and
// means "none".
type ID[K kind] struct{ u uuid.UUID }

type kind interface{ kindName() string }

type (
	backupKind    struct{}
	orderKind     struct{}
	provisionKind struct{}
	assetKind     struct{}
	userKind      struct{}
	fenceKind     struct{}
	scheduleKind  struct{}
)

func (backupKind) kindName() string    { return "backup" }
func (orderKind) kindName() string     { return "order" }
func (provisionKind) kindName() string { return "provision" }
func (assetKind) kindName() string     { return "asset" }
func (userKind) kindName() string      { return "user" }
func (fenceKind) kindName() string     { return "fence" }
func (scheduleKind) kindName() string  { return "schedule" }

type (
	// BackupID identifies a backup.
	BackupID = ID[backupKind]
	// OrderID identifies a customer's order (a game server).
	OrderID = ID[orderKind]
	// ProvisionID identifies a provision (a deployed component) of an order.
	ProvisionID = ID[provisionKind]
	// AssetID identifies a downloadable file recorded by the host.
	AssetID = ID[assetKind]
	// UserID identifies the caller on whose behalf the service acts.
	UserID = ID[userKind]
	// FenceID identifies one hold of an order's operation slot (a Fence).
	FenceID = ID[fenceKind]
	// ScheduleID identifies a provision's backup schedule.
	ScheduleID = ID[scheduleKind]
)

// newID returns a fresh, time-ordered (version 7) ID, so that rows inserted
// together sit together in indexes.
func newID[K kind]() ID[K] { return ID[K]{uuid.Must(uuid.NewV7())} }

// parseID parses the canonical textual form of a UUID: 36 characters, lower-case
// hexadecimal in groups of 8-4-4-4-12. It refuses every other form uuid.Parse
// accepts (upper case, braces, urn: prefix, no hyphens) so that one resource has
// one URL.
func parseID[K kind](s string) (ID[K], error) {
	var k K
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || u.String() != s {
		return ID[K]{}, fmt.Errorf("invalid %s id %q: want a lower-case UUID like 0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e", k.kindName(), truncate(s))
	}
	return ID[K]{u}, nil
}

// NewBackupID returns a fresh, time-ordered backup ID.
func NewBackupID() BackupID { return newID[backupKind]() }

// NewOrderID returns a fresh, time-ordered order ID.
func NewOrderID() OrderID { return newID[orderKind]() }

// NewProvisionID returns a fresh, time-ordered provision ID.
func NewProvisionID() ProvisionID { return newID[provisionKind]() }

// NewAssetID returns a fresh, time-ordered asset ID.
func NewAssetID() AssetID { return newID[assetKind]() }

// NewUserID returns a fresh, time-ordered user ID.
func NewUserID() UserID { return newID[userKind]() }

// NewFenceID returns a fresh, time-ordered fence ID.
func NewFenceID() FenceID { return newID[fenceKind]() }

// NewScheduleID returns a fresh, time-ordered schedule ID.
func NewScheduleID() ScheduleID { return newID[scheduleKind]() }

// archiveAssets is the namespace of the name-based UUIDs of ArchiveAssetID.
var archiveAssets = uuid.MustParse("6f1c5a3e-2b8d-4c47-9a0e-5d3b7e9f1a24")

// ArchiveAssetID is the ID of the asset that records a backup's archive. It is
// derived from the backup's ID (a name-based UUID), so that an archive found in
// storage without its backup (an order deleted with its rows) can have its asset
// removed as well.
func ArchiveAssetID(b BackupID) AssetID {
	return AssetID{uuid.NewSHA1(archiveAssets, b.u[:])}
}

// ParseBackupID parses a backup ID in canonical UUID form.
func ParseBackupID(s string) (BackupID, error) { return parseID[backupKind](s) }

// ParseOrderID parses an order ID in canonical UUID form.
func ParseOrderID(s string) (OrderID, error) { return parseID[orderKind](s) }

// ParseProvisionID parses a provision ID in canonical UUID form.
func ParseProvisionID(s string) (ProvisionID, error) { return parseID[provisionKind](s) }

// ParseAssetID parses an asset ID in canonical UUID form.
func ParseAssetID(s string) (AssetID, error) { return parseID[assetKind](s) }

// ParseUserID parses a user ID in canonical UUID form.
func ParseUserID(s string) (UserID, error) { return parseID[userKind](s) }

// ParseFenceID parses a fence ID in canonical UUID form.
func ParseFenceID(s string) (FenceID, error) { return parseID[fenceKind](s) }

// ParseScheduleID parses a schedule ID in canonical UUID form.
func ParseScheduleID(s string) (ScheduleID, error) { return parseID[scheduleKind](s) }

// UUID returns the raw UUID.
func (id ID[K]) UUID() uuid.UUID { return id.u }

// IsZero reports whether id is the nil UUID ("none").
func (id ID[K]) IsZero() bool { return id.u == uuid.Nil }

// String returns the canonical textual form.
func (id ID[K]) String() string { return id.u.String() }

// MarshalText implements encoding.TextMarshaler (JSON strings, logs).
func (id ID[K]) MarshalText() ([]byte, error) { return id.u.MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler with the Parse functions' rules.
func (id *ID[K]) UnmarshalText(b []byte) error {
	parsed, err := parseID[K](string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// Value implements driver.Valuer; the zero ID is stored as NULL.
func (id ID[K]) Value() (driver.Value, error) {
	if id.IsZero() {
		return nil, nil
	}
	return id.u.String(), nil
}

// Scan implements sql.Scanner; NULL scans as the zero ID.
func (id *ID[K]) Scan(src any) error {
	if src == nil {
		*id = ID[K]{}
		return nil
	}
	return id.u.Scan(src)
}

// truncate keeps hostile input from flooding error messages and logs.
func truncate(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	r := []rune(s[:limit])
	return string(r[:len(r)-1]) + "…" // drop a rune the byte cut may have split
}

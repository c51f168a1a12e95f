package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Deps are the ports the Service uses. All are required but Schedules and
// Activity.
type Deps struct {
	// Repository stores the backups and enforces their invariants.
	Repository ports.Repository
	// Orders looks up the host's orders and provisions.
	Orders ports.Orders
	// Permissions answers whether a user holds ViewAllOrders.
	Permissions ports.Permissions
	// Assets records the downloadable archives.
	Assets ports.Assets
	// Objects stores the archives.
	Objects ports.ObjectStore
	// Sidecars connects to the file service beside each game server.
	Sidecars ports.SidecarDialer
	// Schedules stores backup schedules. Optional: without it the schedule
	// methods return ErrSchedulesUnavailable.
	Schedules ports.Schedules
	// Activity reads the activity log the Repository and Schedules write.
	// Optional: without it ListActivity returns ErrActivityUnavailable.
	Activity ports.ActivityLog
}

func (d Deps) validate() error {
	var missing []error
	for _, dep := range []struct {
		name  string
		value any
	}{
		{"Repository", d.Repository}, {"Orders", d.Orders}, {"Permissions", d.Permissions},
		{"Assets", d.Assets}, {"Objects", d.Objects}, {"Sidecars", d.Sidecars},
	} {
		if dep.value == nil {
			missing = append(missing, fmt.Errorf("backup: Deps.%s is nil", dep.name))
		}
	}
	return errors.Join(missing...)
}

// DefaultMaxBackupsPerProvision is how many backups one provision may hold
// unless Options.MaxBackupsPerProvision says otherwise.
const DefaultMaxBackupsPerProvision = 10

// Options tune the Service. The zero value means every documented default.
type Options struct {
	// MaxBackupsPerProvision is how many backups one provision may hold. Default
	// DefaultMaxBackupsPerProvision.
	MaxBackupsPerProvision int
	// MaxConcurrentOperations bounds the creates and restores this replica runs at
	// once; more wait their turn (still heartbeating). Default 4.
	MaxConcurrentOperations int
	// HeartbeatInterval is how often a running operation proves it is alive.
	// Default 15 s.
	HeartbeatInterval time.Duration
	// StaleAfter is how old a heartbeat may get before any replica's recovery
	// settles the operation as failed. Default 2 min; must exceed HeartbeatInterval.
	StaleAfter time.Duration
	// RecoveryInterval is how often RunRecovery looks for stale operations.
	// Default StaleAfter / 4.
	RecoveryInterval time.Duration
	// OperationTimeout ends a create or restore that runs longer (a hung stream
	// would otherwise hold the order's one operation slot forever). Default 24 h.
	OperationTimeout time.Duration
	// CleanupTimeout bounds the best-effort cleanup and the recording of a failure,
	// which run on a fresh context after the operation's own has ended. Default 30 s.
	CleanupTimeout time.Duration
	// SweepInterval is how often RunRecovery looks for archives whose backup is
	// gone and for abandoned uploads (see SweepOrphans). Default 1 h.
	SweepInterval time.Duration
	// OrphanGracePeriod is how old an archive without a backup must be before the
	// sweep deletes it. Default 1 h.
	OrphanGracePeriod time.Duration
	// DataDir is the game server's data directory as the sidecar sees it, for
	// sidecars whose connection does not say (ports.FileIO.Dirs). Default /data.
	DataDir string
	// TempDir is the sidecar's scratch directory for archives, for sidecars whose
	// connection does not say. Default /tmp.
	TempDir string
	// AllowStaffDownload decides whether a user who holds ViewAllOrders but does
	// not own the order may download its archives. Nil, the default, refuses:
	// support staff see every backup, but the customer's data is the customer's.
	AllowStaffDownload func(ctx context.Context, staff ports.UserID, order ports.OrderID) (bool, error)
	// RetentionIncludesManual lets a schedule's retention policy, and rotation
	// at the limit, delete backups users made by hand as well as the schedule's
	// own. Default false: a user's backups are theirs to delete.
	RetentionIncludesManual bool
	// FailWithoutQuiesce makes a create fail when the sidecar cannot pause the
	// game's writes while it archives (ports.QuiesceRequired). Default false:
	// the backup is made anyway and carries the sidecar's warning
	// (ports.QuiesceContinue). Either way a sidecar with no pause method
	// configured archives without pausing, and says so in no warning.
	FailWithoutQuiesce bool
	// Logger receives structured logs with backup_id and order_id. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBackupsPerProvision == 0 {
		o.MaxBackupsPerProvision = DefaultMaxBackupsPerProvision
	}
	if o.MaxConcurrentOperations == 0 {
		o.MaxConcurrentOperations = 4
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 15 * time.Second
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = 2 * time.Minute
	}
	if o.RecoveryInterval == 0 {
		o.RecoveryInterval = o.StaleAfter / 4
	}
	if o.OperationTimeout == 0 {
		o.OperationTimeout = 24 * time.Hour
	}
	if o.CleanupTimeout == 0 {
		o.CleanupTimeout = 30 * time.Second
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Hour
	}
	if o.OrphanGracePeriod == 0 {
		o.OrphanGracePeriod = time.Hour
	}
	if o.DataDir == "" {
		o.DataDir = "/data"
	}
	if o.TempDir == "" {
		o.TempDir = "/tmp"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports options that cannot work, after defaults are applied.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.MaxBackupsPerProvision < 1 {
		errs = append(errs, fmt.Errorf("MaxBackupsPerProvision %d: must be at least 1", o.MaxBackupsPerProvision))
	}
	if o.MaxConcurrentOperations < 1 {
		errs = append(errs, fmt.Errorf("MaxConcurrentOperations %d: must be at least 1", o.MaxConcurrentOperations))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"HeartbeatInterval", o.HeartbeatInterval}, {"StaleAfter", o.StaleAfter},
		{"RecoveryInterval", o.RecoveryInterval}, {"OperationTimeout", o.OperationTimeout},
		{"CleanupTimeout", o.CleanupTimeout}, {"SweepInterval", o.SweepInterval},
		{"OrphanGracePeriod", o.OrphanGracePeriod},
	} {
		name, d := f.name, f.d
		// Zero here is not "default": defaults are already applied, so a zero can
		// only come from a derived value (RecoveryInterval = StaleAfter/4 of a
		// nanosecond StaleAfter), and a zero ticker interval panics.
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive", name, d))
		}
	}
	if o.StaleAfter <= o.HeartbeatInterval {
		errs = append(errs, fmt.Errorf("StaleAfter %v must exceed HeartbeatInterval %v, or live operations would be recovered as stale", o.StaleAfter, o.HeartbeatInterval))
	}
	for _, f := range [][2]string{{"DataDir", o.DataDir}, {"TempDir", o.TempDir}} {
		name, dir := f[0], f[1]
		if dir[0] != '/' {
			errs = append(errs, fmt.Errorf("%s %q: must be an absolute path in the sidecar's pod", name, dir))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup: invalid options: %w", err)
	}
	return nil
}

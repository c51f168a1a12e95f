package backup

import (
	"errors"
	"fmt"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The errors the Service returns. Compare with errors.Is: they are usually wrapped
// with detail. adapters/http maps each to one HTTP status and a stable machine code.
var (
	// ErrOrderNotFound: the order does not exist.
	ErrOrderNotFound = errors.New("order not found")
	// ErrProvisionNotFound: the provision does not exist, belongs to another order,
	// or is not the order's primary deployment (only that one can be backed up).
	ErrProvisionNotFound = errors.New("provision not found")
	// ErrBackupNotFound: the backup does not exist, or not under this order and
	// provision.
	ErrBackupNotFound = errors.New("backup not found")
	// ErrAssetNotFound: the asset does not exist or belongs to someone else (the two
	// are indistinguishable on purpose), or its archive is gone from storage.
	ErrAssetNotFound = errors.New("asset not found")
	// ErrNoSidecar: the order has no sidecar provision to read or write its files.
	ErrNoSidecar = errors.New("the game server has no sidecar to back up its files")
	// ErrUnauthorized: the caller neither owns the order nor holds ViewAllOrders.
	ErrUnauthorized = errors.New("not allowed to access this order")
	// ErrBackupInProgress: the reprovision guard or fence refused because a backup
	// is being created or restored for the order.
	ErrBackupInProgress = errors.New("a backup or restore is in progress for this order")
	// ErrInvalidName: the backup name is not 1 to MaxNameLength printable characters.
	ErrInvalidName = errors.New("invalid backup name")
	// ErrShuttingDown: the service is shutting down and accepts no new operations.
	ErrShuttingDown = errors.New("backup service is shutting down")
	// ErrScheduleNotFound: the provision has no backup schedule.
	ErrScheduleNotFound = errors.New("schedule not found")
	// ErrInvalidSchedule: a schedule's settings cannot work (a cron expression
	// that does not parse or never fires, an unknown time zone, a name template
	// that gives an invalid name, a negative retention count); the message says
	// which and why.
	ErrInvalidSchedule = errors.New("invalid schedule")
	// ErrInvalidExcludes: a create's or a schedule's exclude patterns break one
	// of their limits (see CreateRequest.Excludes: too many patterns, one too
	// long or with too many wildcards, a control character); the message names
	// the limit.
	ErrInvalidExcludes = errors.New("invalid exclude patterns")
	// ErrSchedulesUnavailable: the host gave the service no Deps.Schedules, so
	// schedules cannot be stored or run.
	ErrSchedulesUnavailable = errors.New("backup schedules are not available on this server")
	// ErrActivityUnavailable: the host gave the service no Deps.Activity, so
	// there is no activity log to read.
	ErrActivityUnavailable = errors.New("the activity log is not available on this server")
	// ErrInvalidPage: a page of a list was asked for with a size outside 1 to
	// its maximum, or a negative cursor; the message says which.
	ErrInvalidPage = errors.New("invalid page")

	// ErrOperationInProgress: the order already has a backup being created or
	// restored; only one operation runs per order.
	ErrOperationInProgress = ports.ErrOperationInProgress
	// ErrLimitReached: the provision already holds the maximum number of backups.
	ErrLimitReached = ports.ErrLimitReached
	// ErrReprovisioning: the host holds the order's fence while it reprovisions the
	// game server, so no backup or restore can start, and no second fence be taken.
	ErrReprovisioning = ports.ErrFenced
	// ErrStatusConflict: the backup's status does not allow the operation (restore
	// needs ready; delete needs ready or failed; nothing but a delete goes on once
	// a delete has claimed the backup).
	ErrStatusConflict = ports.ErrStatusConflict
	// ErrBackupLocked: the backup is locked, so it cannot be deleted until it is
	// unlocked (LockBackup).
	ErrBackupLocked = ports.ErrLocked
	// ErrInvalidRange: a download range lies outside the archive.
	ErrInvalidRange = ports.ErrInvalidRange

	// ErrDatabase wraps failures of the repository, the order catalog and assets.
	ErrDatabase = ports.ErrDatabase
	// ErrStorage wraps failures of object storage.
	ErrStorage = ports.ErrStorage
	// ErrCluster wraps failures reaching or using the game server's sidecar.
	ErrCluster = ports.ErrCluster
)

// known lists the errors that already say what went wrong; infrastructure
// failures are everything else.
var known = []error{
	ErrOrderNotFound, ErrProvisionNotFound, ErrBackupNotFound, ErrAssetNotFound, ErrNoSidecar,
	ErrUnauthorized, ErrBackupInProgress, ErrInvalidName, ErrShuttingDown,
	ErrScheduleNotFound, ErrInvalidSchedule, ErrInvalidExcludes, ErrSchedulesUnavailable,
	ErrActivityUnavailable, ErrInvalidPage,
	ErrOperationInProgress, ErrLimitReached, ErrReprovisioning, ErrStatusConflict, ErrBackupLocked, ErrInvalidRange,
	ErrDatabase, ErrStorage, ErrCluster,
}

// wrapInfra returns err unchanged if it is (or wraps) a known error, and otherwise
// wraps it in kind (ErrDatabase, ErrStorage or ErrCluster) with what was being done.
func wrapInfra(kind error, doing string, err error) error {
	if err == nil {
		return nil
	}
	for _, k := range known {
		if errors.Is(err, k) {
			return fmt.Errorf("%s: %w", doing, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", doing, kind, err)
}

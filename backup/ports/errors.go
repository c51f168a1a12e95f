package ports

import "errors"

// Errors that adapters return. Package backup re-exports them under the same names
// (backup.ErrOperationInProgress == ports.ErrOperationInProgress), so errors.Is works
// whichever package the caller imports.
var (
	// ErrNotFound: the record or object does not exist. The service turns it into
	// the specific backup.ErrOrderNotFound, ErrProvisionNotFound or ErrBackupNotFound.
	ErrNotFound = errors.New("not found")
	// ErrOperationInProgress: the order already has a backup being created or restored.
	ErrOperationInProgress = errors.New("another backup operation is in progress for this order")
	// ErrLimitReached: the provision already holds the maximum number of backups.
	ErrLimitReached = errors.New("backup limit reached for this provision")
	// ErrFenced: the order's operation slot is held by a fence (the host is
	// reprovisioning its game server), so no create or restore can start, and no
	// second fence can be taken.
	ErrFenced = errors.New("the order is fenced while its game server is reprovisioned")
	// ErrStatusConflict: the backup is not in the status the operation requires
	// (a compare-and-set lost, or the operation is not allowed from the current status).
	ErrStatusConflict = errors.New("backup status does not allow this operation")
	// ErrLocked: the backup is locked, so it cannot be deleted.
	ErrLocked = errors.New("the backup is locked")
	// ErrUnsupported: the peer does not offer an optional capability (for example a
	// sidecar without streaming compression); callers fall back to another path.
	ErrUnsupported = errors.New("not supported by this peer")
	// ErrArchiveDamaged: an archive's bytes are not the ones recorded when it was
	// stored (its SHA-256 or size differs), so it was not restored.
	ErrArchiveDamaged = errors.New("the archive does not match its recorded checksum")
	// ErrQuiesceFailed: the game's writes could not be paused for an archive
	// made with QuiesceRequired, so no archive was made.
	ErrQuiesceFailed = errors.New("the game's writes could not be paused")
	// ErrExcludesRefused: an archive's exclude patterns (its source's
	// .savepointignore file's, or the request's) break a limit or are not valid
	// syntax, so no archive was made.
	ErrExcludesRefused = errors.New("the exclude patterns were refused")
	// ErrInvalidRange: a byte range lies outside the object.
	ErrInvalidRange = errors.New("byte range not satisfiable")

	// ErrDatabase wraps failures of the repository and catalog.
	ErrDatabase = errors.New("database error")
	// ErrStorage wraps failures of object storage.
	ErrStorage = errors.New("object storage error")
	// ErrCluster wraps failures reaching or using the sidecar in the game-server pod.
	ErrCluster = errors.New("game server sidecar error")
)

// Refusal is a failure whose cause a customer may read: Detail says why in
// words that name no internal host or path (which limit an exclude pattern
// breaks, why the game could not be paused). It wraps Err, ErrQuiesceFailed or
// ErrExcludesRefused.
type Refusal struct {
	Err    error
	Detail string
}

func (r *Refusal) Error() string {
	if r.Detail == "" {
		return r.Err.Error()
	}
	return r.Err.Error() + ": " + r.Detail
}

// Unwrap returns Err.
func (r *Refusal) Unwrap() error { return r.Err }

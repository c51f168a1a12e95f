package ports

import (
	"context"
	"io"
)

// ObjectStore keeps backup archives (S3 in production, a directory for the example
// server). Keys are produced by the service from IDs only, never from user input.
type ObjectStore interface {
	// Put stores everything read from r under key, replacing any object there. The
	// length is not known in advance and the object may be many gigabytes, so
	// implementations stream with bounded memory. When Put returns an error (a read
	// error from r, a cancelled ctx, a storage failure) no new object is visible
	// under key and no partial upload is left behind, as far as the store allows.
	Put(ctx context.Context, key string, r io.Reader) error

	// Get opens the object for reading; rng selects a part of it, nil the whole
	// object. The returned info describes the whole object. Returns ErrNotFound, or
	// ErrInvalidRange if rng lies outside the object.
	Get(ctx context.Context, key string, rng *ByteRange) (io.ReadCloser, ObjectInfo, error)

	// Stat describes the object. Returns ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

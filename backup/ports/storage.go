package ports

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
	"unicode/utf8"
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

	// List yields every object whose key begins with prefix, in key order, and
	// stops at the first error, which it yields with a zero ObjectInfo. Objects
	// being written by an unfinished Put are not listed.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]

	// RemoveAbandoned removes what Puts under prefix that will never finish left
	// behind (incomplete multipart uploads, temporary files of a killed process)
	// and returns how many it removed. A store that cannot tell a dead writer from
	// a live one removes only what was started before the given time; a Put
	// still running is never disturbed.
	RemoveAbandoned(ctx context.Context, prefix string, before time.Time) (int, error)
}

// ValidateObjectKey applies the key rules every ObjectStore enforces: keys are
// slash-separated relative paths (at most 1024 bytes of UTF-8, no control
// characters or backslashes, no empty, "." or ".." segments). The service builds
// keys from IDs, so a key that breaks them is a bug that must not reach storage.
func ValidateObjectKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("invalid object key %q: %s", key, why) }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
		return bad("contains a control character or backslash")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment (leading, trailing or double slash)")
		case ".", "..":
			return bad("dot segment")
		}
	}
	return nil
}

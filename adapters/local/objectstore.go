package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

var _ ports.ObjectStore = (*ObjectStore)(nil)

// ObjectStore keeps objects as files under one directory: key "a/b.tar.gz" is the
// file DIR/a/b.tar.gz. It is the example server's zero-config object store.
//
// Put writes a temp file next to the final one (".<name>.<random>.tmp"), fsyncs
// it, renames it over the final name and fsyncs the directory, so a crash never
// leaves a partly written object visible, and a reader sees either the old or the
// new object. A crash can leave a temp file behind; since keys may not have
// segments starting with ".", temp files are never mistaken for objects.
//
// Every access goes through an os.Root, so even a bad key or a symlink placed in
// the directory cannot reach files outside it. Keys follow the same rules as the
// S3 store (relative slash paths, no empty, "." or ".." segments) plus: no segment
// may start with ".", and a key cannot also be a "directory" of another key
// ("a/b" and "a/b/c" cannot both exist, unlike in S3; the service's keys never
// need that).
//
// ObjectStore is safe for concurrent use; concurrent Puts to the same key end with
// one of them winning whole.
type ObjectStore struct {
	root *os.Root
}

// OpenObjectStore opens (creating it if needed) the directory dir as an object
// store. Close releases it.
func OpenObjectStore(dir string) (*ObjectStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: object store directory: %w", ports.ErrStorage, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: object store directory: %w", ports.ErrStorage, err)
	}
	return &ObjectStore{root: root}, nil
}

// Close releases the directory. The store must not be used afterwards.
func (s *ObjectStore) Close() error { return s.root.Close() }

// Dir returns the directory the store keeps its objects in.
func (s *ObjectStore) Dir() string { return s.root.Name() }

// Put stores everything read from r under key, replacing any object there. On
// failure (a read error, a cancelled ctx checked between reads, a write error) the
// temp file is removed and any previous object stays as it was.
func (s *ObjectStore) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	dir, base := path.Split(key)
	if dir != "" {
		if err := s.root.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("%w: put %q: %w", ports.ErrStorage, key, err)
		}
	}
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	tmp := dir + "." + base + "." + hex.EncodeToString(suffix) + ".tmp"
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("%w: put %q: create temp file: %w", ports.ErrStorage, key, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close() // a second Close after success returns an ignored error
			_ = s.root.Remove(tmp)
		}
	}()

	// Errors from r and ctx are the caller's and are returned as they are;
	// only the file system's are storage failures.
	cr := &ctxReader{ctx: ctx, r: r}
	if _, err := io.Copy(f, cr); err != nil {
		if cr.err != nil {
			return fmt.Errorf("put %q: %w", key, cr.err)
		}
		return fmt.Errorf("%w: put %q: write: %w", ports.ErrStorage, key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: put %q: sync: %w", ports.ErrStorage, key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: put %q: close: %w", ports.ErrStorage, key, err)
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("%w: put %q: rename: %w", ports.ErrStorage, key, err)
	}
	// The rename is durable only once the directory is synced.
	if err := s.syncDir(dir); err != nil {
		return fmt.Errorf("%w: put %q: sync directory: %w", ports.ErrStorage, key, err)
	}
	return nil
}

func (s *ObjectStore) syncDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops reading once ctx ends, and remembers the reader's own error.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(b)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// Get opens the object, or the part of it that rng selects. Returns ErrNotFound,
// or ErrInvalidRange when rng is not inside the object (Offset < 0, Length < 1,
// or Offset+Length > size).
func (s *ObjectStore) Get(ctx context.Context, key string, rng *ports.ByteRange) (io.ReadCloser, ports.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return nil, ports.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ports.ObjectInfo{}, fmt.Errorf("get %q: %w", key, err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, ports.ObjectInfo{}, s.lookupError("get", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ports.ObjectInfo{}, fmt.Errorf("%w: get %q: %w", ports.ErrStorage, key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, ports.ObjectInfo{}, fmt.Errorf("get %q: %w", key, ports.ErrNotFound)
	}
	info := ports.ObjectInfo{Key: key, SizeBytes: st.Size(), ModTime: st.ModTime()}
	if rng == nil {
		return f, info, nil
	}
	if rng.Offset < 0 || rng.Length < 1 || rng.Length > math.MaxInt64-rng.Offset || rng.Offset+rng.Length > info.SizeBytes {
		f.Close()
		return nil, ports.ObjectInfo{}, fmt.Errorf("get %q bytes %d+%d of %d: %w", key, rng.Offset, rng.Length, info.SizeBytes, ports.ErrInvalidRange)
	}
	return sectionReadCloser{io.NewSectionReader(f, rng.Offset, rng.Length), f}, info, nil
}

type sectionReadCloser struct {
	*io.SectionReader
	io.Closer
}

// Stat describes the object. Returns ErrNotFound.
func (s *ObjectStore) Stat(ctx context.Context, key string) (ports.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ports.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("stat %q: %w", key, err)
	}
	st, err := s.root.Stat(key)
	if err != nil {
		return ports.ObjectInfo{}, s.lookupError("stat", key, err)
	}
	if !st.Mode().IsRegular() {
		return ports.ObjectInfo{}, fmt.Errorf("stat %q: %w", key, ports.ErrNotFound)
	}
	return ports.ObjectInfo{Key: key, SizeBytes: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete removes the object; a missing object is not an error.
func (s *ObjectStore) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	// A directory is not an object (it only holds other keys): never remove one.
	st, err := s.root.Lstat(key)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return fmt.Errorf("%w: delete %q: %w", ports.ErrStorage, key, err)
	}
	if st.IsDir() {
		return nil
	}
	if err := s.root.Remove(key); err != nil && !isMissing(err) {
		return fmt.Errorf("%w: delete %q: %w", ports.ErrStorage, key, err)
	}
	return nil
}

func (s *ObjectStore) lookupError(op, key string, err error) error {
	if isMissing(err) {
		return fmt.Errorf("%s %q: %w", op, key, ports.ErrNotFound)
	}
	return fmt.Errorf("%w: %s %q: %w", ports.ErrStorage, op, key, err)
}

// isMissing: the file does not exist, or a parent "directory" is an object file
// (key "a/b/c" when "a/b" is an object).
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// validateKey applies the rules every object store shares, plus the local ones:
// no segment may start with "." (temp files do) or be too long for a file name.
func validateKey(key string) error {
	if err := ports.ValidateObjectKey(key); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case strings.HasPrefix(seg, "."):
			return fmt.Errorf("local: invalid object key %q: segment starts with '.' (reserved for temp files)", key)
		case len(seg) > 200:
			// Leaves room for the temp file's prefix and suffix within NAME_MAX.
			return fmt.Errorf("local: invalid object key %q: segment longer than 200 bytes", key)
		}
	}
	return nil
}

package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

var _ ports.ObjectStore = (*ObjectStore)(nil)

// ObjectStore keeps objects as files under one directory: key "a/b.tar.gz" is the
// file DIR/a/b.tar.gz. It is the example server's zero-config object store.
//
// Put writes a temp file next to the final one (".<name>.<16 hex digits>.tmp"),
// fsyncs it, renames it over the final name and fsyncs the directory, so a crash
// never leaves a partly written object visible, and a reader sees either the old
// or the new object. Since keys may not have segments starting with ".", temp
// files are never mistaken for objects, and List never yields them.
//
// A process killed mid-Put leaves its temp file behind, as large as what it had
// written. To tell such a file from one a running Put is still writing, every
// Put holds an exclusive flock on its temp file from creation until the rename.
// The lock belongs to the Put's open file, so the kernel releases it however the
// process ends, and any other open of the file (another process, or another
// goroutine of this one) sees it held while the writer lives. OpenObjectStore
// removes every temp file in the directory whose lock is free (an empty one once
// it is a minute old, since a Put creates its file a moment before locking it),
// and RemoveAbandoned does the same under a prefix; neither touches a locked
// one, nor any file whose name is not of the temp file form. On a system without
// flock (or a file system that refuses it), a temp file's age is all there is:
// OpenObjectStore leaves temp files alone and RemoveAbandoned removes those last
// written before the time it is given. On NFS, Linux emulates flock with POSIX
// locks, which a process does not see held by its own other descriptors, so
// keep the directory on a local file system when Puts and sweeps share a
// process.
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
	// flock: temp files are locked while written, so a lock that can be taken
	// marks a dead writer's file. False where the system has no flock.
	flock bool
}

// OpenObjectStore opens (creating it if needed) the directory dir as an object
// store, and removes the temp files that Puts of killed processes left anywhere
// in it (see ObjectStore). Close releases it.
func OpenObjectStore(dir string) (*ObjectStore, error) {
	return openObjectStore(dir, flockAvailable)
}

func openObjectStore(dir string, flock bool) (*ObjectStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: object store directory: %w", ports.ErrStorage, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: object store directory: %w", ports.ErrStorage, err)
	}
	s := &ObjectStore{root: root, flock: flock}
	if flock {
		// The zero time: where a lock cannot decide, no file is old enough.
		if _, err := s.RemoveAbandoned(context.Background(), "", time.Time{}); err != nil {
			root.Close()
			return nil, fmt.Errorf("open object store: %w", err)
		}
	}
	return s, nil
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
	f, tmp, err := s.createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("%w: put %q: create temp file: %w", ports.ErrStorage, key, err)
	}
	defer func() {
		if err != nil {
			// Removed before the close releases the lock, so a sweep never
			// counts it as a dead writer's.
			_ = s.root.Remove(tmp)
			_ = f.Close()
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
	// With flock the file is renamed while still open, so still locked:
	// closed first, it would look like a dead writer's to a sweep until the
	// rename. Without, nothing is lost by closing first, and Windows cannot
	// rename an open file.
	if !s.flock {
		if err := f.Close(); err != nil {
			return fmt.Errorf("%w: put %q: close: %w", ports.ErrStorage, key, err)
		}
	}
	if err := s.root.Rename(tmp, key); err != nil {
		return fmt.Errorf("%w: put %q: rename: %w", ports.ErrStorage, key, err)
	}
	// Sync has already reported any write-back failure, so a failing close
	// cannot mean the renamed object is incomplete.
	_ = f.Close()
	// The rename is durable only once the directory is synced.
	if err := s.syncDir(dir); err != nil {
		return fmt.Errorf("%w: put %q: sync directory: %w", ports.ErrStorage, key, err)
	}
	return nil
}

// createTemp creates and locks the temp file for dir+base. A sweep can open a
// temp file between its creation and its lock, find the lock free and remove
// it; the file is then no longer at its name once locked, and another name is
// tried.
func (s *ObjectStore) createTemp(dir, base string) (*os.File, string, error) {
	for attempt := 1; ; attempt++ {
		suffix := make([]byte, 8)
		_, _ = rand.Read(suffix) // crypto/rand.Read never fails
		tmp := dir + "." + base + "." + hex.EncodeToString(suffix) + ".tmp"
		f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil || !s.flock {
			return f, tmp, err
		}
		locked, err := tryLock(f)
		if err != nil {
			// A file system without flock: unlocked, the file is judged by
			// its age, as on a system without flock.
			return f, tmp, nil
		}
		if locked {
			if held, err := s.root.Lstat(tmp); err == nil {
				if mine, err := f.Stat(); err == nil && os.SameFile(held, mine) {
					return f, tmp, nil
				}
			}
		}
		_ = f.Close()
		if attempt == 3 {
			return nil, "", errors.New("temp file taken by a concurrent sweep three times in a row")
		}
	}
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

// List yields the objects whose keys begin with prefix, in key order (by bytes,
// as S3 orders them: "a-b", "a/c", "a0"). It reads one directory at a time, so
// memory grows with the largest directory, not the store. Temp files, files
// whose names are not valid keys and anything but regular files are skipped.
// Failures wrap ErrStorage; the end of ctx is returned as it is.
func (s *ObjectStore) List(ctx context.Context, prefix string) iter.Seq2[ports.ObjectInfo, error] {
	return func(yield func(ports.ObjectInfo, error) bool) {
		err := s.walk(ctx, "list", prefix, func(dir string, e fs.DirEntry) (bool, error) {
			key := dir + e.Name()
			if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) || validateKey(key) != nil {
				return true, nil
			}
			st, err := e.Info()
			if err != nil {
				return false, fmt.Errorf("%w: list %q: %w", ports.ErrStorage, prefix, err)
			}
			return yield(ports.ObjectInfo{Key: key, SizeBytes: st.Size(), ModTime: st.ModTime()}, nil), nil
		})
		if err != nil {
			yield(ports.ObjectInfo{}, err)
		}
	}
}

// RemoveAbandoned removes the temp files that Puts of keys beginning with prefix
// left when their process was killed, and returns how many it removed. Where
// flock works, a temp file whose lock is free is a dead writer's and is removed
// whatever before says (an empty one only once it is a minute old), and a
// locked one is never touched. Without flock, a temp file is removed only if it
// was last written before before, which only a Put started before then can have
// done.
func (s *ObjectStore) RemoveAbandoned(ctx context.Context, prefix string, before time.Time) (int, error) {
	removed := 0
	err := s.walk(ctx, "remove abandoned temp files under", prefix, func(dir string, e fs.DirEntry) (bool, error) {
		base, ok := tempFileBase(e.Name())
		if !ok || !e.Type().IsRegular() || !strings.HasPrefix(dir+base, prefix) || validateKey(dir+base) != nil {
			return true, nil
		}
		gone, err := s.removeIfAbandoned(dir+e.Name(), before)
		if err != nil {
			return false, fmt.Errorf("%w: remove abandoned temp file %q: %w", ports.ErrStorage, dir+e.Name(), err)
		}
		if gone {
			removed++
		}
		return true, nil
	})
	return removed, err
}

// removeIfAbandoned removes the temp file name if its writer is gone and
// reports whether it did.
func (s *ObjectStore) removeIfAbandoned(name string, before time.Time) (bool, error) {
	if !s.flock {
		return s.removeIfWrittenBefore(name, before)
	}
	f, err := s.root.Open(name)
	if err != nil {
		if isMissing(err) {
			return false, nil // renamed by its finished Put, or removed by its failed one
		}
		return false, err
	}
	// Closed only after the removal: until then the lock keeps a Put that
	// has just created the file from locking it and writing into a file
	// about to be removed.
	defer f.Close()
	locked, err := tryLock(f)
	if err != nil {
		return s.removeIfWrittenBefore(name, before)
	}
	if !locked {
		return false, nil // its writer is alive
	}
	// The lock is free once a Put has closed its file too, after renaming
	// it: whatever is now at the name is no longer the file that was opened.
	mine, err := f.Stat()
	if err != nil {
		return false, err
	}
	held, err := s.root.Lstat(name)
	if err != nil || !os.SameFile(held, mine) {
		return false, nil
	}
	// A Put creates its temp file and then locks it, so a file found
	// between the two is empty, unlocked and new. Removing it would not fail
	// that Put (it would start over under another name) but would count a
	// live writer's file as abandoned; a dead writer's empty file can wait
	// for a later sweep.
	if mine.Size() == 0 && time.Since(mine.ModTime()) < time.Minute {
		return false, nil
	}
	if err := s.root.Remove(name); err != nil && !isMissing(err) {
		return false, err
	}
	return true, nil
}

func (s *ObjectStore) removeIfWrittenBefore(name string, before time.Time) (bool, error) {
	st, err := s.root.Lstat(name)
	if err != nil || !st.Mode().IsRegular() || !st.ModTime().Before(before) {
		return false, nil
	}
	if err := s.root.Remove(name); err != nil {
		if isMissing(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// tempFileBase returns the last segment of the key whose Put a temp file name
// belongs to (".<base>.<16 lowercase hex digits>.tmp"), and whether name has
// that form at all.
func tempFileBase(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, ".")
	rest, ok2 := strings.CutSuffix(rest, ".tmp")
	const suffixLen = 1 + 16 // "." and the random hex digits
	if !ok || !ok2 || len(rest) <= suffixLen || rest[len(rest)-suffixLen] != '.' {
		return "", false
	}
	for _, c := range rest[len(rest)-16:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return rest[:len(rest)-suffixLen], true
}

// walk calls visit for every entry that is not a directory in the directories
// that can hold keys beginning with prefix, with the directory's path (ending
// in "/", or empty at the top), in key order, until visit returns false or an
// error.
func (s *ObjectStore) walk(ctx context.Context, op, prefix string, visit func(dir string, e fs.DirEntry) (bool, error)) error {
	// Every key beginning with prefix begins with its directory part, whose
	// segments are whole segments of the key: if they are not valid, no key
	// can match.
	dir, _ := path.Split(prefix)
	if dir != "" && validateKey(strings.TrimSuffix(dir, "/")) != nil {
		return nil
	}
	_, err := s.walkDir(ctx, op, dir, prefix, visit)
	return err
}

func (s *ObjectStore) walkDir(ctx context.Context, op, dir, prefix string, visit func(string, fs.DirEntry) (bool, error)) (bool, error) {
	entries, err := s.readDir(dir)
	if err != nil {
		if isMissing(err) {
			return true, nil // removed meanwhile, or prefix names an object's "directory"
		}
		return false, fmt.Errorf("%w: %s %q: read directory %q: %w", ports.ErrStorage, op, prefix, dir, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("%s %q: %w", op, prefix, err)
		}
		if !e.IsDir() {
			if more, err := visit(dir, e); !more || err != nil {
				return false, err
			}
			continue
		}
		sub := dir + e.Name() + "/"
		if !strings.HasPrefix(sub, prefix) && !strings.HasPrefix(prefix, sub) || validateKey(dir+e.Name()) != nil {
			continue
		}
		if more, err := s.walkDir(ctx, op, sub, prefix, visit); !more || err != nil {
			return false, err
		}
	}
	return true, nil
}

// readDir returns dir's entries in key order: a directory sorts as its name
// followed by "/", where its keys continue, so "a-b" < "a/c" < "a0".
func (s *ObjectStore) readDir(dir string) ([]fs.DirEntry, error) {
	name := strings.TrimSuffix(dir, "/")
	if name == "" {
		name = "."
	}
	d, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	return entries, nil
}

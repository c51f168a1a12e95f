package server

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/pgzip"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/internal/blockgz"
	"github.com/savepoint-dev/savepoint/internal/exclude"
)

// ArchiveError reports an archive that Extract refused: it breaks a safety rule, or
// it is corrupt. Nothing was written outside the destination and the destination
// was left as it was.
type ArchiveError struct {
	// Entry is the name of the offending entry as written in the archive, or the
	// last entry read when the archive is corrupt after it. Empty when the archive
	// fails before its first entry.
	Entry string
	// Reason says which rule the entry breaks.
	Reason string
}

// Error names the entry and the rule it breaks.
func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return "archive refused: " + e.Reason
	}
	return fmt.Sprintf("archive entry %q refused: %s", e.Entry, e.Reason)
}

// NoSpaceError reports an archive larger than the free space of the destination's
// file system.
type NoSpaceError struct {
	// Need is the total size the archive declares so far, Free what the file system
	// had available when the extraction began.
	Need, Free int64
}

// Error names both sizes.
func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("the archive needs at least %s but the destination has only %s free", formatBytes(e.Need), formatBytes(e.Free))
}

// Extract extracts the gzip-compressed tar read from archive into destination,
// creating destination if needed: `tar -xzf source -C destination` made safe. On
// success destination holds exactly the archive's contents; on any failure it is
// left as it was.
//
// The archive is unpacked into a staging directory inside destination, then swapped
// in with renames. So the destination's file system needs room for the old and the
// new contents at once. Extract keeps no journal: if the process dies mid-way, its
// staging directories stay in destination as ordinary entries. The server's
// ExtractTo records them, and completes or rolls back an interrupted swap when it
// restarts or next extracts into the same directory.
//
// Rules: every write goes through os.Root; names must be local (filepath.IsLocal,
// no ".." components, not absolute); hard links, devices and FIFOs are refused.
// A symbolic link is created as it was archived, wherever it points (only an
// empty target or one with a NUL byte is refused): a link is data, and what must
// never happen is a write through one. So no entry may lie beneath a link, an
// entry that has a link's name replaces the link itself (it is never followed),
// and os.Root refuses to follow a link out of the destination anyway. A link is
// not followed when its directory is swapped in either: renames move the link.
// Permissions are masked to 0777 (setuid, setgid and sticky bits are stripped);
// ownership is ignored; the Limits cap the declared sizes and the entry count, and
// the declared total may not exceed the free space; sparse entries are refused (a
// few hundred bytes can declare gigabytes of holes, and the sidecar never writes
// them). Gzip decompression runs ahead in its own goroutine, pipelined with the file
// writes.
//
// Extract returns an *ArchiveError for a refused or corrupt archive, a
// *NoSpaceError when the archive declares more than the free space, ctx's error when
// cancelled, and file-system errors otherwise.
func Extract(ctx context.Context, archive io.Reader, destination string, limits Limits) error {
	if err := os.MkdirAll(destination, 0o755); err != nil {
		return err
	}
	dest, err := os.OpenRoot(destination)
	if err != nil {
		return err
	}
	defer dest.Close()
	_, err = extractInto(ctx, archive, dest, place{}, limits.withDefaults(), nil, slog.New(slog.DiscardHandler), nil, nil, nil)
	return err
}

// extracted is what an extraction restored.
type extracted struct {
	entries int
	bytes   int64 // the file contents, as the entries declare them
}

// extractInto is Extract into an open destination, at, recording its entities in
// j. verify, when set, runs once the archive is unpacked and before it is swapped
// in: its error fails the extraction like a refused archive, so that a tree from
// bytes that turn out to be wrong never replaces the customer's. keep, when set,
// matches the current paths carried over into the new tree (see carrier), once
// the archive is verified.
func extractInto(ctx context.Context, archive io.Reader, dest *os.Root, at place, limits Limits, j *journal, log *slog.Logger, h *hooks, keep *exclude.Matcher, verify func() error) (extracted, error) {
	var got extracted
	// A refused archive must leave the destination as it was, down to its time,
	// which creating and removing the staging directory would change.
	before, err := dest.Stat(".")
	if err != nil {
		return got, err
	}
	suffix := randomSuffix()
	r := &record{Kind: kindExtract, Root: at.root, Dir: at.dir, DirID: at.id,
		Staging: stagingPrefix + suffix, Old: oldPrefix + suffix, New: newPrefix + suffix}
	if err := j.begin(r); err != nil {
		return got, err
	}
	clean := true
	defer func() {
		if clean {
			j.end(r)
		} else {
			j.abandon(r)
		}
	}()
	if err := dest.Mkdir(r.Staging, 0o700); err != nil {
		return got, err
	}
	stage, err := dest.OpenRoot(r.Staging)
	if err == nil {
		err = recordCreated(dest, j, r, r.Staging)
	}
	if err == nil && h != nil && h.extracting != nil {
		h.extracting()
	}
	if err == nil {
		x := &extractor{ctx: ctx, root: stage, limits: limits, dirs: map[string]bool{}, links: map[string]bool{}, dirIndex: map[string]int{}}
		err = x.run(archive)
		got = extracted{entries: x.entries, bytes: x.total}
	}
	if stage != nil {
		stage.Close()
	}
	if err == nil && verify != nil {
		err = verify()
	}
	own := r.names()
	skip := func(name string) bool { return slices.Contains(own, name) || j.isLive(at.id, name) }
	if err == nil && keep != nil {
		var n int
		n, err = carryOver(ctx, dest, r.Staging, keep, skip, j, log, h)
		if err != nil {
			err = fmt.Errorf("carrying over what the backup left out: %w", err)
		} else {
			log.Info("restore: carried over the paths the backup left out", "paths", n)
		}
	}
	if err != nil {
		if rerr := dest.RemoveAll(r.Staging); rerr != nil {
			log.Error("could not remove the staging directory of a failed extraction", "dir", r.Staging, "error", rerr)
			clean = false
		} else {
			_ = dest.Chtimes(".", time.Time{}, before.ModTime()) // cosmetic: best effort
		}
		return got, err
	}
	if clean, err = swapIn(dest, r, j, skip, log); err != nil {
		return got, err
	}
	clean = discardOld(dest, r, log, h)
	return got, nil
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

// extractor unpacks one archive into an empty staging root. Because only the
// extractor writes there, its maps describe the staging tree exactly: dirs holds every
// directory it created, links every symbolic link, and no entry may be created
// beneath a link. So where an entry lands is where its name says, wherever the
// links it created point.
type extractor struct {
	ctx    context.Context
	root   *os.Root
	limits Limits
	free   int64

	entries  int
	total    int64
	current  string // name of the entry being read, for corruption reports
	dirs     map[string]bool
	links    map[string]bool
	dirMeta  []dirMeta
	dirIndex map[string]int
	buf      []byte

	// lastDir is the directory the previous file was created in. Directories are
	// never replaced or removed during an extraction, so the handle stays right.
	lastDir     *os.Root
	lastDirName string
}

// readAhead is how many members (blockgz.BlockSize each) decompression may run
// ahead of the writes.
const readAhead = 16

// maxTrailing bounds what may follow the end-of-archive marker inside the gzip
// stream (tar pads to its record size; writers with big blocking factors pad more).
const maxTrailing = 64 << 20

func (x *extractor) run(archive io.Reader) error {
	free, err := freeBytes(x.root, ".")
	if err != nil {
		return err
	}
	x.free = free
	defer x.closeDir()
	// Decompression runs on every CPU and up to readAhead blocks ahead of the file
	// writes, so that a run of small files, whose creation is slow, overlaps with
	// decompressing the data behind them.
	gz, err := blockgz.NewReader(archive, readAhead)
	if err != nil {
		return x.corrupt(err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	x.buf = make([]byte, 1<<20)
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return x.corrupt(err)
		}
		x.current = hdr.Name
		x.entries++
		if x.entries > x.limits.MaxEntries {
			return x.reject(hdr.Name, fmt.Sprintf("the archive has more than %d entries, the cap", x.limits.MaxEntries))
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	// The end-of-archive marker is not the end of the gzip stream: read to the end so
	// that its checksum is verified and trailing data is noticed.
	n, err := io.Copy(io.Discard, io.LimitReader(gz, maxTrailing+1))
	if err != nil {
		return x.corrupt(err)
	}
	if n > maxTrailing {
		return x.reject("", "unexpected data after the end of the archive")
	}
	return x.finishDirs()
}

func (x *extractor) reject(entry, reason string) error {
	return &ArchiveError{Entry: entry, Reason: reason}
}

// corrupt reports a read error of the archive itself (gzip or tar framing).
func (x *extractor) corrupt(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	reason := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "the archive is truncated"
	case errors.Is(err, pgzip.ErrChecksum), errors.Is(err, blockgz.ErrChecksum):
		reason = "the archive is corrupt: gzip checksum mismatch"
	case errors.Is(err, pgzip.ErrHeader), errors.Is(err, blockgz.ErrMember), errors.Is(err, tar.ErrHeader):
		reason = "the archive is corrupt: " + reason
	default:
		reason = "the archive cannot be read: " + reason
	}
	if x.current == "" {
		return &ArchiveError{Reason: reason}
	}
	return &ArchiveError{Entry: x.current, Reason: reason + " (in or after this entry)"}
}

func (x *extractor) entry(hdr *tar.Header, tr *tar.Reader) error {
	name, reason := entryName(hdr.Name)
	if reason != "" {
		return x.reject(hdr.Name, reason)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // metadata for the archive, not a file
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the destination itself ("./"): it exists; its mode is not ours to change
		}
		return x.reject(hdr.Name, "the entry names the destination itself")
	}
	if hdr.Typeflag == tar.TypeGNUSparse || isPAXSparse(hdr) {
		// The cheapest decompression bomb: a few hundred bytes declaring gigabytes
		// of holes. The sidecar never writes sparse entries, so no backup has one.
		return x.reject(hdr.Name, fmt.Sprintf("sparse entries are not supported (this one declares %s)", formatBytes(hdr.Size)))
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont:
		return x.file(hdr, name, tr)
	case tar.TypeDir:
		return x.dir(hdr, name)
	case tar.TypeSymlink:
		return x.symlink(hdr, name)
	case tar.TypeLink:
		return x.reject(hdr.Name, "hard links are not allowed")
	case tar.TypeChar, tar.TypeBlock:
		return x.reject(hdr.Name, "device files are not allowed")
	case tar.TypeFifo:
		return x.reject(hdr.Name, "FIFOs are not allowed")
	default:
		return x.reject(hdr.Name, fmt.Sprintf("unsupported entry type %q", hdr.Typeflag))
	}
}

func isPAXSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// entryName validates an archive name and returns it cleaned, slash-separated.
func entryName(raw string) (string, string) {
	switch {
	case raw == "":
		return "", "empty name"
	case strings.IndexByte(raw, 0) >= 0:
		return "", "the name contains a NUL byte"
	case strings.HasPrefix(raw, "/"):
		return "", "absolute names are not allowed"
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", `names with ".." are not allowed`
		}
	}
	name := path.Clean(raw)
	if name != "." && !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", "the name is not local to the destination"
	}
	return name, ""
}

// checkLinkTarget says why a symbolic link with the given target cannot be
// created, or "" if it can. Where it points is not checked: entries are never
// written through a link (see prepareParent and clear).
func checkLinkTarget(target string) string {
	switch {
	case target == "":
		return "the symbolic link has an empty target"
	case strings.IndexByte(target, 0) >= 0:
		return "the symbolic link target contains a NUL byte"
	}
	return ""
}

// prepareParent makes sure the parent directories of name exist and that none of
// them is a symbolic link.
func (x *extractor) prepareParent(hdr *tar.Header, name string) error {
	dir := path.Dir(name)
	if dir == "." || x.dirs[dir] {
		return nil
	}
	for p := dir; p != "."; p = path.Dir(p) {
		if x.links[p] {
			return x.reject(hdr.Name, fmt.Sprintf("the entry lies beneath the symbolic link %q", p))
		}
	}
	if err := x.root.MkdirAll(dir, 0o755); err != nil {
		return x.writeError(hdr, err)
	}
	for p := dir; p != "." && !x.dirs[p]; p = path.Dir(p) {
		x.dirs[p] = true
	}
	return nil
}

// clear removes what an earlier entry of the same name left, as tar does when a
// name repeats; a directory is never replaced by something else. A link is
// removed itself, never followed, so a file entry with a link's name cannot write
// where the link points.
func (x *extractor) clear(hdr *tar.Header, name string) error {
	info, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return x.writeError(hdr, err)
	}
	if info.IsDir() {
		return x.reject(hdr.Name, "the entry would replace a directory")
	}
	delete(x.links, name)
	if err := x.root.Remove(name); err != nil {
		return x.writeError(hdr, err)
	}
	return nil
}

// writeError names the entry whose write failed. Running out of space is reported
// as such; other failures mean the entry cannot exist here (a name too long, a
// parent that is a file) and refuse the archive.
func (x *extractor) writeError(hdr *tar.Header, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isNoSpace(err) {
		return fmt.Errorf("writing entry %q: %w", hdr.Name, err)
	}
	var pe *fs.PathError
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return x.reject(hdr.Name, "cannot create it: "+msg)
}

func (x *extractor) count(hdr *tar.Header) error {
	if hdr.Size > x.limits.MaxEntryBytes {
		return x.reject(hdr.Name, fmt.Sprintf("it declares %s, over the per-entry cap of %s", formatBytes(hdr.Size), formatBytes(x.limits.MaxEntryBytes)))
	}
	x.total += hdr.Size
	if x.total > x.limits.MaxTotalBytes {
		return x.reject(hdr.Name, fmt.Sprintf("it brings the archive to %s, over the cap of %s", formatBytes(x.total), formatBytes(x.limits.MaxTotalBytes)))
	}
	if x.total > x.free {
		return &NoSpaceError{Need: x.total, Free: x.free}
	}
	return nil
}

func (x *extractor) file(hdr *tar.Header, name string, tr *tar.Reader) error {
	if err := x.count(hdr); err != nil {
		return err
	}
	if err := x.prepareParent(hdr, name); err != nil {
		return err
	}
	f, err := x.create(name)
	if errors.Is(err, fs.ErrExist) {
		if err := x.clear(hdr, name); err != nil {
			return err
		}
		f, err = x.create(name)
	}
	if err != nil {
		return x.writeError(hdr, err)
	}
	if err := x.copy(hdr, f, tr); err != nil {
		f.Close()
		return err
	}
	// Set the mode on the open file: exact (no umask) and immune to the name being
	// swapped for a link.
	if err := f.Chmod(hdr.FileInfo().Mode().Perm()); err != nil {
		f.Close()
		return x.writeError(hdr, err)
	}
	if err := setModTime(f, hdr.ModTime); err != nil {
		f.Close()
		return x.writeError(hdr, err)
	}
	if err := f.Close(); err != nil {
		return x.writeError(hdr, err)
	}
	return nil
}

// create creates a new file, through a handle on its directory that is kept while
// entries of the same directory follow one another (archives list directories
// together): one openat per file instead of one per path component.
func (x *extractor) create(name string) (*os.File, error) {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return x.root.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if x.lastDir == nil || x.lastDirName != dir {
		d, err := x.root.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		x.closeDir()
		x.lastDir, x.lastDirName = d, dir
	}
	return x.lastDir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (x *extractor) closeDir() {
	if x.lastDir != nil {
		x.lastDir.Close()
		x.lastDir = nil
	}
}

func (x *extractor) copy(hdr *tar.Header, f *os.File, tr *tar.Reader) error {
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		// Fill the buffer before writing: fewer, larger writes. (io.ReadFull would
		// blur a truncated archive into a short final read.)
		n := 0
		var rerr error
		for n < len(x.buf) && rerr == nil {
			var k int
			k, rerr = tr.Read(x.buf[n:])
			n += k
		}
		if n > 0 {
			if _, err := f.Write(x.buf[:n]); err != nil {
				return x.writeError(hdr, err)
			}
		}
		switch rerr {
		case nil:
		case io.EOF:
			return nil
		default:
			return x.corrupt(rerr)
		}
	}
}

func (x *extractor) dir(hdr *tar.Header, name string) error {
	if err := x.prepareParent(hdr, name); err != nil {
		return err
	}
	if !x.dirs[name] {
		if err := x.clear(hdr, name); err != nil {
			return err
		}
		// Owner-writable until finishDirs, whatever the archive says, so that the
		// directory's contents can be written.
		if err := x.root.Mkdir(name, 0o700); err != nil {
			return x.writeError(hdr, err)
		}
		x.dirs[name] = true
	}
	meta := dirMeta{name: name, mode: hdr.FileInfo().Mode().Perm(), mtime: hdr.ModTime}
	if i, ok := x.dirIndex[name]; ok {
		x.dirMeta[i] = meta // a repeated entry: the last one wins, as in tar
	} else {
		x.dirIndex[name] = len(x.dirMeta)
		x.dirMeta = append(x.dirMeta, meta)
	}
	return nil
}

func (x *extractor) symlink(hdr *tar.Header, name string) error {
	if reason := checkLinkTarget(hdr.Linkname); reason != "" {
		return x.reject(hdr.Name, reason)
	}
	if err := x.prepareParent(hdr, name); err != nil {
		return err
	}
	if x.dirs[name] {
		return x.reject(hdr.Name, "the entry would replace a directory")
	}
	if err := x.clear(hdr, name); err != nil {
		return err
	}
	if err := x.root.Symlink(hdr.Linkname, name); err != nil {
		return x.writeError(hdr, err)
	}
	x.links[name] = true
	return nil
}

// finishDirs gives directories their archived modes and times, last: creating their
// contents would change the times, and a read-only mode would stop the writes.
func (x *extractor) finishDirs() error { return setDirMeta(x.root, x.dirMeta) }

// setDirMeta gives the directories of dirs, in root, their modes and times (a
// zero time leaves it), in reverse order, which puts children before their
// parents when dirs lists them top-down.
func setDirMeta(root *os.Root, dirs []dirMeta) error {
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := root.Chmod(d.name, d.mode); err != nil {
			return err
		}
		if !d.mtime.IsZero() {
			if err := root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
				return err
			}
		}
	}
	return nil
}

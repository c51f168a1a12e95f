package server

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/internal/blockgz"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/exclude"
)

// archiveSource is one source of an archive, opened: either a directory whose
// contents are archived relative to it, or a single regular file.
type archiveSource struct {
	loc  location
	root *os.Root // the source directory itself, or the directory holding the file
	file string   // the file's base name when the source is a regular file
	// match, when not nil, says which paths of a directory source the archive
	// leaves out; the walks never descend into a directory it excludes.
	match *exclude.Matcher
}

// openSources validates and opens the sources. The caller closes the roots.
func openSources(roots []string, paths []string) ([]archiveSource, error) {
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no sources")
	}
	var out []archiveSource
	fail := func(err error) ([]archiveSource, error) {
		closeSources(out)
		return nil, err
	}
	for _, p := range paths {
		loc, err := locate(roots, p)
		if err != nil {
			return fail(err)
		}
		top, err := openRoot(loc)
		if err != nil {
			return fail(err)
		}
		info, err := top.Stat(loc.rel)
		if err != nil {
			top.Close()
			return fail(fsStatus(err, loc.path))
		}
		src := archiveSource{loc: loc}
		switch {
		case info.IsDir():
			src.root, err = top.OpenRoot(loc.rel)
		case info.Mode().IsRegular():
			src.file = filepath.Base(loc.rel)
			src.root, err = top.OpenRoot(filepath.Dir(loc.rel))
		default:
			err = status.Errorf(codes.InvalidArgument, "source %s is neither a directory nor a regular file", loc.path)
		}
		top.Close()
		if err != nil {
			return fail(fsStatus(err, loc.path))
		}
		out = append(out, src)
	}
	return out, nil
}

func closeSources(srcs []archiveSource) {
	for _, s := range srcs {
		s.root.Close()
	}
}

// sourceError is a failure to read a source that the archive cannot skip past (a
// file that fails mid-read after its header was written, a source directory that
// cannot be listed). It names the source path, not the archive's output.
type sourceError struct {
	path string
	err  error
}

func (e *sourceError) Error() string { return e.path + ": " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// archiver writes sources as a tar stream.
type archiver struct {
	ctx     context.Context
	tw      *tar.Writer
	buf     []byte
	log     *slog.Logger
	journal *journal
	report  archiveReport
	// done counts the bytes of file contents archived so far, for the progress
	// other goroutines report; nil when nobody reports it.
	done *atomic.Int64
	// opened is called once a file's header is written, before its content is
	// read; tests change the file there.
	opened func(name string, f *os.File)
}

// writeArchive writes a gzip-compressed tar of srcs to w, compressing on every
// CPU in independent members (see package blockgz). It leaves out the entities
// that j says calls running now are writing (a file being uploaded, an extraction's
// staging, the archive itself when its output lies in a source), and nothing
// else. It returns what the archive holds and skipped. Errors reading a source
// are *sourceError; any other error comes from w.
//
// done, when not nil, counts the bytes of file contents archived so far. read,
// when not nil, is called once every file has been read, before the last
// blocks are compressed and written: a paused game may write again from then.
func writeArchive(ctx context.Context, w io.Writer, srcs []archiveSource, level int, j *journal, log *slog.Logger, h *hooks, done *atomic.Int64, read func()) (archiveReport, error) {
	gz, err := blockgz.NewWriter(w, level)
	if err != nil {
		return archiveReport{}, err
	}
	a := &archiver{ctx: ctx, tw: tar.NewWriter(gz), buf: make([]byte, 1<<20), log: log, journal: j, done: done}
	if h != nil {
		a.opened = h.fileOpened
	}
	for _, src := range srcs {
		if src.file != "" {
			err = a.addFile(src, src.file, src.file)
		} else {
			err = a.addDir(src, ".", nil)
		}
		if err != nil {
			gz.Close()
			return a.report, err
		}
	}
	// Every file is read: what is left is compressing and writing the last
	// blocks, which the game's own writes can no longer disturb.
	if read != nil {
		read()
	}
	if err := a.tw.Close(); err != nil {
		gz.Close()
		return a.report, err
	}
	for _, src := range srcs {
		if n := src.match.Overruns(); n > 0 {
			log.Warn("archive: matching exclude patterns took too long for some paths, which were archived", "source", src.loc.path, "paths", n)
		}
	}
	return a.report, gz.Close()
}

// skip records that the entry rel of src is not in the archive faithfully.
func (a *archiver) skip(src archiveSource, rel, reason string) {
	if a.report.count < ports.MaxSkippedListed {
		a.log.Warn("archive: skipping a file", "path", filepath.Join(src.loc.path, rel), "reason", reason)
	}
	a.report.skip(rel, reason)
}

// addDir archives the directory rel of src (its header, unless it is the source
// itself, and its contents), sorted by name so that the same tree always gives
// the same archive. A directory that cannot be opened for lack of permission is
// skipped whole: the source itself then fails the archive, as nothing of it can be
// read.
func (a *archiver) addDir(src archiveSource, rel string, info fs.FileInfo) error {
	d, err := src.root.Open(rel)
	switch {
	case err == nil:
	case rel != "." && errors.Is(err, fs.ErrNotExist):
		return nil // removed while we archive: nothing to keep
	case rel != "." && errors.Is(err, fs.ErrPermission):
		a.skip(src, rel, reasonPermission)
		return nil
	default:
		return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
	}
	entries, err := d.ReadDir(-1)
	if err == nil {
		entries = withoutLive(a.journal, d, entries)
	}
	d.Close()
	if err != nil {
		return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
	}
	if rel != "." {
		if err := a.header(info, rel+"/", tar.TypeDir, "", 0); err != nil {
			return err
		}
	}
	slices.SortFunc(entries, func(x, y fs.DirEntry) int { return strings.Compare(x.Name(), y.Name()) })
	for _, e := range entries {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		name := path.Join(rel, e.Name())
		if src.match != nil && src.match.Match(name, e.IsDir()) {
			continue // excluded: a directory is not even opened
		}
		if err := a.addEntry(src, name, e); err != nil {
			return err
		}
	}
	return nil
}

// withoutLive drops from the listing of d the entities of calls running now. Names
// are looked up first: d's identity is needed only when one matches.
func withoutLive(j *journal, d *os.File, entries []fs.DirEntry) []fs.DirEntry {
	var dir *fileID
	out := entries[:0]
	for _, e := range entries {
		if j.liveName(e.Name()) {
			if dir == nil {
				dir = &fileID{}
				if info, err := d.Stat(); err == nil {
					*dir = fileIDOf(info)
				}
			}
			if j.isLive(*dir, e.Name()) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// addEntry archives one entry of a directory listing.
func (a *archiver) addEntry(src archiveSource, rel string, e fs.DirEntry) error {
	switch t := e.Type(); {
	case t.IsDir():
		info, err := e.Info()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case errors.Is(err, fs.ErrPermission):
			a.skip(src, rel, reasonPermission)
			return nil
		case err != nil:
			return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
		}
		return a.addDir(src, rel, info)
	case t&fs.ModeSymlink != 0:
		return a.addSymlink(src, rel)
	case t.IsRegular():
		return a.addFile(src, rel, rel)
	default:
		a.skip(src, rel, specialReason(t))
		return nil
	}
}

func (a *archiver) header(info fs.FileInfo, name string, typ byte, link string, size int64) error {
	uid, gid := owner(info)
	a.report.entries++
	return a.tw.WriteHeader(&tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: link,
		Size:     size,
		Mode:     int64(info.Mode().Perm()),
		Uid:      uid,
		Gid:      gid,
		ModTime:  info.ModTime().Truncate(time.Second),
	})
}

// addSymlink stores a link as a link, with its target exactly as it is, wherever
// it points: game servers link to shared mod folders and into other volumes, and
// a restore must bring those links back. A link is data; extraction makes sure
// nothing is ever written through one.
func (a *archiver) addSymlink(src archiveSource, rel string) error {
	target, err := src.root.Readlink(rel)
	if err == nil {
		var info fs.FileInfo
		if info, err = src.root.Lstat(rel); err == nil {
			return a.header(info, rel, tar.TypeSymlink, target, 0)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed while we archive: nothing to keep
	case errors.Is(err, fs.ErrPermission):
		a.skip(src, rel, reasonPermission)
		return nil
	}
	return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
}

// addFile archives a regular file. It checks the opened file is still a regular
// file, so one swapped for a FIFO or device while the directory was read is
// skipped rather than blocked on; one swapped for a link is followed by os.Root
// only within the source. A file that shrinks while being read is padded with
// zeros to the size in its header, as GNU tar does (tar needs the declared size),
// and one that grows is cut at that size; both, and one whose time changed, are
// reported: their copies cannot be trusted.
func (a *archiver) addFile(src archiveSource, rel, name string) error {
	f, err := src.root.OpenFile(rel, os.O_RDONLY|openNonblock, 0)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed while we archive: nothing to keep
	case errors.Is(err, fs.ErrPermission):
		a.skip(src, name, reasonPermission)
		return nil
	case isEscape(err):
		a.skip(src, name, reasonChanged) // swapped for a link out of the source meanwhile
		return nil
	case errors.Is(err, syscall.ENXIO):
		a.skip(src, name, reasonSocket) // swapped for a socket meanwhile
		return nil
	default:
		return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return &sourceError{path: filepath.Join(src.loc.path, rel), err: err}
	}
	if !info.Mode().IsRegular() {
		a.skip(src, name, specialReason(info.Mode()))
		return nil
	}
	size := info.Size()
	if err := a.header(info, name, tar.TypeReg, "", size); err != nil {
		return err
	}
	if a.opened != nil {
		a.opened(name, f)
	}
	path := filepath.Join(src.loc.path, rel)
	n, err := io.CopyBuffer(a.tw, io.LimitReader(sourceReader{a.ctx, f, path, a.done}, size), a.buf)
	a.report.bytes += size
	if a.done != nil {
		// Exact once the file is done, whatever its reads added up to: padded
		// or cut, it counts with the size its header declares.
		defer a.done.Store(a.report.bytes)
	}
	if err != nil {
		return err
	}
	if n < size {
		clear(a.buf)
		for n < size {
			k := min(int64(len(a.buf)), size-n)
			if _, err := a.tw.Write(a.buf[:k]); err != nil {
				return err
			}
			n += k
		}
		a.skip(src, name, reasonShrank)
		return nil
	}
	if after, err := f.Stat(); err != nil || after.Size() != size || !after.ModTime().Equal(info.ModTime()) {
		a.skip(src, name, reasonChanged)
	}
	return nil
}

// sourceReader reads a source file, stopping a long copy when the call is
// cancelled, between two reads. Its errors name the file, so that a failed copy
// is not blamed on the archive's output.
type sourceReader struct {
	ctx  context.Context
	r    io.Reader
	path string
	done *atomic.Int64 // nil, or counts the bytes read
}

func (s sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if s.done != nil {
		s.done.Add(int64(n))
	}
	if err != nil && err != io.EOF {
		err = &sourceError{path: s.path, err: err}
	}
	return n, err
}

package sidecar

import (
	"archive/tar"
	"context"
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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// reservedPrefix starts the names of the server's own temporary files and staging
// directories. Archives never include such names, so a backup taken while a restore
// or upload is staged does not capture half-written data.
const reservedPrefix = ".savepoint-"

func reserved(name string) bool { return strings.HasPrefix(name, reservedPrefix) }

// archiveSource is one source of an archive, opened: either a directory whose
// contents are archived relative to it, or a single regular file.
type archiveSource struct {
	loc  location
	root *os.Root // the source directory itself, or the directory holding the file
	file string   // the file's base name when the source is a regular file
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

// archiveStats counts what went into an archive.
type archiveStats struct {
	Entries int
	Bytes   int64 // file contents before compression
	Skipped int   // sockets, devices, FIFOs and links that could not be restored
}

// archiver writes sources as a tar stream.
type archiver struct {
	ctx     context.Context
	tw      *tar.Writer
	buf     []byte
	exclude string // absolute path of the archive being written, if inside a source
	log     *slog.Logger
	stats   archiveStats
}

// writeArchive writes a gzip-compressed tar of srcs to w, compressing on every
// CPU in independent members (see blockGzipWriter). exclude
// is the absolute path of the output, which is left out if it lies in a source.
func writeArchive(ctx context.Context, w io.Writer, srcs []archiveSource, level int, exclude string, log *slog.Logger) (archiveStats, error) {
	gz, err := newBlockGzipWriter(w, level)
	if err != nil {
		return archiveStats{}, err
	}
	a := &archiver{ctx: ctx, tw: tar.NewWriter(gz), buf: make([]byte, 1<<20), exclude: exclude, log: log}
	for _, src := range srcs {
		if src.file != "" {
			err = a.addFile(src, src.file, src.file)
		} else {
			err = a.addDir(src, ".")
		}
		if err != nil {
			gz.Close()
			return a.stats, err
		}
	}
	if err := a.tw.Close(); err != nil {
		gz.Close()
		return a.stats, err
	}
	return a.stats, gz.Close()
}

// addDir archives the contents of dir (relative to the source root), sorted by name
// so that the same tree always gives the same archive.
func (a *archiver) addDir(src archiveSource, dir string) error {
	d, err := src.root.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", filepath.Join(src.loc.path, dir), err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", filepath.Join(src.loc.path, dir), err)
	}
	slices.SortFunc(entries, func(x, y fs.DirEntry) int { return strings.Compare(x.Name(), y.Name()) })
	for _, e := range entries {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		if reserved(e.Name()) {
			continue
		}
		rel := path.Join(dir, e.Name())
		if filepath.Join(src.loc.path, rel) == a.exclude {
			continue
		}
		switch t := e.Type(); {
		case t.IsDir():
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed while we archive: nothing to keep
				}
				return err
			}
			if err := a.header(info, rel+"/", tar.TypeDir, ""); err != nil {
				return err
			}
			if err := a.addDir(src, rel); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0:
			if err := a.addSymlink(src, rel); err != nil {
				return err
			}
		case t.IsRegular():
			if err := a.addFile(src, rel, rel); err != nil {
				return err
			}
		default:
			a.stats.Skipped++
			a.log.Debug("skipping special file", "path", filepath.Join(src.loc.path, rel), "type", t.String())
		}
	}
	return nil
}

func (a *archiver) header(info fs.FileInfo, name string, typ byte, link string) error {
	uid, gid := owner(info)
	a.stats.Entries++
	return a.tw.WriteHeader(&tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: link,
		Mode:     int64(info.Mode().Perm()),
		Uid:      uid,
		Gid:      gid,
		ModTime:  info.ModTime().Truncate(time.Second),
	})
}

// addSymlink stores a link as a link. Links that extraction would refuse (they point
// outside the source) are left out rather than making the whole backup impossible
// to restore; an absolute link into the source is stored relative.
func (a *archiver) addSymlink(src archiveSource, rel string) error {
	target, err := src.root.Readlink(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if filepath.IsAbs(target) {
		if inside, err := filepath.Rel(src.loc.path, filepath.Clean(target)); err == nil && (inside == "." || filepath.IsLocal(inside)) {
			target, _ = filepath.Rel(filepath.Join(src.loc.path, path.Dir(rel)), filepath.Clean(target))
		}
	}
	if reason := checkLinkTarget(rel, target); reason != "" {
		a.stats.Skipped++
		a.log.Warn("leaving a symbolic link out of the archive: it could not be restored", "path", filepath.Join(src.loc.path, rel), "target", target, "reason", reason)
		return nil
	}
	info, err := src.root.Lstat(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return a.header(info, rel, tar.TypeSymlink, target)
}

// addFile archives a regular file. It checks the opened file is still a regular file,
// so one swapped for a FIFO or device while the directory was read is skipped rather
// than blocked on; one swapped for a link is followed by os.Root only within the
// source. A file that
// shrinks while being read is padded with zeros to the size in its header, as GNU
// tar does; one that grows is cut at that size.
func (a *archiver) addFile(src archiveSource, rel, name string) error {
	f, err := src.root.OpenFile(rel, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we archive: nothing to keep
		}
		if isEscape(err) {
			a.stats.Skipped++ // swapped for a link out of the source meanwhile
			return nil
		}
		return fmt.Errorf("open %s: %w", filepath.Join(src.loc.path, rel), err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		a.stats.Skipped++
		return nil
	}
	uid, gid := owner(info)
	size := info.Size()
	a.stats.Entries++
	if err := a.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     int64(info.Mode().Perm()),
		Uid:      uid,
		Gid:      gid,
		ModTime:  info.ModTime().Truncate(time.Second),
	}); err != nil {
		return err
	}
	n, err := io.CopyBuffer(a.tw, io.LimitReader(ctxReader{a.ctx, f}, size), a.buf)
	a.stats.Bytes += n
	if err != nil {
		return fmt.Errorf("archive %s: %w", filepath.Join(src.loc.path, rel), err)
	}
	if n < size {
		a.log.Warn("file shrank while it was archived; padding with zeros", "path", filepath.Join(src.loc.path, rel), "expected", size, "read", n)
		clear(a.buf)
		for n < size {
			k := min(int64(len(a.buf)), size-n)
			if _, err := a.tw.Write(a.buf[:k]); err != nil {
				return err
			}
			n += k
		}
	}
	return nil
}

// ctxReader stops a long copy when the call is cancelled, between two reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

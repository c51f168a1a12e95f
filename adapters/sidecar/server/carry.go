package server

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"

	"github.com/savepoint-dev/savepoint/internal/exclude"
)

// carrier carries over, into an extraction's staging directory, the paths of
// the destination's current contents that a restore keeps: what the backup
// left out (logs, caches) survives the restore, since the swap replaces the
// whole directory.
//
// Files are hard-linked into the staging directory (the same file system, as
// it lies in the destination), so carrying a large file costs nothing and the
// current contents are never modified; a file that cannot be linked is
// copied. Directories are created anew and carried whole: what is inside a
// kept directory is kept, with no pattern consulted, as nothing inside an
// excluded directory was archived. Links are created again as links.
//
// Where the archive holds a path that a keep pattern matches too (it was made
// with other patterns), the current one wins: the restore promises to carry
// over what the patterns match, and the archive's copy would be the stale one.
// Likewise a file or link of the archive where a kept path needs a directory is
// replaced by that directory.
//
// Everything happens inside the staging directory: a failure leaves the
// destination as it was, and the extraction removes the staging directory.
type carrier struct {
	ctx     context.Context
	dest    *os.Root
	staging string // relative to dest
	keep    *exclude.Matcher
	j       *journal
	log     *slog.Logger
	h       *hooks
	buf     []byte
	carried int
	// fixes are the staging directories whose mode and time to set once
	// everything is carried, in the order they were first touched: parents
	// before their children.
	fixes []dirMeta
	fixed map[string]bool
}

// carryOver carries into r's staging directory the paths of dest that keep
// matches. skip names the entries of dest that are not its contents (the
// extraction's own, other calls' live ones).
func carryOver(ctx context.Context, dest *os.Root, staging string, keep *exclude.Matcher, skip func(string) bool, j *journal, log *slog.Logger, h *hooks) (int, error) {
	c := &carrier{ctx: ctx, dest: dest, staging: staging, keep: keep, j: j, log: log, h: h, fixed: map[string]bool{}}
	if err := c.walk(".", skip); err != nil {
		return c.carried, err
	}
	// Only now: writing into a directory changes its time, and a read-only
	// mode would have stopped the writes.
	return c.carried, setDirMeta(c.dest, c.fixes)
}

// walk decides, top-down, which entries of the current directory rel are kept,
// carrying those and descending into the others.
func (c *carrier) walk(rel string, skip func(string) bool) error {
	entries, err := c.list(rel)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if skip != nil && skip(e.Name()) {
			continue
		}
		name := path.Join(rel, e.Name())
		// A path the patterns cannot decide within the budget was archived
		// (the archive reads it as not excluded), so it is the backup's to
		// restore: not kept, as at archive time.
		switch {
		case c.keep.Match(name, e.IsDir()):
			if err := c.carryKept(name); err != nil {
				return err
			}
		case e.IsDir():
			if err := c.walk(name, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// carryKept carries the kept path name, making room for it in the staging
// directory.
func (c *carrier) carryKept(name string) error {
	if c.h != nil && c.h.carrying != nil {
		if err := c.h.carrying(name); err != nil {
			return err
		}
	}
	if err := c.parent(name); err != nil {
		return err
	}
	to := path.Join(c.staging, name)
	if _, err := c.dest.Lstat(to); err == nil {
		c.log.Warn("restore: the archive holds a path the backup's patterns exclude; the current one is kept", "path", name)
		if err := c.dest.RemoveAll(to); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.carry(name)
}

// parent makes sure the directories on the way to name exist in the staging
// directory as directories, writable until finish.
func (c *carrier) parent(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil // the staging directory itself: its entries are what moves
	}
	if err := c.parent(dir); err != nil {
		return err
	}
	to := path.Join(c.staging, dir)
	info, err := c.dest.Lstat(to)
	switch {
	case err == nil && info.IsDir():
		return c.touch(to)
	case err == nil:
		// The archive has a file or link where the kept path needs a directory.
		if err := c.dest.Remove(to); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	cur, err := c.dest.Lstat(dir)
	if err != nil {
		return err
	}
	if err := c.dest.Mkdir(to, 0o700); err != nil {
		return err
	}
	c.fix(to, cur)
	return nil
}

// touch makes the staging directory to, an archive's directory, writable until
// finish gives it back its mode and time.
func (c *carrier) touch(to string) error {
	if c.fixed[to] {
		return nil
	}
	info, err := c.dest.Lstat(to)
	if err != nil {
		return err
	}
	c.fix(to, info)
	if info.Mode().Perm()&0o700 != 0o700 {
		return c.dest.Chmod(to, info.Mode().Perm()|0o700)
	}
	return nil
}

func (c *carrier) fix(to string, info fs.FileInfo) {
	c.fixed[to] = true
	c.fixes = append(c.fixes, dirMeta{name: to, mode: info.Mode().Perm(), mtime: info.ModTime()})
}

// carry carries name, whatever it is, into the same place in the staging
// directory, where nothing is.
func (c *carrier) carry(name string) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	to := path.Join(c.staging, name)
	info, err := c.dest.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone meanwhile: nothing to keep
	}
	if err != nil {
		return err
	}
	c.carried++
	switch {
	case info.IsDir():
		return c.carryDir(name, to, info)
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := c.dest.Readlink(name)
		if err != nil {
			return err
		}
		return c.dest.Symlink(target, to)
	}
	lerr := c.dest.Link(name, to)
	if lerr == nil {
		return nil
	}
	if !info.Mode().IsRegular() {
		// A socket or FIFO that cannot be linked is the game's running state, not
		// data: it is made again when the game starts.
		c.log.Warn("restore: could not carry over a special file", "path", name, "error", lerr)
		c.carried--
		return nil
	}
	return c.copyFile(name, to, info)
}

// list reads the directory rel of dest, without the entities of calls
// running now.
func (c *carrier) list(rel string) ([]fs.DirEntry, error) {
	d, err := c.dest.Open(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	return withoutLive(c.j, d, entries), nil
}

// carryDir carries a kept directory whole.
func (c *carrier) carryDir(name, to string, info fs.FileInfo) error {
	if err := c.dest.Mkdir(to, 0o700); err != nil {
		return err
	}
	c.fix(to, info)
	entries, err := c.list(name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := c.carry(path.Join(name, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies a regular file that could not be linked, with its mode and
// time.
func (c *carrier) copyFile(name, to string, info fs.FileInfo) error {
	in, err := c.dest.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.dest.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	_, err = io.CopyBuffer(out, sourceReader{ctx: c.ctx, r: in, path: name}, c.buf)
	if err == nil {
		err = out.Chmod(info.Mode().Perm())
	}
	if err == nil {
		err = setModTime(out, info.ModTime())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

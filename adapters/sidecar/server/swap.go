package server

import (
	"fmt"
	"log/slog"
	"os"
	"path"
)

// The names of an extraction's entities in its destination D, all directly inside D
// and sharing one random suffix X:
//
//	.savepoint-restore-X  the staging directory the archive is unpacked into
//	.savepoint-old-X      D's previous entries, moved aside during the swap
//	.savepoint-new-X      the staging directory once every old entry is aside: its
//	                      existence marks the point after which the swap is completed
//	                      rather than rolled back
//
// and .savepoint-tmp-X is a file being written (WriteFile, CompressFiles). The
// names only make leftovers recognisable to people: what makes an entity the
// server's is its journal entry (see journal.go), and a customer's file with such
// a name is data like any other.
const (
	stagingPrefix = ".savepoint-restore-"
	oldPrefix     = ".savepoint-old-"
	newPrefix     = ".savepoint-new-"
	tmpPrefix     = ".savepoint-tmp-"
)

// swapIn replaces the entries of dest by those of r's staging directory. It only
// renames within one directory, so it is quick whatever the sizes, and on failure
// it puts everything back. Every entry of dest moves, whatever its name, except
// r's own directories and the live entities of other calls (skip). On success
// the previous entries are left in r.Old and the emptied staging directory as
// r.New, for discardOld; on failure it reports whether it left none of r's
// entities behind.
func swapIn(dest *os.Root, r *record, j *journal, skip func(string) bool, log *slog.Logger) (clean bool, err error) {
	staging, old, fresh := r.Staging, r.Old, r.New
	rollBack := func(cause error) (bool, error) {
		if err := restoreOld(dest, old); err != nil {
			log.Error("could not roll back a failed swap; it is retried when the server restarts", "error", err)
			return false, fmt.Errorf("swapping the extracted files in: %w (and rolling back: %w)", cause, err)
		}
		if err := dest.RemoveAll(staging); err != nil {
			log.Warn("could not remove a staging directory", "dir", staging, "error", err)
			return false, fmt.Errorf("swapping the extracted files in: %w", cause)
		}
		return true, fmt.Errorf("swapping the extracted files in: %w", cause)
	}

	if err := dest.Mkdir(old, 0o700); err != nil {
		return dest.RemoveAll(staging) == nil, fmt.Errorf("swapping the extracted files in: %w", err)
	}
	if err := recordCreated(dest, j, r, old); err != nil {
		dest.Remove(old)
		return dest.RemoveAll(staging) == nil, fmt.Errorf("swapping the extracted files in: %w", err)
	}
	current, err := listEntries(dest, ".", skip)
	if err != nil {
		return rollBack(err)
	}
	for _, name := range current {
		if err := dest.Rename(name, path.Join(old, name)); err != nil {
			return rollBack(err)
		}
	}
	// The commit point: from here on a crash completes the swap.
	if err := dest.Rename(staging, fresh); err != nil {
		return rollBack(err)
	}
	if err := moveAll(dest, fresh, ".", nil); err != nil {
		// Undo: the new entries go back to staging, the old ones come back.
		if uerr := moveAll(dest, ".", fresh, skip); uerr == nil {
			if uerr = dest.Rename(fresh, staging); uerr == nil {
				return rollBack(err)
			}
		}
		log.Error("could not roll back a failed swap; it is completed when the server restarts", "error", err)
		return false, fmt.Errorf("swapping the extracted files in: %w", err)
	}
	return true, nil
}

// discardOld removes what a completed swap of r moved aside, then the emptied
// staging directory, in that order: the staging directory's existence is what
// tells recovery that the swap completed. Removed first, a crash while the
// previous contents go (seconds, for a large world) would leave recovery
// seeing only them, and rolling them back over the restored files. It reports
// whether it left none of r's entities behind.
func discardOld(dest *os.Root, r *record, log *slog.Logger, h *hooks) (clean bool) {
	clean = true
	if h != nil && h.discarding != nil {
		h.discarding(r)
	}
	if err := removeTree(dest, r.Old); err != nil {
		log.Warn("could not remove the previous contents after a restore", "dir", r.Old, "error", err)
		clean = false
	}
	if err := dest.Remove(r.New); err != nil {
		log.Warn("could not remove an empty staging directory", "dir", r.New, "error", err)
		clean = false
	}
	return clean
}

// recordCreated records in r the identity of its entity name, just created in
// dir.
func recordCreated(dir *os.Root, j *journal, r *record, name string) error {
	info, err := dir.Lstat(name)
	if err != nil {
		return err
	}
	return j.created(r, name, fileIDOf(info))
}

// restoreOld moves D's previous entries back from old and removes old.
func restoreOld(dest *os.Root, old string) error {
	if err := moveAll(dest, old, ".", nil); err != nil {
		return err
	}
	return dest.Remove(old)
}

// moveAll renames every entry of from into to (both relative to dest), except
// those skip names. It continues past a failure so that as much as possible is
// moved, and reports the first error.
func moveAll(dest *os.Root, from, to string, skip func(string) bool) error {
	names, err := listEntries(dest, from, skip)
	if err != nil {
		return err
	}
	var first error
	for _, name := range names {
		if err := dest.Rename(path.Join(from, name), path.Join(to, name)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// listEntries lists the names in dir (relative to dest), except those skip names
// (when skip is not nil).
func listEntries(dest *os.Root, dir string, skip func(string) bool) ([]string, error) {
	d, err := dest.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	if skip == nil {
		return names, nil
	}
	out := names[:0]
	for _, n := range names {
		if !skip(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

package sidecar

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
)

// The reserved names of an extraction into a destination D, all directly inside D
// and sharing one random suffix X:
//
//	.savepoint-restore-X  the staging directory the archive is unpacked into
//	.savepoint-old-X      D's previous entries, moved aside during the swap
//	.savepoint-new-X      the staging directory once every old entry is aside: its
//	                      existence marks the point after which the swap is completed
//	                      rather than rolled back
//
// and .savepoint-tmp-* is a file being written (WriteFile, CompressFiles).
const (
	stagingPrefix = reservedPrefix + "restore-"
	oldPrefix     = reservedPrefix + "old-"
	newPrefix     = reservedPrefix + "new-"
	tmpPrefix     = reservedPrefix + "tmp-"
)

// swapIn replaces the entries of dest by those of the staging directory of suffix.
// It only renames within one directory, so it is quick whatever the sizes, and
// on failure it puts everything back.
func swapIn(dest *os.Root, suffix string, log *slog.Logger) error {
	staging, old, fresh := stagingPrefix+suffix, oldPrefix+suffix, newPrefix+suffix
	rollBack := func(cause error) error {
		if err := restoreOld(dest, old); err != nil {
			log.Error("could not roll back a failed swap; it is retried when the server restarts", "error", err)
			return fmt.Errorf("swapping the extracted files in: %w (and rolling back: %w)", cause, err)
		}
		if err := dest.RemoveAll(staging); err != nil {
			log.Warn("could not remove a staging directory", "dir", staging, "error", err)
		}
		return fmt.Errorf("swapping the extracted files in: %w", cause)
	}

	if err := dest.Mkdir(old, 0o700); err != nil {
		dest.RemoveAll(staging)
		return fmt.Errorf("swapping the extracted files in: %w", err)
	}
	current, err := listEntries(dest, ".")
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
	if err := moveAll(dest, fresh, "."); err != nil {
		// Undo: the new entries go back to staging, the old ones come back.
		if uerr := moveAll(dest, ".", fresh); uerr == nil {
			if uerr = dest.Rename(fresh, staging); uerr == nil {
				return rollBack(err)
			}
		}
		log.Error("could not roll back a failed swap; it is completed when the server restarts", "error", err)
		return fmt.Errorf("swapping the extracted files in: %w", err)
	}
	if err := dest.Remove(fresh); err != nil {
		log.Warn("could not remove an empty staging directory", "dir", fresh, "error", err)
	}
	if err := dest.RemoveAll(old); err != nil {
		log.Warn("could not remove the previous contents after a restore", "dir", old, "error", err)
	}
	return nil
}

// restoreOld moves D's previous entries back from old and removes old.
func restoreOld(dest *os.Root, old string) error {
	if err := moveAll(dest, old, "."); err != nil {
		return err
	}
	return dest.Remove(old)
}

// moveAll renames every non-reserved entry of from into to (both relative to
// dest). It continues past a failure so that as much as possible is moved, and
// reports the first error.
func moveAll(dest *os.Root, from, to string) error {
	names, err := listEntries(dest, from)
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

// listEntries lists the names in dir (relative to dest) that are not reserved.
func listEntries(dest *os.Root, dir string) ([]string, error) {
	d, err := dest.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if !reserved(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// recoverSwaps finishes what a crashed extraction into dest left behind: a swap past
// its commit point is completed, an earlier one rolled back, staging directories are
// removed. It returns the names it acted on.
func recoverSwaps(dest *os.Root, log *slog.Logger) []string {
	d, err := dest.Open(".")
	if err != nil {
		return nil
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	var acted []string
	note := func(name string, err error, what string) {
		acted = append(acted, name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Error("recovering an interrupted restore", "dir", name, "action", what, "error", err)
			return
		}
		log.Warn("recovered an interrupted restore", "dir", name, "action", what)
	}
	for _, n := range names {
		if suffix, ok := strings.CutPrefix(n, newPrefix); ok {
			// Past the commit point: finish moving the new entries in.
			err := moveAll(dest, n, ".")
			if err == nil {
				err = dest.Remove(n)
			}
			note(n, err, "completed the swap")
			if old := oldPrefix + suffix; has[old] {
				note(old, dest.RemoveAll(old), "removed the previous contents")
			}
		}
	}
	for _, n := range names {
		if suffix, ok := strings.CutPrefix(n, oldPrefix); ok && !has[newPrefix+suffix] {
			note(n, restoreOld(dest, n), "rolled the swap back")
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, stagingPrefix) {
			note(n, dest.RemoveAll(n), "removed a staging directory")
		}
	}
	return acted
}

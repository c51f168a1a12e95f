package server

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// removeStale clears what an earlier run of the server left behind when it was
// killed: every entity its journal records, wherever in the roots (temporary files
// are removed, interrupted extractions completed or rolled back, see settle), and
// the archives the backup service stages in ArchiveDir, which a restarted sidecar
// can no longer be in the middle of serving.
func (s *Server) removeStale() {
	for _, r := range s.journal.pending(func(*record) bool { return true }) {
		s.recoverRecord(r)
	}
	s.removeStagedArchives()
}

// recoverRecord settles one entry that no running call owns. An entry whose root
// is not served now or cannot be opened (a volume not mounted yet) is kept for a
// later start; one whose directory is gone, or is another directory now, is
// dropped: its entities went with the directory.
func (s *Server) recoverRecord(r *record) {
	log := s.log.With("root", r.Root, "dir", r.Dir)
	if !slices.Contains(s.opts.Roots, r.Root) {
		log.Warn("keeping a journal entry of a root this server does not serve", "entry", r.id)
		return
	}
	root, err := os.OpenRoot(r.Root)
	if err != nil {
		log.Warn("keeping a journal entry of a root that cannot be opened now", "entry", r.id, "error", err)
		return
	}
	defer root.Close()
	dir, err := root.OpenRoot(r.Dir)
	var info fs.FileInfo
	if err == nil {
		info, err = dir.Stat(".")
		defer dir.Close()
	}
	switch {
	case err == nil && fileIDOf(info) == r.DirID:
	case err == nil, errors.Is(err, fs.ErrNotExist), isEscape(err):
		log.Info("dropping a journal entry whose directory is gone", "entry", r.id)
		s.journal.drop(r)
		return
	default:
		log.Warn("keeping a journal entry whose directory cannot be opened now", "entry", r.id, "error", err)
		return
	}
	if err := settle(dir, r, log); err != nil {
		log.Error("could not finish what an earlier run left; retried at the next start or extraction there", "entry", r.id, "error", err)
		return
	}
	s.journal.drop(r)
}

// settle finishes what r's entities need, in dir, the directory r names: a
// temporary file is removed; an extraction past its commit point (its new
// directory exists) is completed, an earlier one rolled back, and its staging
// directory removed. It only touches an entity whose identity is the one
// recorded: a customer's file that happens to carry the name is left alone.
//
// One exception: a process that died between creating an entity and recording
// its identity left it unrecorded, but also unused (nothing is written into an
// entity before its identity is recorded). Such an entity is removed only if it
// is an empty directory or an empty file, with the exact random name recorded
// before it was created: nothing a customer could lose.
func settle(dir *os.Root, r *record, log *slog.Logger) error {
	note := func(name, action string, err error) error {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		log.Warn("recovered what an interrupted call left", "name", name, "action", action)
		return nil
	}
	if r.Kind == kindTemp {
		switch {
		case holds(dir, r, r.Temp):
			return note(r.Temp, "removed a temporary file", dir.Remove(r.Temp))
		case unusedUnrecorded(dir, r, r.Temp):
			return note(r.Temp, "removed an empty temporary file", dir.Remove(r.Temp))
		}
		return nil
	}
	switch {
	case holds(dir, r, r.New):
		// Past the commit point: finish moving the new entries in.
		err := moveAll(dir, r.New, ".", nil)
		if err == nil {
			err = dir.Remove(r.New)
		}
		if err := note(r.New, "completed the swap", err); err != nil {
			return err
		}
		if holds(dir, r, r.Old) {
			if err := note(r.Old, "removed the previous contents", dir.RemoveAll(r.Old)); err != nil {
				return err
			}
		}
	case holds(dir, r, r.Old):
		if err := note(r.Old, "rolled the swap back", restoreOld(dir, r.Old)); err != nil {
			return err
		}
	case unusedUnrecorded(dir, r, r.Old):
		if err := note(r.Old, "removed an empty directory", dir.Remove(r.Old)); err != nil {
			return err
		}
	}
	switch {
	case holds(dir, r, r.Staging):
		return note(r.Staging, "removed a staging directory", dir.RemoveAll(r.Staging))
	case unusedUnrecorded(dir, r, r.Staging):
		return note(r.Staging, "removed an empty staging directory", dir.Remove(r.Staging))
	}
	return nil
}

// holds reports whether dir holds, under name, the very entity of r the journal
// recorded.
func holds(dir *os.Root, r *record, name string) bool {
	id, ok := r.IDs[name]
	if !ok || !id.known() {
		return false
	}
	info, err := dir.Lstat(name)
	return err == nil && fileIDOf(info) == id
}

// unusedUnrecorded reports whether dir holds, under name, an entity of r whose
// identity was never recorded and that holds nothing: an empty directory or an
// empty regular file.
func unusedUnrecorded(dir *os.Root, r *record, name string) bool {
	if _, ok := r.IDs[name]; ok {
		return false
	}
	info, err := dir.Lstat(name)
	switch {
	case err != nil:
		return false
	case info.Mode().IsRegular():
		return info.Size() == 0
	case !info.IsDir():
		return false
	}
	d, err := dir.Open(name)
	if err != nil {
		return false
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	return len(names) == 0 && err == io.EOF
}

// stagedArchive matches the names the backup service gives the archives it stages
// in ArchiveDir: backup-<id>.tar.gz and restore-<id>.tar.gz, with a lower-case
// UUID.
var stagedArchive = regexp.MustCompile(`^(backup|restore)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tar\.gz$`)

// stagedArchiveName reports whether a file in ArchiveDir is one of the archives
// the backup service stages there, which removeStale deletes at start.
func stagedArchiveName(name string) bool { return stagedArchive.MatchString(name) }

// removeStagedArchives removes the staged archives directly in ArchiveDir, if it
// lies within the roots: the server never touches anything outside them.
func (s *Server) removeStagedArchives() {
	loc, err := locate(s.opts.Roots, s.opts.ArchiveDir)
	if err != nil {
		return
	}
	top, err := openRoot(loc)
	if err != nil {
		return
	}
	defer top.Close()
	dir, err := top.OpenRoot(loc.rel)
	if err != nil {
		return
	}
	defer dir.Close()
	d, err := dir.Open(".")
	if err != nil {
		return
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !stagedArchiveName(e.Name()) {
			continue
		}
		p := filepath.Join(loc.path, e.Name())
		if err := dir.Remove(e.Name()); err != nil {
			s.log.Warn("could not remove a stale archive", "path", p, "error", err)
			continue
		}
		s.log.Info("removed a staged archive from an earlier run", "path", p)
	}
}

package sidecar

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// removeStale clears what an earlier run of the server left behind when it was
// killed: interrupted restores in the top level of every root (completed or rolled
// back, see recoverSwaps), temporary files of unfinished writes there, and the
// archives the backup service stages in ArchiveDir (backup-*.tar.gz,
// restore-*.tar.gz), which a restarted sidecar can no longer be in the middle of
// serving. Temporary files deeper in a root are left: the server only writes them
// where a caller asked for a file, and the archives never include them.
func (s *Server) removeStale() {
	for _, r := range s.opts.Roots {
		root, err := os.OpenRoot(r)
		if err != nil {
			continue // a root that is not mounted yet has nothing stale
		}
		recoverSwaps(root, s.log)
		s.removeMatching(root, r, func(name string) bool { return strings.HasPrefix(name, tmpPrefix) })
		root.Close()
	}
	loc, err := locate(s.opts.Roots, s.opts.ArchiveDir)
	if err != nil {
		return // outside the roots: not ours to touch
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
	s.removeMatching(dir, loc.path, func(name string) bool {
		return strings.HasPrefix(name, tmpPrefix) || stagedArchiveName(name)
	})
}

// stagedArchiveName reports whether a file in ArchiveDir is one of the archives
// the backup service stages there, which removeStale deletes at start.
func stagedArchiveName(name string) bool {
	return (strings.HasPrefix(name, "backup-") || strings.HasPrefix(name, "restore-")) && strings.HasSuffix(name, ".tar.gz")
}

// removeMatching removes the regular files directly in root whose names match.
func (s *Server) removeMatching(root *os.Root, where string, match func(string) bool) {
	d, err := root.Open(".")
	if err != nil {
		return
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !match(e.Name()) {
			continue
		}
		p := filepath.Join(where, e.Name())
		if err := root.Remove(path.Clean(e.Name())); err != nil {
			s.log.Warn("could not remove a stale file", "path", p, "error", err)
			continue
		}
		s.log.Info("removed a stale file from an earlier run", "path", p)
	}
}

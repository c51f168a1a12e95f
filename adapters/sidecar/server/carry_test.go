package server_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// restoreWays restores archive into dest with keep: by RestoreArchive, and by
// WriteFile then ExtractTo, as the backup service does with a sidecar that
// does not stream restores.
var restoreWays = map[string]func(t *testing.T, srv *testServer, dest string, archive []byte, keep []string) error{
	"RestoreArchive": func(t *testing.T, srv *testServer, dest string, archive []byte, keep []string) error {
		return srv.client(t).RestoreArchive(context.Background(), dest, bytes.NewReader(archive), int64(len(archive)), sha256Hex(archive), keep)
	},
	"ExtractTo": func(t *testing.T, srv *testServer, dest string, archive []byte, keep []string) error {
		c := srv.client(t)
		staged := srv.path("tmp", "restore.tar.gz")
		if err := os.MkdirAll(filepath.Dir(staged), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(context.Background(), staged, int64(len(archive)), bytes.NewReader(archive)); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		defer os.Remove(staged)
		return c.ExtractTo(context.Background(), staged, dest, keep)
	},
}

// only keeps the nodes of tree whose names start with one of the prefixes.
func only(tree map[string]node, prefixes ...string) map[string]node {
	out := map[string]node{}
	for name, n := range tree {
		for _, p := range prefixes {
			if name == p || strings.HasPrefix(name, p+"/") || (strings.HasPrefix(p, "*") && strings.HasSuffix(name, p[1:])) {
				out[name] = n
			}
		}
	}
	return out
}

// TestRestoreKeepsWhatTheBackupLeftOut: a backup that left out logs/ and *.tmp,
// restored with its patterns as keep, brings back everything else as it was
// backed up, while the current logs/ and tmp files survive byte for byte, in
// a kept directory all of them, its links and empty directories included.
func TestRestoreKeepsWhatTheBackupLeftOut(t *testing.T) {
	for how, restore := range restoreWays {
		t.Run(how, func(t *testing.T) {
			srv := startServer(t, server.Options{})
			data := srv.mkdir(t, "data")
			writeFiles(t, data, map[string]string{
				".savepointignore":  "logs/\n",
				"server.properties": "motd=backed up",
				"world/level.dat":   "level at backup",
				"world/region/r.0":  "region at backup",
				"logs/latest.log":   "log at backup",
				"a.tmp":             "tmp at backup",
			})
			// Times in the past, so that a restored directory that kept the
			// time of the carry-over shows.
			old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, dir := range []string{"world/region", "world"} {
				if err := os.Chtimes(filepath.Join(data, dir), old, old); err != nil {
					t.Fatal(err)
				}
			}
			archive, _, report, _ := archiveWith(t, srv, "StreamArchive", data, ports.ArchiveOptions{Excludes: []string{"*.tmp"}})
			backedUp := snapshot(t, data)
			if want := []string{"logs/", "*.tmp"}; strings.Join(report.Excludes, ",") != strings.Join(want, ",") {
				t.Fatalf("the report's patterns are %q, want %q", report.Excludes, want)
			}

			// Since the backup: the game wrote, logs grew, a crash left files.
			writeFiles(t, data, map[string]string{
				"server.properties":    "motd=changed",
				"world/level.dat":      "level now",
				"world/new-chunk":      "added since",
				"logs/latest.log":      "log now, longer than at backup",
				"logs/2024/old.log.gz": "an old log",
				"a.tmp":                "tmp now",
				"world/region/b.tmp":   "a tmp file deep down",
			})
			if err := os.Mkdir(filepath.Join(data, "logs", "empty"), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../server.properties", filepath.Join(data, "logs", "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(data, "logs", "2024"), 0o500); err != nil {
				t.Fatal(err)
			}
			kept := only(snapshot(t, data), "logs", "*.tmp")
			if len(kept) != 8 {
				t.Fatalf("the fixture keeps %d paths: %v", len(kept), kept)
			}
			latest, err := os.Stat(filepath.Join(data, "logs", "latest.log"))
			if err != nil {
				t.Fatal(err)
			}

			if err := restore(t, srv, data, archive, report.Excludes); err != nil {
				t.Fatalf("%s: %v", how, err)
			}
			want := map[string]node{}
			for name, n := range backedUp {
				if !strings.HasPrefix(name, "logs") && !strings.HasSuffix(name, ".tmp") {
					want[name] = n
				}
			}
			for name, n := range kept {
				want[name] = n
			}
			sameTree(t, "the restored data", snapshot(t, data), want)
			// Carried, not copied: a log the game holds open is the same file.
			if now, err := os.Stat(filepath.Join(data, "logs", "latest.log")); err != nil || !os.SameFile(now, latest) {
				t.Errorf("logs/latest.log is not the file it was (%v)", err)
			}
		})
	}
}

// TestRestoreKeepPrefersTheCurrentFiles: where the archive holds a path keep
// matches (made with other patterns), the current one wins; a file of the
// archive where a kept path needs a directory gives way to the directory.
func TestRestoreKeepPrefersTheCurrentFiles(t *testing.T) {
	for how, restore := range restoreWays {
		t.Run(how, func(t *testing.T) {
			srv := startServer(t, server.Options{})
			data := srv.mkdir(t, "data")
			writeFiles(t, data, map[string]string{"logs/latest.log": "archived log", "cache": "a file in the archive", "world/level.dat": "level"})
			archive, _, _, _ := archiveWith(t, srv, "StreamArchive", data, ports.ArchiveOptions{})
			if err := os.Remove(filepath.Join(data, "cache")); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, data, map[string]string{"logs/latest.log": "current log", "cache/x.tmp": "current tmp", "world/level.dat": "changed"})
			if err := restore(t, srv, data, archive, []string{"logs/", "*.tmp"}); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]string{"logs/latest.log": "current log", "cache/x.tmp": "current tmp", "world/level.dat": "level"} {
				if got, err := os.ReadFile(filepath.Join(data, name)); err != nil || string(got) != want {
					t.Errorf("%s holds %q (%v), want %q", name, got, err, want)
				}
			}
		})
	}
}

// TestRestoreCarryOverFailureChangesNothing: a restore that fails while it
// carries the kept paths over leaves the data directory as it was, with
// nothing staged left.
func TestRestoreCarryOverFailureChangesNothing(t *testing.T) {
	for how, restore := range restoreWays {
		t.Run(how, func(t *testing.T) {
			opts := server.Options{StateDir: t.TempDir()}
			// The second kept path fails, once the first is carried.
			var mu sync.Mutex
			var carried []string
			server.SetCarryingHook(&opts, func(name string) error {
				mu.Lock()
				defer mu.Unlock()
				carried = append(carried, name)
				if len(carried) == 2 {
					return errors.New("the disk broke")
				}
				return nil
			})
			srv := startServer(t, opts)
			data := srv.mkdir(t, "data")
			writeFiles(t, data, map[string]string{"world/level.dat": "level", "logs/a.log": "a"})
			archive, _, _, _ := archiveWith(t, srv, "StreamArchive", data, ports.ArchiveOptions{})
			writeFiles(t, data, map[string]string{"world/level.dat": "changed", "logs/a.log": "a now", "logs/b.log": "b", "z.tmp": "z"})
			old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := os.Chtimes(data, old, old); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, data)
			err := restore(t, srv, data, archive, []string{"logs/", "*.tmp"})
			if err == nil || !strings.Contains(err.Error(), "the disk broke") {
				t.Fatalf("the restore returned %v, want the carry-over's failure", err)
			}
			mu.Lock()
			if len(carried) != 2 {
				t.Fatalf("tried to carry %q, want logs and z.tmp", carried)
			}
			mu.Unlock()
			sameTree(t, "the data after a failed restore", snapshot(t, data), before)
			if info, err := os.Stat(data); err != nil || !info.ModTime().Equal(old) {
				t.Errorf("the data directory's time changed: %v (%v)", info.ModTime(), err)
			}
			if journal, _ := os.ReadDir(filepath.Join(opts.StateDir, "journal")); len(journal) != 0 {
				t.Errorf("the journal holds %d entries", len(journal))
			}
		})
	}
}

// TestRestoreRefusesBrokenKeep: keep patterns over the limits or not valid
// syntax are refused with InvalidArgument before anything changes.
func TestRestoreRefusesBrokenKeep(t *testing.T) {
	for how, restore := range restoreWays {
		t.Run(how, func(t *testing.T) {
			srv := startServer(t, server.Options{})
			data := srv.mkdir(t, "data")
			writeFiles(t, data, map[string]string{"a": "a"})
			archive, _, _, _ := archiveWith(t, srv, "StreamArchive", data, ports.ArchiveOptions{})
			writeFiles(t, data, map[string]string{"a": "current"})
			before := snapshot(t, data)
			many := make([]string, 600)
			for i := range many {
				many[i] = "x"
			}
			wantCode(t, restore(t, srv, data, archive, many), codes.InvalidArgument, "keep", "patterns", "600")
			wantCode(t, restore(t, srv, data, archive, []string{"[oops"}), codes.InvalidArgument, "keep", "[oops")
			sameTree(t, "the data", snapshot(t, data), before)
		})
	}
}

// TestRestoreTakesWhatThePatternsCannotDecide: a path the patterns cannot
// decide within the matching budget was archived, so a restore brings it back
// from the archive rather than refusing to restore.
func TestRestoreTakesWhatThePatternsCannotDecide(t *testing.T) {
	patterns := make([]string, 200)
	for i := range patterns {
		patterns[i] = "*" + strings.Repeat("a", 120) + "b" + strconv.Itoa(i)
	}
	slow := "world/" + strings.Repeat("a", 250)
	for how, restore := range restoreWays {
		t.Run(how, func(t *testing.T) {
			srv := startServer(t, server.Options{})
			data := srv.mkdir(t, "data")
			writeFiles(t, data, map[string]string{slow: "at backup", "level.dat": "at backup"})
			archive, files, report, _ := archiveWith(t, srv, "StreamArchive", data, ports.ArchiveOptions{Excludes: patterns})
			if _, ok := files[slow]; !ok {
				t.Fatalf("the archive left out %s, which the patterns cannot decide", slow)
			}
			writeFiles(t, data, map[string]string{slow: "current", "level.dat": "current"})
			if err := restore(t, srv, data, archive, report.Excludes); err != nil {
				t.Fatalf("restore: %v", err)
			}
			for _, name := range []string{slow, "level.dat"} {
				if b, err := os.ReadFile(filepath.Join(data, name)); err != nil || string(b) != "at backup" {
					t.Errorf("%s after the restore: %q, %v; want the archive's", name, b, err)
				}
			}
		})
	}
}

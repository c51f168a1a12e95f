package server_test

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"context"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

// writeRandomFile writes size pseudo-random bytes, streaming.
func writeRandomFile(t testing.TB, p string, size int64, mode os.FileMode, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), size); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod(mode); err != nil {
		t.Fatal(err)
	}
}

// buildTree makes the tree a backup must reproduce, and the things it must leave
// out. It returns what the restored tree must look like.
func buildTree(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"world/region", "world/playerdata", "world/datapacks", "empty/nested/deeper", "plugins/Überwelt ✓", "日本語"} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	writeRandomFile(t, filepath.Join(dir, "world/region/r.0.0.mca"), 50<<20, 0o644, 1)
	writeRandomFile(t, filepath.Join(dir, "world/region/r.0.-1.mca"), 100_000, 0o644, 2)
	writeRandomFile(t, filepath.Join(dir, "world/playerdata/069a79f4-44e9-4726-a5be-fca90e38aaf5.dat"), 1234, 0o600, 3)
	must(os.WriteFile(filepath.Join(dir, "world/session.lock"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "empty/nested/empty-file"), nil, 0o640))
	must(os.WriteFile(filepath.Join(dir, "plugins/Überwelt ✓/config.yml"), []byte("spawn: 0 64 0\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "日本語/ファイル.txt"), []byte("こんにちは\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "start.sh"), []byte("#!/bin/sh\nexec java -jar paper.jar\n"), 0o755))
	must(os.Chmod(filepath.Join(dir, "start.sh"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "readonly.txt"), []byte("do not edit\n"), 0o444))
	must(os.Chmod(filepath.Join(dir, "readonly.txt"), 0o444))
	must(os.MkdirAll(filepath.Join(dir, "locked"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "locked/inside.txt"), []byte("inside a read-only directory\n"), 0o644))
	must(os.Chmod(filepath.Join(dir, "locked"), 0o555))
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755) })
	must(os.Chmod(filepath.Join(dir, "world/datapacks"), 0o700))
	// Internal links: to a file, to a directory, climbing with "..", dangling.
	must(os.Symlink("r.0.0.mca", filepath.Join(dir, "world/region/latest.mca")))
	must(os.Symlink("world/region", filepath.Join(dir, "regions")))
	must(os.Symlink("../../start.sh", filepath.Join(dir, "empty/nested/start-link")))
	must(os.Symlink("not-there-yet", filepath.Join(dir, "dangling")))
	// Times, at second resolution, differ per file.
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	i := 0
	must(filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		i++
		ts := base.Add(time.Duration(i) * time.Hour)
		return os.Chtimes(p, ts, ts)
	}))
}

// addUnarchivable adds what archives must leave out, special files, and links
// that lead out of the source, which archives keep as they are; it returns the
// links.
func addUnarchivable(t *testing.T, dir string) map[string]string {
	t.Helper()
	if err := syscall.Mkfifo(filepath.Join(dir, "server.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "rcon.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	links := map[string]string{"passwd": "/etc/passwd", "up": "../..", "sneaky": "world/../../x"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return links
}

func TestRoundTrip(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	ctx := context.Background()
	data := srv.mkdir(t, "data")
	tmp := srv.mkdir(t, "tmp")
	buildTree(t, data)
	want := snapshot(t, data)
	for name, target := range addUnarchivable(t, data) {
		want[name] = node{Type: "symlink", Target: target}
	}
	// An absolute link into the source is kept as it is.
	lockLink := filepath.Join(data, "world/session.lock")
	if err := os.Symlink(lockLink, filepath.Join(data, "world/lock-link")); err != nil {
		t.Fatal(err)
	}
	want["world/lock-link"] = node{Type: "symlink", Target: lockLink}
	// Give world/ back its time after adding the link.
	wt := time.Unix(want["world"].MTime, 0)
	if err := os.Chtimes(filepath.Join(data, "world"), wt, wt); err != nil {
		t.Fatal(err)
	}

	restore := func(t *testing.T, archive io.Reader, size int64) {
		t.Helper()
		staged := filepath.Join(tmp, "restore.tar.gz")
		if err := c.WriteFile(ctx, staged, size, archive); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		dest := srv.path("restored")
		if err := c.ExtractTo(ctx, staged, dest, nil); err != nil {
			t.Fatalf("ExtractTo: %v", err)
		}
		sameTree(t, "the restored tree", snapshot(t, dest), want)
		if err := c.DeleteFile(ctx, staged); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("through CompressFiles, ReadFile, WriteFile and ExtractTo", func(t *testing.T) {
		out := filepath.Join(tmp, "backup.tar.gz")
		if _, err := c.CompressFiles(ctx, []string{data}, out, ports.ArchiveOptions{}); err != nil {
			t.Fatalf("CompressFiles: %v", err)
		}
		info, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFile(ctx, out)
		if err != nil {
			t.Fatalf("ReadFile: %v", err)
		}
		defer r.Close()
		restore(t, r, info.Size())
	})

	t.Run("through StreamArchive, WriteFile of unknown size and ExtractTo", func(t *testing.T) {
		r, err := c.StreamArchive(ctx, []string{data}, ports.ArchiveOptions{})
		if err != nil {
			t.Fatalf("StreamArchive: %v", err)
		}
		defer r.Close()
		restore(t, r, -1)
	})

	t.Run("the source is untouched", func(t *testing.T) {
		got := snapshot(t, data)
		for _, extra := range []string{"server.fifo", "rcon.sock"} {
			delete(got, extra)
		}
		sameTree(t, "the source after the backups", got, want)
	})
}

package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

func writeText(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveTreeRemovesEverythingBeneathAndFollowsNoLink(t *testing.T) {
	dest := t.TempDir()
	outside := t.TempDir()
	writeText(t, filepath.Join(outside, "keep.txt"), "not the tree's")
	old := filepath.Join(dest, "old")
	for i, name := range []string{"level.dat", "world/region/r.0.0.mca", "world/region/r.0.1.mca", "plugins/a/b/c/config.yml", "empty/"} {
		p := filepath.Join(old, name)
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeText(t, p, string(rune('a'+i)))
	}
	for link, target := range map[string]string{"out": outside, "world/up": "../..", "plugins/file": filepath.Join(outside, "keep.txt")} {
		if err := os.Symlink(target, filepath.Join(old, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(old, "plugins/a/b"), 0o500); err != nil { // a read-only directory, as a game may leave
		t.Fatal(err)
	}
	writeText(t, filepath.Join(dest, "sibling.txt"), "stays")

	root, err := os.OpenRoot(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	err = server.RemoveTree(root, "old")
	if os.Geteuid() != 0 {
		// Unprivileged, the read-only directory's file cannot go, as with RemoveAll.
		os.Chmod(filepath.Join(old, "plugins/a/b"), 0o700)
		if err == nil {
			t.Fatal("removeTree reported success with a file it could not remove")
		}
		err = server.RemoveTree(root, "old")
	}
	if err != nil {
		t.Fatalf("removeTree: %v", err)
	}
	if _, err := os.Lstat(old); !os.IsNotExist(err) {
		t.Fatalf("the tree is still there: %v", err)
	}
	for _, p := range []string{filepath.Join(outside, "keep.txt"), filepath.Join(dest, "sibling.txt")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s, outside the tree, is gone: %v", p, err)
		}
	}
	if err := server.RemoveTree(root, "old"); err != nil {
		t.Fatalf("removing a tree that is gone: %v", err)
	}
}

// BenchmarkRemoveTree removes a copy of the 256 MiB game tree, flushed to disk
// as a restore's previous contents are, with removeTree and with os.RemoveAll in
// the same run.
func BenchmarkRemoveTree(b *testing.B) {
	data := gameData(b)
	scratch := b.TempDir()
	root, err := os.OpenRoot(scratch)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	var parallel, serial time.Duration
	for i := 0; b.Loop(); i++ {
		for _, par := range []bool{i%2 == 0, i%2 != 0} {
			b.StopTimer()
			if out, err := exec.Command("cp", "-r", data, filepath.Join(scratch, "old")).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v: %s", err, out)
			}
			syscall.Sync()
			b.StartTimer()
			start := time.Now()
			if par {
				err = server.RemoveTree(root, "old")
			} else {
				err = root.RemoveAll("old")
			}
			if err != nil {
				b.Fatal(err)
			}
			if par {
				parallel += time.Since(start)
			} else {
				serial += time.Since(start)
			}
		}
	}
	b.ReportMetric(serial.Seconds()/parallel.Seconds(), "x-faster-than-RemoveAll")
}

package sidecar_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
)

func TestStartupRemovesLeftovers(t *testing.T) {
	data, tmp := t.TempDir(), t.TempDir()
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Archives and temporary files a killed sidecar left in the archive directory.
	write(filepath.Join(tmp, "backup-0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e.tar.gz"), "stale")
	write(filepath.Join(tmp, "restore-0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8f.tar.gz"), "stale")
	write(filepath.Join(tmp, ".savepoint-tmp-0123456789abcdef"), "partial")
	// Files that only look similar stay.
	write(filepath.Join(tmp, "backup-notes.txt"), "keep")
	write(filepath.Join(tmp, "world.tar.gz"), "keep")
	write(filepath.Join(tmp, "nested/backup-1.tar.gz"), "keep")

	// In the data root: a restore interrupted before its swap (staging only), one
	// interrupted half-way through moving the old entries aside (roll back), and one
	// interrupted after its commit point (complete it).
	write(filepath.Join(data, ".savepoint-restore-aaaa/half-extracted.dat"), "new")
	write(filepath.Join(data, ".savepoint-tmp-fedcba9876543210"), "partial")
	write(filepath.Join(data, "server.properties"), "old, not yet moved aside")
	write(filepath.Join(data, ".savepoint-old-bbbb/world/level.dat"), "old, moved aside")
	write(filepath.Join(data, ".savepoint-restore-bbbb/world/level.dat"), "new, never swapped in")

	sub := filepath.Join(data, "server2")
	write(filepath.Join(sub, "keep.txt"), "untouched: not at the top of a root")
	write(filepath.Join(data, "committed/.savepoint-new-cccc/world/level.dat"), "new, not yet moved in")
	write(filepath.Join(data, "committed/eula.txt"), "new, already moved in")
	write(filepath.Join(data, "committed/.savepoint-old-cccc/world/level.dat"), "old")

	startServer(t, sidecar.Options{Roots: []string{data, tmp}, ArchiveDir: tmp})

	got := map[string]string{}
	for _, root := range []string{data, tmp} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				got[p] = string(b)
			}
			return err
		})
	}
	want := map[string]string{
		filepath.Join(tmp, "backup-notes.txt"):       "keep",
		filepath.Join(tmp, "world.tar.gz"):           "keep",
		filepath.Join(tmp, "nested/backup-1.tar.gz"): "keep",
		filepath.Join(data, "server.properties"):     "old, not yet moved aside",
		filepath.Join(data, "world/level.dat"):       "old, moved aside",
		filepath.Join(sub, "keep.txt"):               "untouched: not at the top of a root",
		filepath.Join(data, "committed/eula.txt"):    "new, already moved in",
		// Interrupted restores deeper than a root's top level are recovered by the
		// next extraction into that destination, not at start-up.
		filepath.Join(data, "committed/.savepoint-new-cccc/world/level.dat"): "new, not yet moved in",
		filepath.Join(data, "committed/.savepoint-old-cccc/world/level.dat"): "old",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s holds %q, want %q", p, got[p], w)
		}
		delete(got, p)
	}
	for p, content := range got {
		t.Errorf("%s (%q) was left behind", p, content)
	}
}

func TestExtractionCompletesAnInterruptedSwapFirst(t *testing.T) {
	v := newVictim(t, sidecar.Limits{})
	// A swap that crashed after its commit point: the new world is half moved in.
	if err := os.MkdirAll(filepath.Join(v.dest, ".savepoint-new-dddd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := v.extract(t, tarGz(t, file("eula.txt", "eula=true\n"))); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	entries, err := os.ReadDir(v.dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "eula.txt" {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("the destination holds %v, want only eula.txt", names)
	}
}

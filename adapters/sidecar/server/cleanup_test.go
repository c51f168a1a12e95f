package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

func TestStartupRemovesStagedArchivesAndNoCustomerFile(t *testing.T) {
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
	// Archives the backup service staged for a sidecar that was killed.
	write(filepath.Join(tmp, "backup-0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e.tar.gz"), "stale")
	write(filepath.Join(tmp, "restore-0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8f.tar.gz"), "stale")
	// Files that only look similar, and customer files whose names look like the
	// sidecar's own: the journal has no record of them, so they stay.
	keep := map[string]string{
		filepath.Join(tmp, "backup-notes.txt"):                                          "keep",
		filepath.Join(tmp, "world.tar.gz"):                                              "keep",
		filepath.Join(tmp, "restore-1.tar.gz"):                                          "keep",
		filepath.Join(tmp, "backup-0190D3C4-7D4E-7C1A-9B1E-3F5C2A6B7D8E.tar.gz"):        "keep",
		filepath.Join(tmp, "nested/backup-0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e.tar.gz"): "keep",
		filepath.Join(tmp, ".savepoint-tmp-0123456789abcdef"):                           "the customer's",
		filepath.Join(data, ".savepoint-tmp-fedcba9876543210"):                          "the customer's",
		filepath.Join(data, ".savepoint-restore-aaaa/half-extracted.dat"):               "the customer's",
		filepath.Join(data, ".savepoint-old-bbbb/world/level.dat"):                      "the customer's",
		filepath.Join(data, "committed/.savepoint-new-cccc/world/level.dat"):            "the customer's",
	}
	for p, content := range keep {
		write(p, content)
	}

	startServer(t, server.Options{Roots: []string{data, tmp}, ArchiveDir: tmp})

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
	for p, w := range keep {
		if got[p] != w {
			t.Errorf("%s holds %q, want %q", p, got[p], w)
		}
		delete(got, p)
	}
	for p, content := range got {
		t.Errorf("%s (%q) was left behind", p, content)
	}
}

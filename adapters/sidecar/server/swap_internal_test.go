package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"testing"
)

// TestACrashWhileThePreviousContentsGoKeepsTheRestore: a sidecar that dies
// after a swap, while it removes what the restore replaced, is settled at its
// next start into the restored files, never back into the replaced ones.
func TestACrashWhileThePreviousContentsGoKeepsTheRestore(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"level.dat": "old level", "world/r.0.0.mca": "old region", "only-old.txt": "old"})

	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range map[string]string{"level.dat": "new level", "world/r.0.0.mca": "new region"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}

	dest, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	log := slog.New(slog.DiscardHandler)
	settled := false
	h := &hooks{discarding: func(r *record) {
		// The process dies here; its next start settles what the journal says.
		if err := settle(dest, r, log); err != nil {
			t.Errorf("settling: %v", err)
		}
		settled = true
	}}
	if _, err := extractInto(context.Background(), &buf, dest, place{}, Limits{}.withDefaults(), nil, log, h, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !settled {
		t.Fatal("the hook did not run")
	}
	want := map[string]string{"level.dat": "new level", "world": "/", "world/r.0.0.mca": "new region"}
	got := tree(t, dir)
	if len(got) != len(want) {
		t.Fatalf("after recovery the directory holds %v, want %v", got, want)
	}
	for name, content := range want {
		if got[name] != content {
			t.Fatalf("after recovery %s holds %q, want %q (all: %v)", name, got[name], content, got)
		}
	}
}

package main

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
)

const crashSecret = "crash-test-secret"

// startCrashSidecar runs the command over root with state as its state directory.
func startCrashSidecar(t *testing.T, root, state string) (*sidecarProc, *sidecar.Client) {
	t.Helper()
	p := runSidecar(t, os.Args[0], nil, []string{"SAVEPOINT_SIDECAR_SECRET=" + crashSecret}, "-roots", root, "-archive-dir", root, "-state-dir", state)
	c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: p.addr, Secret: crashSecret}, sidecar.ClientOptions{})
	if err != nil {
		p.kill()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

// waitForName waits until dir holds an entry whose name starts with prefix and
// is not one of except, and returns its name.
func waitForName(t *testing.T, dir, prefix string, except ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) && !contains(except, e.Name()) {
				return e.Name()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s* appeared in %s", prefix, dir)
		}
		time.Sleep(time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// blockingReader yields data, then blocks until the test ends.
type blockingReader struct {
	data []byte
	stop <-chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		<-b.stop
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func journalEntries(t *testing.T, state string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(state, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestRestartRemovesTheTempFileOfAKilledWrite(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	region := filepath.Join(root, "world", "region")
	if err := os.MkdirAll(region, 0o755); err != nil {
		t.Fatal(err)
	}
	customers := filepath.Join(region, ".savepoint-tmp-whatever")
	if err := os.WriteFile(customers, []byte("the customer's"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, c := startCrashSidecar(t, root, state)
	stop := make(chan struct{})
	defer close(stop)
	go c.WriteFile(context.Background(), filepath.Join(region, "r.0.0.mca"), 20<<20, &blockingReader{data: bytes.Repeat([]byte("r"), 4<<20), stop: stop})
	tmp := waitForName(t, region, ".savepoint-tmp-", ".savepoint-tmp-whatever")
	p.kill()
	if _, err := os.Stat(filepath.Join(region, tmp)); err != nil {
		t.Fatalf("the killed write left no temporary file to recover: %v", err)
	}

	p, _ = startCrashSidecar(t, root, state)
	defer p.stop()
	if _, err := os.Stat(filepath.Join(region, tmp)); !os.IsNotExist(err) {
		t.Fatalf("the temporary file %s of the killed write survived the restart (%v)", tmp, err)
	}
	if b, err := os.ReadFile(customers); err != nil || string(b) != "the customer's" {
		t.Fatalf("the customer's %s: %q, %v", customers, b, err)
	}
	if _, err := os.Stat(filepath.Join(region, "r.0.0.mca")); !os.IsNotExist(err) {
		t.Fatalf("the killed write's file exists (%v)", err)
	}
	if entries := journalEntries(t, state); len(entries) != 0 {
		t.Fatalf("the journal holds %d entries after the restart", len(entries))
	}
}

func TestRestartFinishesAKilledExtraction(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	dest, old := serverDir(t, root)
	p, c := startCrashSidecar(t, root, state)
	// An archive that takes a while to unpack: 64 files of 4 MiB of zeros.
	src := sourceDir(t, root, 64, func(int) []byte { return make([]byte, 4<<20) })
	archive := filepath.Join(root, "restore.tar.gz")
	if _, err := c.CompressFiles(context.Background(), []string{src}, archive, ports.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	go c.ExtractTo(context.Background(), archive, dest, nil)
	waitForName(t, dest, ".savepoint-restore-")
	p.kill()

	p, _ = startCrashSidecar(t, root, state)
	defer p.stop()
	names := dirNames(t, dest)
	// Killed before its commit point, the extraction is rolled back; after it,
	// completed. Either way nothing of the sidecar's is left.
	switch {
	case len(names) == 2 && contains(names, "world") && contains(names, "server.properties"):
		for name, content := range old {
			if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != content {
				t.Fatalf("%s holds %q after the roll-back (%v), want %q", name, b, err, content)
			}
		}
	case len(names) == 64:
		t.Log("the extraction had passed its commit point when it was killed")
	default:
		t.Fatalf("the destination holds %v after the restart: neither the old contents nor the archive's", names)
	}
	if entries := journalEntries(t, state); len(entries) != 0 {
		t.Fatalf("the journal holds %d entries after the restart", len(entries))
	}
}

func TestRestartRollsBackAKilledRestoreArchive(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	dest, old := serverDir(t, root)
	p, c := startCrashSidecar(t, root, state)
	src := sourceDir(t, root, 16, func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 4<<20) })
	stream, err := c.StreamArchive(context.Background(), []string{src}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(stream)
	stream.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	stop := make(chan struct{})
	defer close(stop)
	// Half the archive, then nothing: the sidecar is killed mid-stream, with the
	// staging directory half full.
	go c.RestoreArchive(context.Background(), dest, &blockingReader{data: archive[:len(archive)/2], stop: stop}, int64(len(archive)), hex.EncodeToString(sum[:]), nil)
	waitForName(t, dest, ".savepoint-restore-")
	p.kill()

	p, _ = startCrashSidecar(t, root, state)
	defer p.stop()
	names := dirNames(t, dest)
	// The archive never arrived whole, so it was never verified: only a roll-back
	// is right.
	if len(names) != 2 || !contains(names, "world") || !contains(names, "server.properties") {
		t.Fatalf("the destination holds %v after the restart, want its old contents", names)
	}
	for name, content := range old {
		if b, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(b) != content {
			t.Fatalf("%s holds %q after the restart (%v), want %q", name, b, err, content)
		}
	}
	if entries := journalEntries(t, state); len(entries) != 0 {
		t.Fatalf("the journal holds %d entries after the restart", len(entries))
	}
}

// serverDir makes a game server's data directory under root and returns it with
// the files it holds.
func serverDir(t *testing.T, root string) (string, map[string]string) {
	t.Helper()
	dest := filepath.Join(root, "servers", "one")
	if err := os.MkdirAll(filepath.Join(dest, "world"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"world/level.dat": "old level", "server.properties": "motd=old"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dest, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dest, files
}

// sourceDir makes root/src with n files, the i-th holding content(i).
func sourceDir(t *testing.T, root string, n int, content func(i int) []byte) string {
	t.Helper()
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".bin"
		if err := os.WriteFile(filepath.Join(src, name), content(i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

package local_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func openStore(t *testing.T, dir string) *local.ObjectStore {
	t.Helper()
	store, err := local.OpenObjectStore(dir)
	if err != nil {
		t.Fatalf("OpenObjectStore: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return store
}

func TestObjectStoreContract(t *testing.T) {
	portstest.RunObjectStoreTests(t, func(t *testing.T) ports.ObjectStore {
		dir := t.TempDir()
		store := openStore(t, dir)
		// Registered after openStore's cleanup, so it runs first: whatever the
		// subtest did, no temp file may be left behind.
		t.Cleanup(func() { assertNoTempFiles(t, dir) })
		return store
	})
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("walking %s: %v", dir, err)
	}
}

func TestObjectStoreLayout(t *testing.T) {
	t.Run("stores a key as the file of the same relative path", func(t *testing.T) {
		dir := t.TempDir()
		store := openStore(t, dir)
		if err := store.Put(t.Context(), "backups/o1/b1.tar.gz", strings.NewReader("archive")); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "backups", "o1", "b1.tar.gz"))
		if err != nil || string(got) != "archive" {
			t.Fatalf("file content = %q, %v; want %q", got, err, "archive")
		}
	})

	t.Run("creates the directory when it does not exist", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "not", "yet")
		store := openStore(t, dir)
		if err := store.Put(t.Context(), "k", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if store.Dir() != dir {
			t.Errorf("Dir() = %q, want %q", store.Dir(), dir)
		}
	})
}

// blockingReader hands out data until told to stop, then blocks in Read until
// released: the moment at which a crash would interrupt a Put.
type blockingReader struct {
	sent    int
	reached chan struct{}
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if b.sent >= 1<<20 {
		close(b.reached)
		<-b.release
		return 0, errors.New("interrupted")
	}
	n := min(len(p), 1<<20-b.sent)
	for i := range p[:n] {
		p[i] = 'n'
	}
	b.sent += n
	return n, nil
}

func TestObjectStoreNeverShowsAHalfWrittenObject(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	store := openStore(t, dir)
	if err := store.Put(ctx, "backups/o/b.tar.gz", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}

	src := &blockingReader{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- store.Put(ctx, "backups/o/b.tar.gz", src) }()
	<-src.reached

	// Mid-write, 1 MiB is on disk in a temp file, but readers see the old object.
	info, err := store.Stat(ctx, "backups/o/b.tar.gz")
	if err != nil || info.SizeBytes != 3 {
		t.Errorf("Stat during the Put = %+v, %v; want the old 3-byte object", info, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "backups", "o"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], ".b.tar.gz.") || !strings.HasSuffix(names[0], ".tmp") {
		t.Errorf("directory during the Put holds %q, want the object and one hidden temp file", names)
	}

	close(src.release)
	if err := <-done; err == nil {
		t.Fatal("Put with an interrupted reader succeeded")
	}
	body, _, err := store.Get(ctx, "backups/o/b.tar.gz", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if got, _ := io.ReadAll(body); string(got) != "old" {
		t.Errorf("object after the failed Put = %q, want %q", got, "old")
	}
	assertNoTempFiles(t, dir)
}

func TestObjectStoreKeys(t *testing.T) {
	ctx := t.Context()

	t.Run("rejects segments starting with a dot, which temp files use", func(t *testing.T) {
		store := openStore(t, t.TempDir())
		for _, key := range []string{".hidden", "a/.b.tar.gz.0123.tmp"} {
			if err := store.Put(ctx, key, strings.NewReader("x")); err == nil {
				t.Errorf("Put(%q) succeeded, want an error", key)
			}
		}
	})

	t.Run("cannot be led outside the directory by a symlink", func(t *testing.T) {
		outside := t.TempDir()
		if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
			t.Fatal(err)
		}
		store := openStore(t, dir)
		if body, _, err := store.Get(ctx, "link/secret", nil); err == nil {
			body.Close()
			t.Error("Get through a symlink to outside the directory succeeded")
		}
		if err := store.Put(ctx, "link/planted", strings.NewReader("x")); err == nil {
			t.Error("Put through a symlink to outside the directory succeeded")
		}
		if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a file appeared outside the directory: %v", err)
		}
	})

	t.Run("treats a key that names a directory of other keys as missing", func(t *testing.T) {
		store := openStore(t, t.TempDir())
		if err := store.Put(ctx, "backups/o/b", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Stat(ctx, "backups/o"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Stat of a directory: %v, want ErrNotFound", err)
		}
		if err := store.Delete(ctx, "backups/o"); err != nil {
			t.Errorf("Delete of a directory: %v, want nil (nothing to delete)", err)
		}
		if _, err := store.Stat(ctx, "backups/o/b"); err != nil {
			t.Errorf("the object under the directory after Delete: %v", err)
		}
		if _, err := store.Stat(ctx, "backups/o/b/c"); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("Stat below an object: %v, want ErrNotFound", err)
		}
	})
}

func TestObjectStoreCancelledContextIsNotAStorageFailure(t *testing.T) {
	store := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := store.Put(ctx, "k", strings.NewReader("x"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ports.ErrStorage) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled and not ErrStorage", err)
	}
}

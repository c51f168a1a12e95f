package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	portstest.RunObjectStoreTests(t, portstest.ObjectStoreHarness{
		New: func(t *testing.T) ports.ObjectStore {
			dir := t.TempDir()
			store := openStore(t, dir)
			// Registered after openStore's cleanup, so it runs first: whatever the
			// subtest did, no temp file may be left behind.
			t.Cleanup(func() { assertNoTempFiles(t, dir) })
			return store
		},
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

// tempFiles lists the temp files under dir (relative paths, sorted).
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".tmp") {
			rel, _ := filepath.Rel(dir, p)
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return found
}

func writeFile(t *testing.T, dir, name, content string, modTime time.Time) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if !modTime.IsZero() {
		if err := os.Chtimes(p, modTime, modTime); err != nil {
			t.Fatal(err)
		}
	}
}

func listedKeys(t *testing.T, store *local.ObjectStore, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range store.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

// stallingPut runs a Put of key in another goroutine that writes size bytes and
// then waits; finish lets its stream end and returns the Put's result.
func stallingPut(t *testing.T, store *local.ObjectStore, key string, size int) (finish func() error) {
	t.Helper()
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	r := io.MultiReader(bytes.NewReader(make([]byte, size)), readerFunc(func([]byte) (int, error) {
		close(reached)
		<-release
		return 0, io.EOF
	}))
	done := make(chan error, 1)
	go func() { done <- store.Put(context.Background(), key, r) }()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("Put returned before its stream ended: %v", err)
	}
	return func() error {
		once.Do(func() { close(release) })
		return <-done
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// envKilledPut makes the test binary, re-executed by
// TestObjectStoreRemovesTheTempFileOfAKilledPut, run a Put into the directory
// it names that never ends, until it is killed.
const envKilledPut = "SAVEPOINT_LOCAL_TEST_KILLED_PUT_DIR"

// putUntilKilled stores one object in dir, then streams into a second one
// forever. It exits if its parent goes away, so a failed test leaves no
// writer behind.
func putUntilKilled(dir string) {
	store, err := local.OpenObjectStore(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := store.Put(context.Background(), "backups/o/done.tar.gz", strings.NewReader("complete")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	parent := os.Getppid()
	chunk := make([]byte, 64<<10)
	endless := readerFunc(func(b []byte) (int, error) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
		time.Sleep(time.Millisecond)
		return copy(b, chunk), nil
	})
	err = store.Put(context.Background(), "backups/o/b.tar.gz", endless)
	fmt.Fprintln(os.Stderr, "the endless Put returned:", err)
	os.Exit(2)
}

func TestObjectStoreRemovesTheTempFileOfAKilledPut(t *testing.T) {
	if dir := os.Getenv(envKilledPut); dir != "" {
		putUntilKilled(dir)
	}
	if !local.FlockAvailable {
		t.Skip("without flock a dead writer's temp file is told by its age (TestObjectStoreWithoutFlockGoesByAge)")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestObjectStoreRemovesTheTempFileOfAKilledPut$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKilledPut+"="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Killed once its temp file holds a megabyte: mid-write, as a crash is.
	var tmp string
	for deadline := time.Now().Add(time.Minute); tmp == ""; {
		select {
		case err := <-exited:
			t.Fatalf("the writer exited before it was killed: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		for _, name := range tempFiles(t, dir) {
			if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Size() >= 1<<20 {
				tmp = name
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no temp file of 1 MiB after a minute\n%s", out.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	if got := tempFiles(t, dir); !slices.Equal(got, []string{tmp}) {
		t.Fatalf("temp files after the kill = %q, want the killed Put's %q", got, tmp)
	}

	store := openStore(t, dir)
	if got := tempFiles(t, dir); len(got) > 0 {
		t.Errorf("temp files after reopening the store = %q, want none", got)
	}
	if got := listedKeys(t, store, ""); !slices.Equal(got, []string{"backups/o/done.tar.gz"}) {
		t.Errorf("List after reopening = %q, want only the completed object", got)
	}
	if n, err := store.RemoveAbandoned(t.Context(), "", time.Now().Add(time.Hour)); n != 0 || err != nil {
		t.Errorf("RemoveAbandoned after reopening = %d, %v; want 0, nil", n, err)
	}
}

func TestObjectStoreKeepsTheTempFileOfARunningPut(t *testing.T) {
	if !local.FlockAvailable {
		t.Skip("without flock only the time passed to RemoveAbandoned protects a running Put")
	}
	ctx := t.Context()
	dir := t.TempDir()
	store := openStore(t, dir)
	finish := stallingPut(t, store, "backups/o/b.tar.gz", 1<<20)
	tmp := tempFiles(t, dir)
	if len(tmp) != 1 {
		t.Fatalf("temp files during the Put = %q, want one", tmp)
	}

	if n, err := store.RemoveAbandoned(ctx, "", time.Now().Add(time.Hour)); n != 0 || err != nil {
		t.Errorf("RemoveAbandoned during the Put = %d, %v; want 0, nil", n, err)
	}
	// As a restarted replica would while this one still writes: the lock is
	// seen held even by another store of the same process.
	other := openStore(t, dir)
	if n, err := other.RemoveAbandoned(ctx, "backups/", time.Now().Add(time.Hour)); n != 0 || err != nil {
		t.Errorf("another store's RemoveAbandoned during the Put = %d, %v; want 0, nil", n, err)
	}
	if got := tempFiles(t, dir); !slices.Equal(got, tmp) {
		t.Errorf("temp files after the sweeps = %q, want the running Put's %q", got, tmp)
	}

	if err := finish(); err != nil {
		t.Fatalf("the Put after the sweeps: %v", err)
	}
	if info, err := store.Stat(ctx, "backups/o/b.tar.gz"); err != nil || info.SizeBytes != 1<<20 {
		t.Errorf("the object after the Put: %+v, %v; want 1 MiB", info, err)
	}
	assertNoTempFiles(t, dir)
}

func TestObjectStoreRemoveAbandonedStaysUnderItsPrefix(t *testing.T) {
	if !local.FlockAvailable {
		t.Skip("needs flock to tell these temp files are dead")
	}
	ctx := t.Context()
	dir := t.TempDir()
	store := openStore(t, dir)
	// Unlocked, so to the store they are the temp files of killed Puts.
	for _, name := range []string{
		"backups/o1/.a.tar.gz.0123456789abcdef.tmp",
		"backups/o2/.b.tar.gz.0123456789abcdef.tmp",
		"backups/.o3.0123456789abcdef.tmp",
		"other/.c.0123456789abcdef.tmp",
		".top.0123456789abcdef.tmp",
	} {
		writeFile(t, dir, name, "partial", time.Time{})
	}
	steps := []struct {
		prefix string
		want   int
		left   []string
	}{
		{"backups/o1/", 1, []string{".top.0123456789abcdef.tmp", "backups/.o3.0123456789abcdef.tmp", "backups/o2/.b.tar.gz.0123456789abcdef.tmp", "other/.c.0123456789abcdef.tmp"}},
		{"backups/o", 2, []string{".top.0123456789abcdef.tmp", "other/.c.0123456789abcdef.tmp"}},
		{"nothing/", 0, []string{".top.0123456789abcdef.tmp", "other/.c.0123456789abcdef.tmp"}},
		{"", 2, nil},
	}
	for _, step := range steps {
		n, err := store.RemoveAbandoned(ctx, step.prefix, time.Time{})
		if err != nil || n != step.want {
			t.Errorf("RemoveAbandoned(%q) = %d, %v; want %d, nil", step.prefix, n, err, step.want)
		}
		if got := tempFiles(t, dir); !slices.Equal(got, step.left) {
			t.Errorf("after RemoveAbandoned(%q): temp files %q, want %q", step.prefix, got, step.left)
		}
	}
}

func TestObjectStoreNeverRemovesFilesThatAreNotTempFiles(t *testing.T) {
	dir := t.TempDir()
	kept := []string{
		"readme.txt",
		"backups/.notes",
		"backups/.b.tar.gz.tmp",
		"backups/.b.tar.gz.0123456789ABCDEF.tmp",
		"backups/.b.tar.gz.0123456789abcde.tmp",
		"backups/.b.tar.gz.0123456789abcdef0.tmp",
		"backups/b.tar.gz.0123456789abcdef.tmp",
		"backups/.0123456789abcdef.tmp",
		"backups/..hidden.0123456789abcdef.tmp",
		"backups/.d.0123456789abcdef.tmp/inside",
	}
	old := time.Now().Add(-24 * time.Hour)
	for _, name := range kept {
		writeFile(t, dir, name, "mine: "+name, old)
	}
	link := filepath.Join(dir, "backups", ".l.0123456789abcdef.tmp")
	if err := os.Symlink(filepath.Join(dir, "readme.txt"), link); err != nil {
		t.Fatal(err)
	}

	for _, open := range []func(string) (*local.ObjectStore, error){local.OpenObjectStore, local.OpenObjectStoreWithoutFlock} {
		store, err := open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := store.RemoveAbandoned(t.Context(), "", time.Now().Add(time.Hour)); n != 0 || err != nil {
			t.Errorf("RemoveAbandoned = %d, %v; want 0, nil", n, err)
		}
		store.Close()
	}
	for _, name := range kept {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(got) != "mine: "+name {
			t.Errorf("%s after the sweeps: %q, %v; want it untouched", name, got, err)
		}
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the symlink named like a temp file: %v, want it kept", err)
	}
}

func TestObjectStoreWithoutFlockGoesByAge(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	writeFile(t, dir, "backups/o/.old.tar.gz.0123456789abcdef.tmp", "dead for an hour", time.Now().Add(-time.Hour))
	writeFile(t, dir, "backups/o/.new.tar.gz.0123456789abcdef.tmp", "written a moment ago", time.Time{})
	store, err := local.OpenObjectStoreWithoutFlock(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if got := tempFiles(t, dir); len(got) != 2 {
		t.Errorf("temp files after opening = %q, want both: nothing tells them dead", got)
	}

	start := time.Now()
	finish := stallingPut(t, store, "backups/o/running.tar.gz", 1000)
	n, err := store.RemoveAbandoned(ctx, "backups/", start.Add(-time.Second))
	if err != nil || n != 1 {
		t.Errorf("RemoveAbandoned(before the Put started) = %d, %v; want 1 (the old file), nil", n, err)
	}
	if got := tempFiles(t, dir); len(got) != 2 || slices.Contains(got, "backups/o/.old.tar.gz.0123456789abcdef.tmp") {
		t.Errorf("temp files left = %q, want the recent one and the running Put's", got)
	}
	if err := finish(); err != nil {
		t.Fatalf("the Put: %v", err)
	}
	n, err = store.RemoveAbandoned(ctx, "backups/", time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Errorf("RemoveAbandoned(an hour ahead) = %d, %v; want 1 (the recent file), nil", n, err)
	}
	assertNoTempFiles(t, dir)
}

// Puts and sweeps of two stores on one directory run at once: every Put must
// succeed and no sweep may remove anything, since no writer ever dies. A Put
// whose temp file were unlocked for a moment (between creation and lock, or
// between close and rename) would lose it to a sweep and fail.
func TestObjectStoreSweepsNeverDisturbRunningPuts(t *testing.T) {
	if !local.FlockAvailable {
		t.Skip("without flock only the time passed to RemoveAbandoned protects a running Put")
	}
	ctx := t.Context()
	dir := t.TempDir()
	store := openStore(t, dir)
	other := openStore(t, dir)
	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	var removed atomic.Int64
	for _, s := range []*local.ObjectStore{store, other} {
		sweeps.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := s.RemoveAbandoned(ctx, "", time.Now().Add(time.Hour))
				if err != nil {
					t.Errorf("RemoveAbandoned: %v", err)
					return
				}
				removed.Add(int64(n))
			}
		})
	}
	var puts sync.WaitGroup
	for g := range 4 {
		puts.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("stress/%d/%d", g, i%5)
				if err := store.Put(ctx, key, bytes.NewReader(make([]byte, 4096+i))); err != nil {
					t.Errorf("Put(%s) during sweeps: %v", key, err)
				}
			}
		})
	}
	puts.Wait()
	close(stop)
	sweeps.Wait()
	if n := removed.Load(); n != 0 {
		t.Errorf("sweeps removed %d temp files of running Puts", n)
	}
	if got := listedKeys(t, store, "stress/"); len(got) != 20 {
		t.Errorf("List after the Puts = %d keys, want 20", len(got))
	}
}

func TestObjectStoreListSkipsWhatIsNotAnObject(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	if err := store.Put(t.Context(), "backups/o/b.tar.gz", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "backups/o/.c.tar.gz.0123456789abcdef.tmp", "dead writer", time.Time{})
	writeFile(t, dir, "backups/o/.DS_Store", "hidden", time.Time{})
	writeFile(t, dir, "backups/.hidden/x", "in a hidden directory", time.Time{})
	if err := os.Symlink(filepath.Join(dir, "backups", "o", "b.tar.gz"), filepath.Join(dir, "backups", "o", "link")); err != nil {
		t.Fatal(err)
	}
	if got := listedKeys(t, store, ""); !slices.Equal(got, []string{"backups/o/b.tar.gz"}) {
		t.Errorf("List = %q, want only the object", got)
	}
	if got := listedKeys(t, store, "backups/.hidden/"); len(got) != 0 {
		t.Errorf("List of a prefix that no key can have = %q, want nothing", got)
	}
}

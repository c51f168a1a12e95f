package server_test

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

// streamNames archives dir by StreamArchive and returns the archive's regular
// files.
func streamNames(t *testing.T, c *sidecar.Client, dir string) map[string][]byte {
	t.Helper()
	stream, err := c.StreamArchive(context.Background(), []string{dir}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	defer stream.Close()
	files, _ := readTar(t, stream)
	return files
}

// uploading starts a WriteFile of unknown size to p that sends first and then
// waits; it returns once the sidecar's temporary file exists in p's directory
// (the one name there that is not in before), with its name, and a function that
// sends rest and returns the call's error.
func uploading(t *testing.T, c *sidecar.Client, p, first string, before ...string) (tmp string, finish func(rest string) error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- c.WriteFile(context.Background(), p, -1, pr) }()
	if _, err := pw.Write([]byte(first)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tmp == "" {
		entries, err := os.ReadDir(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".savepoint-tmp-") && !slices.Contains(before, e.Name()) {
				tmp = e.Name()
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload's temporary file did not appear")
		}
		time.Sleep(time.Millisecond)
	}
	return tmp, func(rest string) error {
		pw.Write([]byte(rest))
		pw.Close()
		return <-done
	}
}

func TestCustomerFilesNamedLikeTheSidecarsAreBackedUpAndRestored(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	ctx := context.Background()
	data := srv.mkdir(t, "data")
	// Such names are refused by no call, and kept by every archive.
	names := []string{".savepoint-tmp-mine", ".savepoint-restore-0123456789abcdef/level.dat", ".savepoint-new-x/y", ".savepoint-old-z"}
	for _, n := range names {
		srv.mkdir(t, "data", filepath.Dir(n))
		if err := c.WriteFile(ctx, filepath.Join(data, n), int64(len(n)), strings.NewReader(n)); err != nil {
			t.Fatalf("WriteFile %s: %v", n, err)
		}
	}
	archive := srv.path("backup.tar.gz")
	if _, err := c.CompressFiles(ctx, []string{data}, archive, ports.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	streamed := streamNames(t, c, data)
	for _, n := range names {
		if string(streamed[n]) != n {
			t.Errorf("the archive lacks %s", n)
		}
	}
	dest := srv.mkdir(t, "restored")
	if err := os.WriteFile(filepath.Join(dest, ".savepoint-old-previous"), []byte("replaced by the restore"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.ExtractTo(ctx, archive, dest, nil); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	got := snapshot(t, dest)
	for _, n := range names {
		if got[n].Size != int64(len(n)) {
			t.Errorf("the restore lacks %s", n)
		}
	}
	if len(got) != len(names)+2 { // and the directories .savepoint-restore-… and .savepoint-new-x
		t.Errorf("the restore holds %d entries, want %d: %v", len(got), len(names)+2, got)
	}
}

func TestArchivesLeaveOutOnlyTheUploadInProgress(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	data := srv.mkdir(t, "data", "sub")
	mine := filepath.Join(data, ".savepoint-tmp-mine")
	if err := os.WriteFile(mine, []byte("the customer's"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp, finish := uploading(t, c, filepath.Join(data, "upload.bin"), "half", ".savepoint-tmp-mine")
	files := streamNames(t, c, srv.path("data"))
	if _, ok := files["sub/"+tmp]; ok {
		t.Errorf("the archive holds the upload in progress, %s", tmp)
	}
	if string(files["sub/.savepoint-tmp-mine"]) != "the customer's" {
		t.Errorf("the archive lacks the customer's sub/.savepoint-tmp-mine")
	}
	if err := finish(" and the rest"); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "upload.bin")); err != nil || string(b) != "half and the rest" {
		t.Fatalf("upload.bin holds %q (%v)", b, err)
	}
}

func TestExtractionsIntoOneDirectoryUnderTwoNamesAreSerialised(t *testing.T) {
	entered, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var opts server.Options
	server.SetExtractingHook(&opts, func() {
		once.Do(func() {
			close(entered)
			<-proceed
		})
	})
	srv := startServer(t, opts)
	c := srv.client(t)
	ctx := context.Background()
	dest := srv.mkdir(t, "data")
	if err := os.WriteFile(filepath.Join(dest, "old.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	alias := srv.path("alias")
	if err := os.Symlink("data", alias); err != nil {
		t.Fatal(err)
	}
	first, second := srv.path("first.tar.gz"), srv.path("second.tar.gz")
	if err := os.WriteFile(first, tarGz(t, dir("world"), file("world/level.dat", "first"), file("eula.txt", "first")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, tarGz(t, file("second.txt", "second")), 0o644); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- c.ExtractTo(ctx, first, dest, nil) }()
	select {
	case <-entered: // the first extraction has its staging directory and waits
	case <-time.After(10 * time.Second):
		t.Fatal("the first extraction did not start")
	}
	for _, p := range []string{alias, dest + "/.", srv.path("alias", "..", "data")} {
		wantCode(t, c.ExtractTo(ctx, second, p, nil), codes.Aborted, "another extraction")
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("the first extraction: %v", err)
	}
	got := snapshot(t, dest)
	if len(got) != 3 || got["world/level.dat"].Size != 5 || got["eula.txt"].Size != 5 {
		t.Fatalf("the destination holds %v, want exactly the first archive", got)
	}
	// And once it is over, the directory can be extracted into under any name.
	if err := c.ExtractTo(ctx, second, alias, nil); err != nil {
		t.Fatalf("ExtractTo through the alias afterwards: %v", err)
	}
	if got := snapshot(t, dest); len(got) != 1 || got["second.txt"].Size != 6 {
		t.Fatalf("the destination holds %v, want exactly the second archive", got)
	}
}

func TestAnExtractionLeavesAnUploadIntoItsDestinationAlone(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	ctx := context.Background()
	dest := srv.mkdir(t, "data")
	archive := srv.path("restore.tar.gz")
	if err := os.WriteFile(archive, tarGz(t, file("eula.txt", "eula=true")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, finish := uploading(t, c, filepath.Join(dest, "upload.bin"), "half")
	if err := c.ExtractTo(ctx, archive, dest, nil); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	if err := finish(" and the rest"); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got := snapshot(t, dest)
	if len(got) != 2 || got["eula.txt"].Size != 9 || got["upload.bin"].Size != int64(len("half and the rest")) {
		t.Fatalf("the destination holds %v, want eula.txt and upload.bin", got)
	}
}

func TestStateDir(t *testing.T) {
	root := t.TempDir()
	newServer := func(state string) (*server.Server, error) {
		return server.New(server.Options{Roots: []string{root}, StateDir: state, Secret: testSecret, Logger: testLogger(t)})
	}
	link := filepath.Join(t.TempDir(), "state-link")
	if err := os.Mkdir(filepath.Join(root, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "state"), link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, state, want string }{
		{"inside a root", filepath.Join(root, "state"), "inside the root"},
		{"a root itself", root, "inside the root"},
		{"containing a root", filepath.Dir(root), "contains the root"},
		{"a link into a root", link, "inside the root"},
		{"relative", "state", "not an absolute path"},
	} {
		t.Run("refuses one "+tc.name, func(t *testing.T) {
			srv, err := newServer(tc.state)
			if err == nil {
				srv.Stop()
				t.Fatalf("server.New accepted the state dir %s", tc.state)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("server.New: %v, want an error saying %q", err, tc.want)
			}
		})
	}

	t.Run("refuses one another server holds, until it stops", func(t *testing.T) {
		state := t.TempDir()
		first, err := newServer(state)
		if err != nil {
			t.Fatal(err)
		}
		if second, err := newServer(state); err == nil {
			second.Stop()
			first.Stop()
			t.Fatal("two servers share a state directory")
		} else if !strings.Contains(err.Error(), "in use by another sidecar") {
			t.Fatalf("server.New: %v, want an error saying the state directory is in use", err)
		}
		if err := first.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		second, err := newServer(state)
		if err != nil {
			t.Fatalf("server.New once the first server stopped: %v", err)
		}
		second.Stop()
	})

	t.Run("an unusable one fails NewServer", func(t *testing.T) {
		notDir := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(notDir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if srv, err := newServer(notDir); err == nil || errors.Is(err, os.ErrNotExist) {
			if srv != nil {
				srv.Stop()
			}
			t.Fatalf("server.New with a file for a state dir: %v", err)
		}
	})
}

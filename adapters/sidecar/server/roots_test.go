package server_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// rootsFixture is a server whose root holds a file, a data directory and its
// archive, and links out of the root into a directory beside it that holds a
// secret.
type rootsFixture struct {
	srv     *testServer
	c       *sidecar.Client
	outside string // a sibling of the root, never reachable
	secret  string // the file in outside
	archive string
}

func newRootsFixture(t *testing.T) *rootsFixture {
	t.Helper()
	f := &rootsFixture{outside: t.TempDir()}
	f.secret = filepath.Join(f.outside, "secret.txt")
	if err := os.WriteFile(f.secret, []byte("outside the roots"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.srv = startServer(t, server.Options{})
	f.c = f.srv.client(t)
	if err := os.WriteFile(f.srv.path("inside.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.archive = f.srv.path("backup.tar.gz")
	if _, err := f.c.CompressFiles(context.Background(), []string{f.srv.mkdir(t, "data")}, f.archive, ports.ArchiveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.outside, f.srv.path("escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.secret, f.srv.path("secret-link")); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *rootsFixture) readErr(p string) error {
	r, err := f.c.ReadFile(context.Background(), p)
	if err == nil {
		r.Close()
	}
	return err
}

func (f *rootsFixture) streamErr(p string) error {
	r, err := f.c.StreamArchive(context.Background(), []string{p}, ports.ArchiveOptions{})
	if err == nil {
		r.Close()
	}
	return err
}

// namedCall is a call a subtest makes, named by what it tries.
type namedCall struct {
	name string
	call func() error
}

// denied are the calls that reach outside the roots, each in its own way.
func (f *rootsFixture) denied() []namedCall {
	ctx, c, srv, outside, secret := context.Background(), f.c, f.srv, f.outside, f.secret
	return []namedCall{
		{"reading a file outside", func() error { return f.readErr(secret) }},
		{"reading /etc/passwd", func() error { return f.readErr("/etc/passwd") }},
		{"reading through .. out of the root", func() error { return f.readErr(srv.Root + "/../" + filepath.Base(outside) + "/secret.txt") }},
		{"reading through a directory link out of the root", func() error { return f.readErr(srv.path("escape", "secret.txt")) }},
		{"reading a file link out of the root", func() error { return f.readErr(srv.path("secret-link")) }},
		{"writing outside", func() error { return c.WriteFile(ctx, filepath.Join(outside, "new.txt"), 1, strings.NewReader("x")) }},
		{"writing through a link out of the root", func() error { return c.WriteFile(ctx, srv.path("escape", "new.txt"), 1, strings.NewReader("x")) }},
		{"deleting outside", func() error { return c.DeleteFile(ctx, secret) }},
		{"deleting through a link out of the root", func() error { return c.DeleteFile(ctx, srv.path("escape", "secret.txt")) }},
		{"compressing a source outside", func() error {
			return second(c.CompressFiles(ctx, []string{outside}, srv.path("o.tar.gz"), ports.ArchiveOptions{}))
		}},
		{"compressing through a link out of the root", func() error {
			return second(c.CompressFiles(ctx, []string{srv.path("escape")}, srv.path("o.tar.gz"), ports.ArchiveOptions{}))
		}},
		{"compressing to an output outside", func() error {
			return second(c.CompressFiles(ctx, []string{srv.path("data")}, filepath.Join(outside, "o.tar.gz"), ports.ArchiveOptions{}))
		}},
		{"streaming the file system root", func() error { return f.streamErr("/") }},
		{"extracting an archive from outside", func() error { return c.ExtractTo(ctx, filepath.Join(outside, "x.tar.gz"), srv.path("dest"), nil) }},
		{"extracting into a destination outside", func() error { return c.ExtractTo(ctx, f.archive, filepath.Join(outside, "dest"), nil) }},
		{"extracting through a link out of the root", func() error { return c.ExtractTo(ctx, f.archive, srv.path("escape", "dest"), nil) }},
	}
}

// invalid are the calls whose paths name no file a call may touch.
func (f *rootsFixture) invalid() []namedCall {
	ctx, c, root := context.Background(), f.c, f.srv.Root
	return []namedCall{
		{"a relative path", func() error { return f.readErr("inside.txt") }},
		{"an empty path", func() error { return f.readErr("") }},
		{"writing over a root itself", func() error { return c.WriteFile(ctx, root, 1, strings.NewReader("x")) }},
		{"deleting a root itself", func() error { return c.DeleteFile(ctx, root) }},
	}
}

func TestRoots(t *testing.T) {
	f := newRootsFixture(t)
	srv, c, ctx := f.srv, f.c, context.Background()
	for _, tc := range f.denied() {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, ports.ErrCluster) {
				t.Fatalf("error %v does not wrap ErrCluster", err)
			}
			wantCode(t, err, codes.PermissionDenied)
			if !errors.Is(err, fs.ErrPermission) {
				t.Fatalf("error %v does not match fs.ErrPermission", err)
			}
		})
	}
	t.Run("left everything outside untouched", func(t *testing.T) {
		entries, err := os.ReadDir(f.outside)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "secret.txt" {
			t.Fatalf("outside the root: %v, want only secret.txt", entries)
		}
		if b, _ := os.ReadFile(f.secret); string(b) != "outside the roots" {
			t.Fatalf("secret.txt changed: %q", b)
		}
	})

	for _, tc := range f.invalid() {
		t.Run("refuses "+tc.name+" as invalid", func(t *testing.T) {
			wantCode(t, tc.call(), codes.InvalidArgument)
		})
	}

	t.Run("reports a missing file as not found", func(t *testing.T) {
		err := f.readErr(srv.path("missing.txt"))
		wantCode(t, err, codes.NotFound, "missing.txt")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v does not match fs.ErrNotExist", err)
		}
	})

	t.Run("refuses to read or delete a directory", func(t *testing.T) {
		wantCode(t, f.readErr(srv.path("data")), codes.FailedPrecondition, "directory")
		wantCode(t, c.DeleteFile(ctx, srv.path("data")), codes.FailedPrecondition, "directory")
	})

	t.Run("follows links that stay inside the root", func(t *testing.T) {
		if err := os.Symlink("inside.txt", srv.path("inside-link")); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFile(ctx, srv.path("inside-link"))
		if err != nil {
			t.Fatalf("reading a link inside the root: %v", err)
		}
		r.Close()
	})
}

func TestWriteFileRefusesWhatDoesNotFit(t *testing.T) {
	srv := startServer(t, server.Options{})
	p := srv.path("huge.tar.gz")
	const huge = 1 << 60
	err := srv.client(t).WriteFile(context.Background(), p, huge, strings.NewReader(""))
	wantCode(t, err, codes.ResourceExhausted, "1.0 EiB", "free", p)
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused file exists: %v", err)
	}
}

package server_test

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

// A caller's mistake is answered as such, naming the caller's path and nothing of
// the server's (no temporary name), and changes nothing.
func TestCallerMistakes(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	ctx := context.Background()
	data := srv.mkdir(t, "data", "world")
	if err := os.WriteFile(filepath.Join(data, "level.dat"), []byte("level"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := srv.path("restore.tar.gz")
	if err := os.WriteFile(archive, tarGz(t, file("eula.txt", "eula=true")), 0o644); err != nil {
		t.Fatal(err)
	}
	inside := srv.path("data", "restore.tar.gz")
	if err := os.WriteFile(inside, tarGz(t, file("eula.txt", "eula=true")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data", srv.path("alias")); err != nil {
		t.Fatal(err)
	}
	sock := srv.path("rcon.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	before := snapshot(t, srv.Root)

	cases := []struct {
		name string
		call func() error
		code codes.Code
		path string // the caller's path the message names
	}{
		{"ExtractTo into a regular file", func() error { return c.ExtractTo(ctx, archive, filepath.Join(data, "level.dat"), nil) },
			codes.FailedPrecondition, filepath.Join(data, "level.dat")},
		{"ExtractTo with the archive as its destination", func() error { return c.ExtractTo(ctx, archive, archive, nil) },
			codes.InvalidArgument, archive},
		{"ExtractTo of an archive inside the destination", func() error { return c.ExtractTo(ctx, inside, srv.path("data"), nil) },
			codes.InvalidArgument, inside},
		{"ExtractTo of an archive inside the destination's alias", func() error { return c.ExtractTo(ctx, srv.path("alias", "restore.tar.gz"), srv.path("data"), nil) },
			codes.InvalidArgument, srv.path("alias", "restore.tar.gz")},
		{"ExtractTo into an alias of the archive's directory", func() error { return c.ExtractTo(ctx, inside, srv.path("alias"), nil) },
			codes.InvalidArgument, inside},
		{"WriteFile onto a directory", func() error { return c.WriteFile(ctx, data, 5, strings.NewReader("hello")) },
			codes.FailedPrecondition, data},
		{"CompressFiles onto a directory", func() error {
			return second(c.CompressFiles(ctx, []string{data}, srv.path("data"), ports.ArchiveOptions{}))
		},
			codes.FailedPrecondition, srv.path("data")},
		{"ReadFile of a socket", func() error {
			r, err := c.ReadFile(ctx, sock)
			if err == nil {
				io.Copy(io.Discard, r)
				r.Close()
			}
			return err
		}, codes.FailedPrecondition, sock},
		{"ExtractTo of a socket", func() error { return c.ExtractTo(ctx, sock, srv.path("dest"), nil) },
			codes.FailedPrecondition, sock},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantCode(t, err, tc.code, tc.path)
			if strings.Contains(err.Error(), ".savepoint-") {
				t.Fatalf("the error names a temporary file: %v", err)
			}
			sameTree(t, "the root after the refused call", snapshot(t, srv.Root), before)
		})
	}
}

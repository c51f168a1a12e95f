package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestFileIOContract(t *testing.T) {
	portstest.RunFileIOTests(t, portstest.FileIOHarness{New: func(t *testing.T) (ports.FileIO, string) {
		srv := startServer(t, server.Options{})
		return srv.client(t), srv.mkdir(t, "scratch")
	}})
}

// TestClient holds the client's tests that need this server: what a client sees
// of the server's options.
func TestClient(t *testing.T) {
	ctx := context.Background()

	t.Run("a sidecar with DisableStreamArchive answers like one without it, and still compresses to a file", func(t *testing.T) {
		srv := startServer(t, server.Options{DisableStreamArchive: true})
		data := srv.mkdir(t, "data")
		writeRandomFile(t, filepath.Join(data, "level.dat"), 4096, 0o644, 1)
		c := srv.client(t)
		_, err := c.StreamArchive(ctx, []string{data}, ports.ArchiveOptions{})
		if !errors.Is(err, ports.ErrUnsupported) || errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrUnsupported (not ErrCluster)", err)
		}
		out := srv.path("backup.tar.gz")
		if _, err := c.CompressFiles(ctx, []string{data}, out, ports.ArchiveOptions{}); err != nil {
			t.Fatalf("CompressFiles, the fallback: %v", err)
		}
		if info, err := os.Stat(out); err != nil || info.Size() == 0 {
			t.Fatalf("the fallback's archive: %v", err)
		}
	})
	t.Run("a sidecar with DisableRestoreArchive answers like one without it, before reading the archive, and still extracts a staged one", func(t *testing.T) {
		srv := startServer(t, server.Options{DisableRestoreArchive: true})
		data := srv.mkdir(t, "data")
		c := srv.client(t)
		archive := &countingSource{}
		err := c.RestoreArchive(ctx, data, archive, 0, strings.Repeat("0", 64), nil)
		if !errors.Is(err, ports.ErrUnsupported) || errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrUnsupported (not ErrCluster)", err)
		}
		if archive.reads != 0 {
			t.Fatalf("the archive was read %d times before the refusal", archive.reads)
		}
		src := srv.mkdir(t, "src")
		writeRandomFile(t, filepath.Join(src, "level.dat"), 4096, 0o644, 1)
		staged := srv.path("restore.tar.gz")
		if _, err := c.CompressFiles(ctx, []string{src}, staged, ports.ArchiveOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.ExtractTo(ctx, staged, data, nil); err != nil {
			t.Fatalf("ExtractTo, the fallback: %v", err)
		}
		if _, err := os.Stat(filepath.Join(data, "level.dat")); err != nil {
			t.Fatalf("the fallback extracted nothing: %v", err)
		}
	})
}

// countingSource is an empty archive that counts how often it is read.
type countingSource struct{ reads int }

func (c *countingSource) Read([]byte) (int, error) { c.reads++; return 0, io.EOF }

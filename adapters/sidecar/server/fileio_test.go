package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
		_, err := c.StreamArchive(ctx, []string{data})
		if !errors.Is(err, ports.ErrUnsupported) || errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrUnsupported (not ErrCluster)", err)
		}
		out := srv.path("backup.tar.gz")
		if _, err := c.CompressFiles(ctx, []string{data}, out); err != nil {
			t.Fatalf("CompressFiles, the fallback: %v", err)
		}
		if info, err := os.Stat(out); err != nil || info.Size() == 0 {
			t.Fatalf("the fallback's archive: %v", err)
		}
	})
}

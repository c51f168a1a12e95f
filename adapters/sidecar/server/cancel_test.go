package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// eventuallyEmpty waits for the sidecar to finish its side of a cancelled call and
// checks that dir is then empty.
func eventuallyEmpty(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %s after the call was cancelled", dir, entries[0].Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCancellation(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	data := srv.mkdir(t, "data")
	writeRandomFile(t, srv.path("data", "r.0.0.mca"), 64<<20, 0o644, 1)

	t.Run("a cancelled CompressFiles leaves no archive, not even a partial one", func(t *testing.T) {
		out := srv.mkdir(t, "out")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := c.CompressFiles(ctx, []string{data}, srv.path("out", "backup.tar.gz"), ports.ArchiveOptions{})
		if !errors.Is(err, ports.ErrCluster) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want ErrCluster matching DeadlineExceeded", err)
		}
		eventuallyEmpty(t, out)
	})

	t.Run("closing a StreamArchive reader early stops the stream", func(t *testing.T) {
		r, err := c.StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := r.Read(make([]byte, 10)); err == nil {
			t.Fatal("Read after Close succeeded")
		}
		// The sidecar is free for the next call.
		if err := c.DeleteFile(context.Background(), srv.path("nothing")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a cancelled ExtractTo leaves the destination as it was", func(t *testing.T) {
		archive := srv.path("backup.tar.gz")
		if _, err := c.CompressFiles(context.Background(), []string{data}, archive, ports.ArchiveOptions{}); err != nil {
			t.Fatal(err)
		}
		dest := srv.mkdir(t, "dest")
		if err := os.WriteFile(srv.path("dest", "keep.txt"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, dest)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := c.ExtractTo(ctx, archive, dest, nil); err == nil {
			t.Skip("the extraction finished within 20 ms; nothing to cancel")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := snapshot(t, dest)
			if len(got) == len(before) {
				sameTree(t, "the destination after a cancelled extraction", got, before)
				return
			}
			if time.Now().After(deadline) {
				sameTree(t, "the destination after a cancelled extraction", got, before)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

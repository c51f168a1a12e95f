package server_test

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

func TestStreamArchiveReportsProgress(t *testing.T) {
	srv := startServer(t, server.Options{})
	data := srv.mkdir(t, "data")
	srv.mkdir(t, "data", "world")
	var size int64
	for i := range 6 {
		n := int64(1<<20 + i*100_000)
		writeRandomFile(t, filepath.Join(data, "world", fmt.Sprintf("r.%d.mca", i)), n, 0o644, uint64(i))
		size += n
	}
	r, err := srv.client(t).StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 64<<10)
	var last, lastTotal int64
	midway := false
	for {
		_, err := r.Read(buf)
		done, total := r.Progress()
		if done < last {
			t.Fatalf("done went back from %d to %d", last, done)
		}
		if total != 0 && total < done {
			t.Fatalf("total %d below done %d", total, done)
		}
		if done > 0 && r.Report().Bytes == 0 {
			midway = true
		}
		last, lastTotal = done, total
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Report().Bytes; last != got || got != size {
		t.Fatalf("done at the end %d, report %d, want both %d", last, got, size)
	}
	if lastTotal != size {
		t.Fatalf("total at the end %d, want %d", lastTotal, size)
	}
	if !midway {
		t.Fatal("done was 0 until the report: want it in every data chunk")
	}
}

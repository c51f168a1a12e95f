package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMeasureCountsWhatTheArchiveHolds: the total a streamed archive's progress
// reports is the bytes of file contents the archive then holds, on a tree with
// what the walk must not count (links to files and directories, inside and out,
// a FIFO, the entity of a running call) and deep nesting.
func TestMeasureCountsWhatTheArchiveHolds(t *testing.T) {
	top := t.TempDir()
	data := filepath.Join(top, "data")
	outside := filepath.Join(top, "outside")
	var want int64
	write := func(rel string, n int) {
		t.Helper()
		p := filepath.Join(data, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", n)), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rel, "../") {
			want += int64(n)
		}
	}
	for i := range 300 {
		write(fmt.Sprintf("resources/[cat%d]/res-%d/client/main.lua", i%7, i), 100+i)
	}
	write("server.cfg", 4000)
	write("empty.txt", 0)
	deep := "d"
	for range 60 {
		deep += "/d"
	}
	write(deep+"/bottom.json", 1234)
	if err := os.MkdirAll(filepath.Join(data, "empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"link-to-file": "server.cfg", "link-to-dir": "resources", "link-out": outside,
		"link-out-file": filepath.Join(outside, "big"), "dangling": "nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(data, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A running call's staged file, which archives leave out.
	if err := os.WriteFile(filepath.Join(data, "upload.partial"), make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(data)
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	j.live.Store(&map[string][]fileID{"upload.partial": {fileIDOf(info)}})

	srcs, err := openSources([]string{top}, []string{data})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSources(srcs)
	got, ok := measure(context.Background(), srcs, j)
	if !ok {
		t.Fatal("measure stopped with its context alive")
	}
	report, err := writeArchive(context.Background(), io.Discard, srcs, DefaultCompressionLevel, j, slog.New(slog.DiscardHandler), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || report.bytes != want {
		t.Fatalf("measured %d bytes, the archive holds %d: want both %d", got, report.bytes, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := measure(ctx, srcs, j); ok {
		t.Fatal("measure of a cancelled call went on")
	}
}

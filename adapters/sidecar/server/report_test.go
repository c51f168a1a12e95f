package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// readTar returns the regular files of a tar.gz by name, and the number of
// entries.
func readTar(t *testing.T, r io.Reader) (map[string][]byte, int) {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files, n := map[string][]byte{}, 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
	}
}

// archiveBoth archives data by StreamArchive and by CompressFiles, calling before
// (when not nil) ahead of each, and returns each archive's files, entry count and
// report.
func archiveBoth(t *testing.T, srv *testServer, data string, before func()) map[string]struct {
	files   map[string][]byte
	entries int
	report  ports.ArchiveReport
} {
	t.Helper()
	c := srv.client(t)
	ctx := context.Background()
	out := map[string]struct {
		files   map[string][]byte
		entries int
		report  ports.ArchiveReport
	}{}
	if before != nil {
		before()
	}
	stream, err := c.StreamArchive(ctx, []string{data}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	if r := stream.Report(); r.Entries != 0 || r.SkippedCount != 0 {
		t.Fatalf("the report is %+v before the stream was read", r)
	}
	files, n := readTar(t, stream)
	io.Copy(io.Discard, stream) // to io.EOF: the report comes with the last message
	stream.Close()
	out["StreamArchive"] = struct {
		files   map[string][]byte
		entries int
		report  ports.ArchiveReport
	}{files, n, stream.Report()}

	if before != nil {
		before()
	}
	archive := srv.path("backup.tar.gz")
	report, err := c.CompressFiles(ctx, []string{data}, archive, ports.ArchiveOptions{})
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files, n = readTar(t, f)
	out["CompressFiles"] = struct {
		files   map[string][]byte
		entries int
		report  ports.ArchiveReport
	}{files, n, report}
	return out
}

func TestArchiveReportsWhatItSkipped(t *testing.T) {
	var opts server.Options
	original := bytes.Repeat([]byte("log line\n"), 100_000)
	// Each archive finds the files as they were made, then changes them while it
	// reads them: the test puts them back before the next archive.
	server.SetFileOpenedHook(&opts, func(name string, f *os.File) {
		switch name {
		case "shrinks.log":
			os.Truncate(f.Name(), 1000)
		case "grows.log":
			w, _ := os.OpenFile(f.Name(), os.O_WRONLY|os.O_APPEND, 0)
			w.WriteString("one more line\n")
			w.Close()
		case "touched.dat":
			later := time.Now().Add(time.Hour)
			os.Chtimes(f.Name(), later, later)
		}
	})
	srv := startServer(t, opts)
	data := srv.mkdir(t, "data")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(data, "keep", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(data, "keep", "a.txt"), []byte("aaa"), 0o644))
	writeRandomFile(t, filepath.Join(data, "keep", "sub", "b.bin"), 100_000, 0o644, 1)
	ln, err := net.Listen("unix", filepath.Join(data, "rcon.sock"))
	must(err)
	t.Cleanup(func() { ln.Close() })
	must(syscall.Mkfifo(filepath.Join(data, "server.fifo"), 0o644))
	must(syscall.Mkfifo(filepath.Join(data, "keep", "sub", "deep.fifo"), 0o644))
	must(syscall.Mkfifo(filepath.Join(data, "bad\xffname.fifo"), 0o644))
	reset := func() {
		must(os.WriteFile(filepath.Join(data, "shrinks.log"), original, 0o644))
		must(os.WriteFile(filepath.Join(data, "grows.log"), []byte("first line\n"), 0o644))
		must(os.WriteFile(filepath.Join(data, "touched.dat"), []byte("touched"), 0o644))
	}
	want := []ports.SkippedFile{
		{Path: "bad\uFFFDname.fifo", Reason: "a named pipe (FIFO)"},
		{Path: "grows.log", Reason: "changed while it was being read: the copy may be inconsistent"},
		{Path: "keep/sub/deep.fifo", Reason: "a named pipe (FIFO)"},
		{Path: "rcon.sock", Reason: "a socket"},
		{Path: "server.fifo", Reason: "a named pipe (FIFO)"},
		{Path: "shrinks.log", Reason: "changed while it was being read: it shrank, so the copy is incomplete"},
		{Path: "touched.dat", Reason: "changed while it was being read: the copy may be inconsistent"},
	}
	for call, got := range archiveBoth(t, srv, data, reset) {
		t.Run(call, func(t *testing.T) {
			r := got.report
			if fmt.Sprint(r.Skipped) != fmt.Sprint(want) || r.SkippedCount != len(want) {
				t.Fatalf("skipped %d: %q\nwant %d: %q", r.SkippedCount, r.Skipped, len(want), want)
			}
			// keep/, keep/a.txt, keep/sub/, keep/sub/b.bin and the three changed files.
			if r.Entries != 7 || got.entries != 7 {
				t.Fatalf("the report counts %d entries, the archive holds %d, want 7", r.Entries, got.entries)
			}
			if wantBytes := int64(3 + 100_000 + len(original) + len("first line\n") + len("touched")); r.Bytes != wantBytes {
				t.Fatalf("the report counts %d bytes, want %d", r.Bytes, wantBytes)
			}
			if string(got.files["keep/a.txt"]) != "aaa" || len(got.files["keep/sub/b.bin"]) != 100_000 {
				t.Fatalf("the readable files were not archived intact")
			}
			// tar needs the declared size: the shrunk file is padded with zeros.
			shrunk := got.files["shrinks.log"]
			if len(shrunk) != len(original) || !bytes.Equal(shrunk[:1000], original[:1000]) || bytes.Count(shrunk[1000:], []byte{0}) != len(original)-1000 {
				t.Fatalf("the shrunk file is stored as %d bytes, want its first 1000 bytes and zeros to %d", len(shrunk), len(original))
			}
		})
	}
}

func TestArchiveReportIsBounded(t *testing.T) {
	srv := startServer(t, server.Options{})
	data := srv.mkdir(t, "data")
	for i := range ports.MaxSkippedListed + 50 {
		if err := syscall.Mkfifo(filepath.Join(data, fmt.Sprintf("p%03d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A path of five 249-byte names, with two-byte characters, that sorts first.
	var long []string
	for range 5 {
		long = append(long, "0"+strings.Repeat("é", 124))
	}
	if err := os.MkdirAll(filepath.Join(data, filepath.Join(long[:4]...)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(data, filepath.Join(long...)), 0o644); err != nil {
		t.Fatal(err)
	}
	full := strings.Join(long, "/")
	for call, got := range archiveBoth(t, srv, data, nil) {
		r := got.report
		if len(r.Skipped) != ports.MaxSkippedListed || r.SkippedCount != ports.MaxSkippedListed+51 {
			t.Errorf("%s lists %d skipped files and counts %d, want %d and %d", call, len(r.Skipped), r.SkippedCount, ports.MaxSkippedListed, ports.MaxSkippedListed+51)
		}
		p := r.Skipped[0].Path
		short, ok := strings.CutSuffix(p, "…")
		if len(p) > 1024 || !ok || !utf8.ValidString(p) || !strings.HasPrefix(full, short) {
			t.Errorf("%s reports the %d-byte path as %d bytes: %q", call, len(full), len(p), p)
		}
	}
}

func TestArchiveFailureNamesTheSourceNotTheOutput(t *testing.T) {
	var opts server.Options
	// The file fails mid-read, after its header is written: the archive cannot
	// skip past it.
	server.SetFileOpenedHook(&opts, func(name string, f *os.File) {
		if name == "world/broken.dat" {
			f.Close()
		}
	})
	srv := startServer(t, opts)
	data := srv.mkdir(t, "data")
	srv.mkdir(t, "data", "world")
	writeRandomFile(t, srv.path("data", "world", "broken.dat"), 10_000, 0o644, 1)
	c := srv.client(t)
	out := srv.path("backup.tar.gz")
	_, err := c.CompressFiles(context.Background(), []string{data}, out, ports.ArchiveOptions{})
	var re *sidecar.RemoteError
	if !errors.As(err, &re) || !strings.Contains(re.Message, srv.path("data", "world", "broken.dat")) || strings.Contains(re.Message, out) {
		t.Fatalf("CompressFiles: %v, want the sidecar to name %s and not the output", err, srv.path("data", "world", "broken.dat"))
	}
	stream, err := c.StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	_, err = io.Copy(io.Discard, stream)
	if err == nil || !strings.Contains(err.Error(), srv.path("data", "world", "broken.dat")) {
		t.Fatalf("StreamArchive: %v, want an error naming %s", err, srv.path("data", "world", "broken.dat"))
	}
}

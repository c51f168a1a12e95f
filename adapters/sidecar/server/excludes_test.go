package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// writeFiles writes name→content below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// archiveWith archives data by StreamArchive or CompressFiles with opts, and
// returns the archive, its files and its report; for StreamArchive also the
// progress total once the stream is read.
func archiveWith(t *testing.T, srv *testServer, how, data string, opts ports.ArchiveOptions) ([]byte, map[string][]byte, ports.ArchiveReport, int64) {
	t.Helper()
	c := srv.client(t)
	ctx := context.Background()
	if how == "StreamArchive" {
		stream, err := c.StreamArchive(ctx, []string{data}, opts)
		if err != nil {
			t.Fatalf("StreamArchive: %v", err)
		}
		defer stream.Close()
		archive, err := io.ReadAll(stream)
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		files, _ := readTar(t, bytes.NewReader(archive))
		_, total := stream.Progress()
		return archive, files, stream.Report(), total
	}
	out := srv.path("backup.tar.gz")
	report, err := c.CompressFiles(ctx, []string{data}, out, opts)
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	archive, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)
	files, _ := readTar(t, bytes.NewReader(archive))
	return archive, files, report, report.Bytes
}

// TestArchiveLeavesOutExcludedPaths: the ignore file's patterns, then the
// request's, leave paths out of the archive, of its size and progress total;
// the report lists them; the walk never enters an excluded directory (a FIFO
// in one would be reported as skipped, an unreadable one too).
func TestArchiveLeavesOutExcludedPaths(t *testing.T) {
	srv := startServer(t, server.Options{})
	data := srv.mkdir(t, "data")
	writeFiles(t, data, map[string]string{
		".savepointignore":        "# what the game rewrites\nlogs/\n*.tmp\n!keep.tmp\n",
		"server.properties":       "motd=hi",
		"logs/latest.log":         strings.Repeat("log line\n", 1000),
		"logs/old/1.log":          "old",
		"a/b.tmp":                 "tmp",
		"a/keep.tmp":              "kept by a negation",
		"cache/big.bin":           strings.Repeat("x", 100000),
		"world/level.dat":         "level",
		"world/session.lock":      "lock",
		"mods/world/session.lock": "not the anchored one",
	})
	for _, dir := range []string{"logs", "cache"} {
		if err := syscall.Mkfifo(filepath.Join(data, dir, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	locked := filepath.Join(data, "cache", "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	opts := ports.ArchiveOptions{Excludes: []string{"cache/", "/world/session.lock", ""}}
	want := []string{".savepointignore", "a/keep.tmp", "mods/world/session.lock", "server.properties", "world/level.dat"}
	var wantBytes int64
	for _, name := range want {
		info, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		wantBytes += info.Size()
	}
	for _, how := range []string{"StreamArchive", "CompressFiles"} {
		_, files, report, total := archiveWith(t, srv, how, data, opts)
		var got []string
		for name := range files {
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s archived %q, want %q", how, got, want)
		}
		if report.SkippedCount != 0 {
			t.Errorf("%s skipped %+v: it entered an excluded directory", how, report.Skipped)
		}
		if report.Bytes != wantBytes || total != wantBytes {
			t.Errorf("%s: %d bytes, total %d, want %d", how, report.Bytes, total, wantBytes)
		}
		wantPatterns := []string{"logs/", "*.tmp", "!keep.tmp", "cache/", "/world/session.lock"}
		if !slices.Equal(report.Excludes, wantPatterns) {
			t.Errorf("%s reported the patterns %q, want %q", how, report.Excludes, wantPatterns)
		}
	}
}

// TestArchiveWithoutPatternsReportsNone: a tree without an ignore file and a
// request without patterns archive everything and report no patterns.
func TestArchiveWithoutPatternsReportsNone(t *testing.T) {
	srv := startServer(t, server.Options{})
	data := srv.mkdir(t, "data")
	writeFiles(t, data, map[string]string{"logs/a.log": "a", "b.tmp": "b"})
	for _, how := range []string{"StreamArchive", "CompressFiles"} {
		_, files, report, _ := archiveWith(t, srv, how, data, ports.ArchiveOptions{})
		if len(files) != 2 || len(report.Excludes) != 0 {
			t.Errorf("%s: files %d, patterns %q; want 2 and none", how, len(files), report.Excludes)
		}
	}
}

// TestArchiveRefusesBrokenPatterns: a pattern set over a limit, an ignore file
// too large, or a pattern that is not valid syntax is refused with
// InvalidArgument naming the limit or the pattern, and nothing is written.
func TestArchiveRefusesBrokenPatterns(t *testing.T) {
	srv := startServer(t, server.Options{})
	c := srv.client(t)
	ctx := context.Background()
	many := make([]string, 300)
	for i := range many {
		many[i] = "p" + strings.Repeat("x", i%5)
	}
	cases := []struct {
		name    string
		file    string
		excl    []string
		mention []string
	}{
		{"too many patterns", "", many, []string{"patterns", "300", "256"}},
		{"a pattern too long", "", []string{strings.Repeat("a", 300)}, []string{"pattern length"}},
		{"too many wildcards", "", []string{strings.Repeat("*a", 20)}, []string{"wildcards"}},
		{"an ignore file too large", strings.Repeat("# padding\n", 7000), nil, []string{"file size", ".savepointignore"}},
		{"too many patterns in the file", strings.Repeat("x\n", 300), nil, []string{"patterns", ".savepointignore"}},
		{"invalid syntax in the request", "", []string{"world/[abc"}, []string{"world/[abc"}},
		{"invalid syntax in the file", "ok\nlogs/[\n", nil, []string{"logs/[", ".savepointignore"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := srv.mkdir(t, "data-"+strings.ReplaceAll(tc.name, " ", "-"))
			writeFiles(t, data, map[string]string{"a": "a"})
			if tc.file != "" {
				writeFiles(t, data, map[string]string{".savepointignore": tc.file})
			}
			opts := ports.ArchiveOptions{Excludes: tc.excl}
			out := srv.path("refused.tar.gz")
			err := second(c.CompressFiles(ctx, []string{data}, out, opts))
			wantCode(t, err, codes.InvalidArgument, tc.mention...)
			wantRefusal(t, err, ports.ErrExcludesRefused, tc.mention...)
			if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("CompressFiles left %s behind: %v", out, err)
			}
			stream, err := c.StreamArchive(ctx, []string{data}, opts)
			if err == nil {
				var n int64
				n, err = io.Copy(io.Discard, stream)
				stream.Close()
				if n != 0 {
					t.Errorf("StreamArchive sent %d bytes before refusing", n)
				}
			}
			wantCode(t, err, codes.InvalidArgument, tc.mention...)
			wantRefusal(t, err, ports.ErrExcludesRefused, tc.mention...)
		})
	}
}

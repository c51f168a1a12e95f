package exclude

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadFileLines(t *testing.T) {
	fsys := fstest.MapFS{FileName: {Data: []byte("\uFEFF# cache\r\nlogs/\r\n\n*.tmp")}}
	got, err := ReadFile(fsys, FileName, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"# cache", "logs/", "", "*.tmp"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ReadFile = %q, want %q", got, want)
	}
	m, err := Parse(got, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match("logs", true) || !m.Match("a/b.tmp", false) {
		t.Error("the file's patterns do not apply")
	}
}

func TestReadFileMissingHoldsNothing(t *testing.T) {
	got, err := ReadFile(fstest.MapFS{}, FileName, Limits{})
	if err != nil || got != nil {
		t.Fatalf("ReadFile of a missing file = %q, %v; want nothing", got, err)
	}
}

func TestReadFileRefusesALargeFileUnread(t *testing.T) {
	// A sparse file of a terabyte: reading it whole would take hours.
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	f.Close()
	_, err = ReadFile(os.DirFS(dir), FileName, Limits{})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "file size" || le.Got != 1<<40 {
		t.Fatalf("ReadFile = %v, want a LimitError on the file size", err)
	}
	if !strings.Contains(err.Error(), "file size") || !strings.Contains(err.Error(), FileName) {
		t.Errorf("%q does not name the limit and the file", err)
	}
}

func TestReadFileRefusesOneLimitOver(t *testing.T) {
	fsys := fstest.MapFS{FileName: {Data: []byte(strings.Repeat("x", 101))}}
	_, err := ReadFile(fsys, FileName, Limits{MaxFileBytes: 100})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "file size" {
		t.Fatalf("ReadFile = %v, want a LimitError on the file size", err)
	}
	if _, err := ReadFile(fsys, FileName, Limits{MaxFileBytes: 101}); err != nil {
		t.Fatalf("a file at the limit: %v", err)
	}
}

func TestReadFileRefusesADirectory(t *testing.T) {
	fsys := fstest.MapFS{FileName + "/x": {}}
	if _, err := ReadFile(fsys, FileName, Limits{}); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a directory = %v, want an error", err)
	}
}

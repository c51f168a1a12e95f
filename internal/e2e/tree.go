package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one file, directory or symlink of a tree, as a backup must preserve it.
type Entry struct {
	Mode   fs.FileMode // type bits and permission bits
	SHA256 string      // regular files
	Link   string      // symlinks
}

// Tree maps slash-separated relative paths to entries.
type Tree map[string]Entry

// Snapshot reads the tree under dir.
func Snapshot(dir string) (Tree, error) {
	t := Tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Mode: info.Mode().Type() | info.Mode().Perm()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if e.SHA256, err = hashFile(p); err != nil {
				return err
			}
		}
		t[filepath.ToSlash(rel)] = e
		return nil
	})
	return t, err
}

// SnapshotArchive reads the tree a gzip-compressed tar holds, without extracting it.
func SnapshotArchive(r io.Reader) (Tree, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	t := Tree{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Clean(strings.TrimPrefix(h.Name, "./")), "/")
		if name == "." || name == "" {
			continue
		}
		e := Entry{Mode: h.FileInfo().Mode().Type() | h.FileInfo().Mode().Perm()}
		switch h.Typeflag {
		case tar.TypeSymlink:
			e.Link = h.Linkname
		case tar.TypeReg:
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return nil, err
			}
			e.SHA256 = hex.EncodeToString(sum.Sum(nil))
		}
		t[name] = e
	}
}

// Diff lists the differences between two trees (at most max), or nil if equal.
func Diff(want, got Tree, max int) []string {
	var out []string
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case !inGot:
			out = append(out, "missing "+k)
		case !inWant:
			out = append(out, "unexpected "+k)
		case w != g:
			out = append(out, fmt.Sprintf("%s: want %v %s%s, got %v %s%s", k, w.Mode, short(w.SHA256), w.Link, g.Mode, short(g.SHA256), g.Link))
		}
		if len(out) == max {
			break
		}
	}
	return out
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// node describes one entry of a directory tree the way a user would compare two
// trees: type, permission bits, content hash, link target, modification second.
type node struct {
	Type   string
	Mode   fs.FileMode
	Size   int64
	SHA256 string
	Target string
	MTime  int64
}

func (n node) String() string {
	switch n.Type {
	case "symlink":
		return "symlink -> " + n.Target
	case "dir":
		return fmt.Sprintf("dir %v mtime %d", n.Mode, n.MTime)
	}
	return fmt.Sprintf("%s %v %d bytes sha256 %.12s mtime %d", n.Type, n.Mode, n.Size, n.SHA256, n.MTime)
}

// snapshot walks dir without following links.
func snapshot(t testing.TB, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := node{Mode: info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), MTime: info.ModTime().Unix()}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			n = node{Type: "symlink"}
			if n.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case d.IsDir():
			n.Type = "dir"
		case d.Type().IsRegular():
			n.Type, n.Size = "file", info.Size()
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			n.SHA256 = hex.EncodeToString(h.Sum(nil))
		default:
			n.Type = info.Mode().Type().String()
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree reports every difference between two snapshots.
func sameTree(t testing.TB, what string, got, want map[string]node) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing (want %v)", what, name, w)
		case g != w:
			t.Errorf("%s: %s is %v, want %v", what, name, g, w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected %s (%v)", what, name, g)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

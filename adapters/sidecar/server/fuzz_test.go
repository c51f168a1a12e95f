package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzExtract from fuzzSeeds")

// fuzzSeeds are the starting points of FuzzExtract: valid archives (plain gzip, and
// the sidecar's own independent members) and one of each hostile shape, as raw tar
// (which the fuzz function compresses, so that mutations explore the tar format
// rather than break the gzip framing).
func fuzzSeeds(t testing.TB) map[string][]byte {
	valid := tarGz(t, dir("world"), dir("world/region"), file("world/region/r.0.0.mca", strings.Repeat("chunk", 100)),
		file("eula.txt", "eula=true\n"), symlink("latest", "world/region/r.0.0.mca"), symlink("world/up", "../eula.txt"))
	truncated := valid[:len(valid)/2]
	badCRC := bytes.Clone(valid)
	badCRC[len(badCRC)-8] ^= 0xff
	members := blockGzip(t, tarBytes(t, dir("world"), file("world/level.dat", strings.Repeat("level", 300_000)), file("eula.txt", "eula=true\n")))
	return map[string][]byte{
		"valid-targz":        valid,
		"valid-members":      members,
		"truncated-members":  members[:len(members)-100],
		"valid-tar":          tarBytes(t, dir("a"), file("a/b.txt", "hello"), file("c", ""), symlink("d", "a/b.txt")),
		"dotdot":             tarBytes(t, file("../escaped", "x")),
		"absolute":           tarBytes(t, file("/tmp/savepoint-fuzz-absolute", "x")),
		"symlink-out":        tarBytes(t, symlink("l", "../outside"), file("l/f", "x")),
		"links-out":          tarBytes(t, symlink("mods", "/srv/shared/mods"), symlink("up", "../../.."), symlink("file", "../outside/file")),
		"absolute-then-file": tarBytes(t, symlink("evil", "/tmp/savepoint-fuzz-outside"), file("evil/x", "x")),
		"link-then-same":     tarBytes(t, symlink("evil", "../outside/file"), file("evil", "x"), symlink("d", "../outside"), dir("d"), file("d/f", "x")),
		"symlink-chain":      tarBytes(t, symlink("here", "."), symlink("up", "here/.."), file("up/f", "x")),
		"beneath-symlink":    tarBytes(t, dir("sub"), symlink("s", "sub"), file("s/f", "x")),
		"hardlink":           tarBytes(t, file("f", "x"), special(tar.TypeLink, "h", "f")),
		"fifo":               tarBytes(t, special(tar.TypeFifo, "p", "")),
		"device":             tarBytes(t, special(tar.TypeChar, "c", "")),
		"setuid":             tarBytes(t, entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "suid", Mode: 0o4755, Size: 2}, data: []byte("#!")}),
		"gnu-sparse":         gnuSparse("sparse", 1<<30),
		"pax-sparse":         paxSparse("sparse", 1<<30),
		"duplicate-names":    tarBytes(t, file("f", "one"), symlink("f", "g"), file("f", "two"), dir("d"), dir("d")),
		"truncated-gzip":     truncated,
		"bad-crc":            badCRC,
		"savepoint-names":    tarBytes(t, dir(".savepoint-new-x"), file(".savepoint-new-x/f", "x"), file(".savepoint-tmp-0123456789abcdef", "x")),
		"readonly-directory": tarBytes(t, entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "ro/", Mode: 0o500}}, file("ro/f", "x")),
	}
}

var gzipMagic = []byte{0x1f, 0x8b}

// FuzzExtract feeds arbitrary archives to Extract. Its seeds are the committed
// corpus in testdata/fuzz/FuzzExtract (see TestFuzzCorpusIsCommitted). Every run
// extracts into its own temporary directory beside a directory of files, and
// checks that nothing outside the destination changed (links out of it are
// accepted, writes through them never are), that a refused archive left the
// destination exactly as it was, and that an accepted one holds nothing unsafe.
func FuzzExtract(f *testing.F) {
	limits := server.Limits{MaxTotalBytes: 1 << 20, MaxEntryBytes: 256 << 10, MaxEntries: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		archive := data
		if !bytes.HasPrefix(data, gzipMagic) {
			archive = blockGzip(t, data)
		}
		base := fastTempDir(t)
		dest := filepath.Join(base, "dest")
		if err := os.MkdirAll(filepath.Join(dest, "old"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dest, "old", "keep.txt"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, "sentinel"), []byte("sentinel"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(base, "outside"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, "outside", "file"), []byte("outside"), 0o644); err != nil {
			t.Fatal(err)
		}
		before, around := snapshot(t, dest), outsideDest(t, base)
		err := server.Extract(context.Background(), bytes.NewReader(archive), dest, limits)
		t.Cleanup(func() { makeWritable(dest) })

		// Nothing is written outside the destination, whatever happened and
		// wherever the archive's links point.
		sameTree(t, "the files around the destination", outsideDest(t, base), around)
		for _, p := range []string{"/tmp/savepoint-fuzz-outside", "/tmp/savepoint-fuzz-absolute"} {
			if _, err := os.Lstat(p); err == nil {
				t.Fatalf("%s was written", p)
			}
		}
		if err != nil {
			var ae *server.ArchiveError
			var ne *server.NoSpaceError
			if !errors.As(err, &ae) && !errors.As(err, &ne) {
				t.Fatalf("Extract failed with %T %v, want an *ArchiveError", err, err)
			}
			sameTree(t, "the destination after a refused archive", snapshot(t, dest), before)
			return
		}
		checkExtracted(t, dest, topNames(archive))
	})
}

// topNames returns the first components of the names in a tar.gz that extracted
// successfully.
func topNames(archive []byte) map[string]bool {
	names := map[string]bool{}
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return names
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return names
		}
		names[strings.SplitN(path.Clean(hdr.Name), "/", 2)[0]] = true
	}
}

// outsideDest snapshots base without its dest directory.
func outsideDest(t *testing.T, base string) map[string]node {
	t.Helper()
	s := snapshot(t, base)
	for name := range s {
		if name == "dest" || strings.HasPrefix(name, "dest"+string(filepath.Separator)) {
			delete(s, name)
		}
	}
	return s
}

// checkExtracted asserts what every accepted archive must leave: nothing at the
// top of dest that the archive does not name (no staging directory left), no
// special files and no special mode bits. Links may point anywhere.
func checkExtracted(t *testing.T, dest string, top map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !top[e.Name()] {
			t.Fatalf("%s holds %s, which the archive does not name", dest, e.Name())
		}
	}
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dest {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if m := info.Mode(); m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			return fmt.Errorf("%s has special mode bits: %v", p, m)
		}
		switch t := d.Type(); {
		case t.IsDir(), t.IsRegular(), t&fs.ModeSymlink != 0:
		default:
			return fmt.Errorf("%s is a special file (%v)", p, t)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fastTempDir is a temporary directory on tmpfs when the machine has one: creating a
// file there costs microseconds instead of the ~0.5 ms of the CI disk, which makes
// the difference between a fuzzer that explores and one that waits.
func fastTempDir(t *testing.T) string {
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "savepoint-fuzz-"); err == nil {
			t.Cleanup(func() {
				makeWritable(dir)
				os.RemoveAll(dir)
			})
			return dir
		}
	}
	return t.TempDir()
}

// makeWritable lets the test's cleanup remove directories an archive made
// read-only (as root it could anyway; as a user it could not).
func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// TestFuzzCorpusIsCommitted keeps testdata/fuzz/FuzzExtract in step with
// fuzzSeeds, so that `go test` replays every seed even without -fuzz and the
// corpus can be read and extended by hand. Run with -update-corpus to rewrite it.
func TestFuzzCorpusIsCommitted(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzExtract")
	for name, seed := range fuzzSeeds(t) {
		want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", seed)
		p := filepath.Join(dir, "seed-"+name)
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("seed %s is not committed (run go test -run TestFuzzCorpusIsCommitted -update-corpus): %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("seed %s differs from the committed file (run with -update-corpus)", name)
		}
	}
}

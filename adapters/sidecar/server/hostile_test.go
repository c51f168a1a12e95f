package server_test

import (
	"archive/tar"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
)

// entry is one archive member: a header and, for regular files, the data (zeros
// of the header's size when nil).
type entry struct {
	hdr  tar.Header
	data []byte
}

func file(name string, data string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))}, data: []byte(data)}
}

func dir(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755}}
}

func symlink(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func special(typ byte, name, link string) entry {
	return entry{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o644, Devmajor: 1, Devminor: 3}}
}

// tarBytes builds an uncompressed tar of entries.
func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.ModTime.IsZero() {
			hdr.ModTime = time.Unix(1_700_000_000, 0)
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatalf("header %s: %v", hdr.Name, err)
		}
		data := e.data
		if data == nil && hdr.Typeflag == tar.TypeReg {
			data = make([]byte, hdr.Size)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatalf("data %s: %v", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := gz.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGz(t testing.TB, entries ...entry) []byte { return gzipBytes(t, tarBytes(t, entries...)) }

// blockGzip compresses raw the way the sidecar writes archives: independent gzip
// members of at most 1 MiB of input, each announcing its total length in an extra
// field (subfield "SP", 4 bytes, little-endian). It is written from that description
// rather than with the sidecar's code, so tests also pin the format.
func blockGzip(t testing.TB, raw []byte) []byte {
	t.Helper()
	var out []byte
	for first := true; first || len(raw) > 0; first = false {
		block := raw[:min(len(raw), 1<<20)]
		raw = raw[len(block):]
		var body bytes.Buffer
		fw, _ := flate.NewWriter(&body, flate.BestSpeed)
		fw.Write(block)
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		n := 20 + body.Len() + 8
		out = append(out, 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, 8, 0, 'S', 'P', 4, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = append(out, body.Bytes()...)
		out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(block))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(block)))
	}
	return out
}

// rawHeader builds a tar header block by hand, for what archive/tar refuses to
// write (sparse entries). set edits the block before the checksum is computed.
func rawHeader(name string, typ byte, size int64, gnu bool, set func(b []byte)) []byte {
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], fmt.Sprintf("%011o\x00", 1_700_000_000))
	b[156] = typ
	if gnu {
		copy(b[257:], "ustar  \x00")
	} else {
		copy(b[257:], "ustar\x0000")
	}
	if set != nil {
		set(b)
	}
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }

// gnuSparse is an old-GNU sparse entry: one 512-byte data block standing for a
// file of declared bytes, the rest holes.
func gnuSparse(name string, declared int64) []byte {
	hdr := rawHeader(name, 'S', 512, true, func(b []byte) {
		copy(b[386:], fmt.Sprintf("%011o\x00", 0))   // sparse[0].offset
		copy(b[398:], fmt.Sprintf("%011o\x00", 512)) // sparse[0].numbytes
		copy(b[483:], fmt.Sprintf("%011o\x00", declared))
	})
	out := append(hdr, make([]byte, 512)...)
	return append(out, make([]byte, 1024)...) // end of archive
}

// paxSparse is a GNU PAX 1.0 sparse entry declaring declared bytes.
func paxSparse(name string, declared int64) []byte {
	rec := func(k, v string) string {
		s := fmt.Sprintf(" %s=%s\n", k, v)
		n := len(s) + 1
		for len(fmt.Sprint(n))+len(s) != n {
			n = len(fmt.Sprint(n)) + len(s)
		}
		return fmt.Sprint(n) + s
	}
	pax := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") +
		rec("GNU.sparse.name", name) + rec("GNU.sparse.realsize", fmt.Sprint(declared))
	out := rawHeader("PaxHeaders/"+name, 'x', int64(len(pax)), false, nil)
	out = append(out, pad([]byte(pax))...)
	sparseMap := pad([]byte("1\n0\n512\n"))
	out = append(out, rawHeader("GNUSparseFile/"+name, '0', int64(len(sparseMap)+512), false, nil)...)
	out = append(out, sparseMap...)
	out = append(out, make([]byte, 512)...)
	return append(out, make([]byte, 1024)...)
}

// manyEntries is a tar.gz of n empty files whose names repeat every 1000. It is
// built from one compressed member of 1000 headers repeated (concatenated gzip
// members are one stream), so it costs almost nothing to make.
func manyEntries(t testing.TB, n int) []byte {
	t.Helper()
	var block bytes.Buffer
	tw := tar.NewWriter(&block)
	for i := range 1000 {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("tiny/f%04d", i), Mode: 0o644, ModTime: time.Unix(1_700_000_000, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Flush() // no Close: the end-of-archive marker comes once, at the end
	member := gzipBytes(t, block.Bytes())
	out := bytes.Repeat(member, n/1000)
	return append(out, gzipBytes(t, make([]byte, 1024))...)
}

// victim is the setting of an extraction: a destination with contents, a
// directory and a file beside it that escaping entries would aim at.
type victim struct {
	srv     *testServer
	base    string // holds dest, outside/ and sentinel.txt
	dest    string
	archive string // where the archive is staged
}

func newVictim(t *testing.T, limits server.Limits) *victim {
	t.Helper()
	srv := startServer(t, server.Options{Limits: limits})
	v := &victim{srv: srv, base: srv.mkdir(t, "base"), archive: filepath.Join(srv.mkdir(t, "tmp"), "restore.tar.gz")}
	v.dest = filepath.Join(v.base, "data")
	for p, content := range map[string]string{
		"data/server.properties":  "motd=hello\n",
		"data/world/level.dat":    "level",
		"outside/secret.txt":      "secret",
		"sentinel.txt":            "do not touch",
		"data/world/region/r.mca": strings.Repeat("r", 5000),
	} {
		full := filepath.Join(v.base, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("world/level.dat", filepath.Join(v.dest, "level-link")); err != nil {
		t.Fatal(err)
	}
	return v
}

// extract stages archive and extracts it into the destination.
func (v *victim) extract(t *testing.T, archive []byte) error {
	t.Helper()
	if err := os.WriteFile(v.archive, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	return v.srv.client(t).ExtractTo(context.Background(), v.archive, v.dest, nil)
}

// absoluteTarget is a path outside every root that an absolute entry aims at.
func absoluteTarget(t *testing.T) string {
	p := filepath.Join(os.TempDir(), fmt.Sprintf("savepoint-hostile-%d", os.Getpid()))
	t.Cleanup(func() { os.RemoveAll(p) })
	return p
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	abs := absoluteTarget(t)
	valid := tarGz(t, dir("world"), file("world/level.dat", strings.Repeat("new level ", 20_000)))
	cases := []struct {
		name    string
		archive func(t *testing.T) []byte
		limits  server.Limits
		entry   string // the entry the error must name
		reason  string // and a word of the reason
	}{
		{name: "a name climbing out with ../", entry: "../escaped.txt", reason: "..",
			archive: func(t *testing.T) []byte { return tarGz(t, file("ok.txt", "ok"), file("../escaped.txt", "pwned")) }},
		{name: "a name climbing out from a subdirectory", entry: "world/../../escaped.txt", reason: "..",
			archive: func(t *testing.T) []byte { return tarGz(t, dir("world"), file("world/../../escaped.txt", "pwned")) }},
		{name: "an absolute name", entry: abs, reason: "absolute",
			archive: func(t *testing.T) []byte { return tarGz(t, file(abs, "pwned")) }},
		{name: "a symlink out of the destination, then a file written through it", entry: "link/pwned.txt", reason: "beneath the symbolic link",
			archive: func(t *testing.T) []byte {
				return tarGz(t, symlink("link", "../outside"), file("link/pwned.txt", "pwned"))
			}},
		{name: "an absolute symlink, then a file written through it", entry: "etc/cron.d/pwned", reason: "beneath the symbolic link",
			archive: func(t *testing.T) []byte { return tarGz(t, symlink("etc", "/etc"), file("etc/cron.d/pwned", "pwned")) }},
		{name: "a two-hop symlink chain out of the destination", entry: "hop1/pwned.txt", reason: "beneath the symbolic link",
			archive: func(t *testing.T) []byte {
				return tarGz(t, symlink("hop1", "hop2"), symlink("hop2", "../outside"), file("hop1/pwned.txt", "pwned"))
			}},
		{name: "a two-hop chain climbing through a link to the destination itself", entry: "up/outside/pwned.txt", reason: "beneath the symbolic link",
			archive: func(t *testing.T) []byte {
				return tarGz(t, symlink("here", "."), symlink("up", "here/.."), file("up/outside/pwned.txt", "pwned"))
			}},
		{name: "a file beneath an internal symlink", entry: "inner/pwned.txt", reason: "beneath the symbolic link",
			archive: func(t *testing.T) []byte {
				return tarGz(t, dir("sub"), symlink("inner", "sub"), file("inner/pwned.txt", "pwned"))
			}},
		{name: "a symlink replacing a directory", entry: "world", reason: "replace a directory",
			archive: func(t *testing.T) []byte {
				return tarGz(t, dir("world"), file("world/a", "a"), symlink("world", "."))
			}},
		{name: "a hard link to a file outside", entry: "hardlink", reason: "hard link",
			archive: func(t *testing.T) []byte { return tarGz(t, special(tar.TypeLink, "hardlink", "../sentinel.txt")) }},
		{name: "a hard link to an absolute path", entry: "passwd", reason: "hard link",
			archive: func(t *testing.T) []byte { return tarGz(t, special(tar.TypeLink, "passwd", "/etc/passwd")) }},
		{name: "a character device", entry: "null", reason: "device",
			archive: func(t *testing.T) []byte { return tarGz(t, special(tar.TypeChar, "null", "")) }},
		{name: "a block device", entry: "sda", reason: "device",
			archive: func(t *testing.T) []byte { return tarGz(t, special(tar.TypeBlock, "sda", "")) }},
		{name: "a FIFO", entry: "pipe", reason: "FIFO",
			archive: func(t *testing.T) []byte { return tarGz(t, special(tar.TypeFifo, "pipe", "")) }},
		{name: "a GNU sparse entry declaring 8 GiB", entry: "sparse-gnu", reason: "sparse",
			archive: func(t *testing.T) []byte { return gzipBytes(t, gnuSparse("sparse-gnu", 8<<30-1)) }},
		{name: "a PAX sparse entry declaring 100 GiB", entry: "sparse-pax", reason: "sparse",
			archive: func(t *testing.T) []byte { return gzipBytes(t, paxSparse("sparse-pax", 100<<30)) }},
		// The cap is lowered so that the test does not spend its time creating the
		// 2,000 files before it: creating a file costs ~0.4 ms on the CI disk.
		{name: "1,000,000 tiny entries over the entry cap", limits: server.Limits{MaxEntries: 2_000}, entry: "tiny/f0000", reason: "more than 2000 entries",
			archive: func(t *testing.T) []byte { return manyEntries(t, 1_000_000) }},
		{name: "an entry over the per-entry cap", limits: server.Limits{MaxEntryBytes: 1 << 20}, entry: "big.bin", reason: "per-entry cap",
			archive: func(t *testing.T) []byte {
				return tarGz(t, file("small.bin", "x"), entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "big.bin", Mode: 0o644, Size: 1<<20 + 1}})
			}},
		{name: "entries over the total cap", limits: server.Limits{MaxTotalBytes: 1 << 20}, entry: "part-3.bin", reason: "over the cap",
			archive: func(t *testing.T) []byte {
				e := func(n int) entry {
					return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("part-%d.bin", n), Mode: 0o644, Size: 400 << 10}}
				}
				return tarGz(t, e(1), e(2), e(3))
			}},
		{name: "a truncated gzip stream", entry: "world/level.dat", reason: "truncated",
			archive: func(t *testing.T) []byte { return valid[:len(valid)*2/3] }},
		{name: "a bad gzip checksum", entry: "world/level.dat", reason: "checksum",
			archive: func(t *testing.T) []byte {
				bad := bytes.Clone(valid)
				bad[len(bad)-8] ^= 0xff // the CRC-32 in the trailer
				return bad
			}},
		{name: "garbage after the gzip stream", entry: "world/level.dat", reason: "corrupt",
			archive: func(t *testing.T) []byte { return append(bytes.Clone(valid), "#!/bin/sh\nrm -rf /\n"...) }},
		{name: "a plain tar without gzip", reason: "corrupt",
			archive: func(t *testing.T) []byte { return tarBytes(t, file("plain.txt", "plain")) }},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			v := newVictim(t, tc.limits)
			before := snapshot(t, v.base)
			err := v.extract(t, tc.archive(t))
			wantCode(t, err, codes.InvalidArgument, tc.reason)
			if tc.entry != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.entry)) {
				t.Fatalf("error %q does not name the entry %q", err, tc.entry)
			}
			// The destination and everything beside it are exactly as they were:
			// no staging directory left, nothing written outside.
			sameTree(t, "the files around the extraction", snapshot(t, v.base), before)
			if _, err := os.Lstat(abs); err == nil {
				t.Fatalf("%s was written", abs)
			}
		})
	}
}

func TestExtractStripsSpecialModeBits(t *testing.T) {
	v := newVictim(t, server.Limits{})
	mode := func(e entry, m int64) entry { e.hdr.Mode = m; return e }
	archive := tarGz(t,
		mode(file("setuid", "#!/bin/sh\n"), 0o4755),
		mode(file("setgid", "#!/bin/sh\n"), 0o2750),
		mode(dir("shared"), 0o2775),
		mode(dir("sticky"), 0o1777),
		mode(file("sticky/f", "x"), 0o1644),
	)
	if err := v.extract(t, archive); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	want := map[string]os.FileMode{"setuid": 0o755, "setgid": 0o750, "shared": os.ModeDir | 0o775, "sticky": os.ModeDir | 0o777, "sticky/f": 0o644}
	for name, m := range want {
		info, err := os.Lstat(filepath.Join(v.dest, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode() & (os.ModeDir | os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky); got != m {
			t.Errorf("%s has mode %v, want %v", name, got, m)
		}
	}
}

func TestExtractReplacesTheDestination(t *testing.T) {
	v := newVictim(t, server.Limits{})
	archive := tarGz(t, dir("world"), file("world/level.dat", "restored level"), file("eula.txt", "eula=true\n"))
	if err := v.extract(t, archive); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	got := snapshot(t, v.dest)
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	if len(got) != 3 || got["world/level.dat"].Size != int64(len("restored level")) || got["eula.txt"].Type != "file" {
		t.Fatalf("the destination holds %v, want exactly world/, world/level.dat and eula.txt", names)
	}
	if _, err := os.Stat(filepath.Join(v.base, "outside/secret.txt")); err != nil {
		t.Fatalf("a file beside the destination was touched: %v", err)
	}
}

func TestExtractKeepsLinksButNeverWritesThroughThem(t *testing.T) {
	t.Run("links that point anywhere are restored as they were", func(t *testing.T) {
		v := newVictim(t, server.Limits{})
		targets := map[string]string{
			"mods":     "/srv/shared/mods",
			"secret":   filepath.Join(v.base, "outside", "secret.txt"),
			"up":       "../outside",
			"world/up": "../../../..",
			"dangling": "not/there",
		}
		entries := []entry{dir("world")}
		for name, target := range targets {
			entries = append(entries, symlink(name, target))
		}
		if err := v.extract(t, tarGz(t, entries...)); err != nil {
			t.Fatalf("ExtractTo: %v", err)
		}
		for name, target := range targets {
			if got, err := os.Readlink(filepath.Join(v.dest, name)); err != nil || got != target {
				t.Errorf("%s links to %q (%v), want %q", name, got, err, target)
			}
		}
	})

	t.Run("a link with an empty target is refused", func(t *testing.T) {
		v := newVictim(t, server.Limits{})
		before := snapshot(t, v.base)
		wantCode(t, v.extract(t, tarGz(t, symlink("empty", ""))), codes.InvalidArgument, `"empty"`, "empty target")
		sameTree(t, "the files around the extraction", snapshot(t, v.base), before)
	})

	writes := []struct {
		name    string
		archive func(v *victim) []entry
		want    map[string]string // regular files in the destination afterwards, if accepted
	}{
		{name: "a file beneath a link to an absolute directory outside is refused",
			archive: func(v *victim) []entry {
				return []entry{symlink("evil", filepath.Join(v.base, "outside")), file("evil/x", "pwned")}
			}},
		{name: "a file named like a link to a file outside replaces the link",
			archive: func(v *victim) []entry {
				return []entry{symlink("evil", filepath.Join(v.base, "outside", "secret.txt")), file("evil", "mine")}
			},
			want: map[string]string{"evil": "mine"}},
		{name: "a directory named like a link to a directory outside replaces the link",
			archive: func(v *victim) []entry {
				return []entry{symlink("evil", "../outside"), dir("evil"), file("evil/x", "mine")}
			},
			want: map[string]string{"evil/x": "mine"}},
		{name: "a link named like a link replaces it",
			archive: func(v *victim) []entry {
				return []entry{symlink("evil", "../outside"), symlink("evil", "elsewhere"), file("elsewhere", "mine")}
			},
			want: map[string]string{"elsewhere": "mine"}},
	}
	for _, tc := range writes {
		t.Run(tc.name, func(t *testing.T) {
			v := newVictim(t, server.Limits{})
			outside := snapshot(t, filepath.Join(v.base, "outside"))
			err := v.extract(t, tarGz(t, tc.archive(v)...))
			sameTree(t, "the directory outside", snapshot(t, filepath.Join(v.base, "outside")), outside)
			if b, _ := os.ReadFile(filepath.Join(v.base, "sentinel.txt")); string(b) != "do not touch" {
				t.Fatal("the file beside the destination changed")
			}
			if tc.want == nil {
				wantCode(t, err, codes.InvalidArgument, "beneath the symbolic link")
				return
			}
			if err != nil {
				t.Fatalf("ExtractTo: %v", err)
			}
			for name, content := range tc.want {
				info, err := os.Lstat(filepath.Join(v.dest, name))
				if err != nil || !info.Mode().IsRegular() {
					t.Fatalf("%s is not a regular file: %v", name, err)
				}
				if b, _ := os.ReadFile(filepath.Join(v.dest, name)); string(b) != content {
					t.Fatalf("%s holds %q, want %q", name, b, content)
				}
			}
		})
	}
}

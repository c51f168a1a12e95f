package portstest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// FileIOHarness describes a ports.FileIO implementation to the contract suite.
// Only New is required.
type FileIOHarness struct {
	// New returns a FileIO for one subtest and an existing, empty directory in which
	// the subtest may create files, named the way the FileIO names paths (absolute
	// paths inside the game-server pod). It registers its own cleanup.
	New func(t *testing.T) (fio ports.FileIO, dir string)
	// LargeSize is the size of the largest file round-tripped; default 8 MiB + 1,
	// several chunks of any sensible chunk size.
	LargeSize int64
}

// RunFileIOTests runs the FileIO contract suite: the port's documented semantics.
// It uses nothing but the FileIO itself: trees are made by extracting archives the
// suite builds, and inspected by archiving them. What the suite requires beyond the
// port's doc comments is listed in the package documentation.
func RunFileIOTests(t *testing.T, h FileIOHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: FileIOHarness.New is nil")
	}
	s := fileIOSuite{h: h, large: h.LargeSize}
	if s.large == 0 {
		s.large = 8<<20 + 1
	}
	run(t, func(*testing.T) fileIOSuite { return s }, []behaviour[fileIOSuite]{
		{"files written are read back byte for byte", fileIOSuite.roundTrips},
		{"a write of unknown size is read back byte for byte", fileIOSuite.unknownSize},
		{"a write replaces an existing file", fileIOSuite.writeReplaces},
		{"reading a missing file fails with ErrCluster", fileIOSuite.readMissing},
		{"a reader closed early releases the stream", fileIOSuite.closeEarly},
		{"deleting is idempotent", fileIOSuite.deleteIsIdempotent},
		{"a write with fewer bytes than announced leaves no file", fileIOSuite.fewerBytesThanAnnounced},
		{"a write with more bytes than announced leaves no file", fileIOSuite.moreBytesThanAnnounced},
		{"a write whose reader fails leaves no file", fileIOSuite.readerFails},
		{"a cancelled write leaves no file", fileIOSuite.cancelledWrite},
		{"compressing then extracting reproduces the tree", fileIOSuite.compressThenExtract},
		{"files named like a sidecar's temporary files are data like any other", fileIOSuite.sidecarLikeNames},
		{"links pointing outside the tree are kept as links", fileIOSuite.linksOutside},
		{"streamed archives hold the same tree, or the sidecar says it cannot stream", fileIOSuite.streamArchive},
		{"archive reports count what the archives hold", fileIOSuite.archiveReports},
		{"compressing a missing source fails with ErrCluster", fileIOSuite.compressMissing},
		{"extracting replaces the destination's contents exactly", fileIOSuite.extractReplaces},
		{"a refused archive leaves the destination as it was", fileIOSuite.extractRefused},
		{"a truncated archive leaves the destination as it was", fileIOSuite.extractTruncated},
		{"a restored archive replaces the destination's contents exactly, or the FileIO says it cannot restore", fileIOSuite.restoreArchive},
		{"a damaged archive is not restored: ErrArchiveDamaged, destination as it was", fileIOSuite.restoreDamaged},
	})
}

// fileIOSuite is the harness, with its defaults filled in. Its methods are the
// behaviours RunFileIOTests lists, and helpers; a behaviour makes the FileIOs it
// needs, one per case where it has several.
type fileIOSuite struct {
	h     FileIOHarness
	large int64
}

// fileIOEnv is one FileIO and its scratch directory, with helpers that fail the
// test when a step that should work does not.
type fileIOEnv struct {
	t   *testing.T
	ctx context.Context
	fio ports.FileIO
	dir string
}

// env makes a FileIO for t. Its context bounds the subtest: a FileIO that hangs
// fails the test instead of stalling the run.
func (s fileIOSuite) env(t *testing.T) fileIOEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	fio, dir := s.h.New(t)
	return fileIOEnv{t: t, ctx: ctx, fio: fio, dir: dir}
}

func (s fileIOSuite) roundTrips(t *testing.T) {
	for _, size := range []int64{0, 1, 4095, 256<<10 + 1, s.large} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			f := s.env(t)
			p := path.Join(f.dir, fmt.Sprintf("file-%d.bin", size))
			want := randomBytes(size, uint64(size))
			f.write(p, want)
			assertSameBytes(t, "read back", f.mustRead(p), want)
		})
	}
}

func (s fileIOSuite) unknownSize(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "unknown.bin")
	want := randomBytes(300<<10, 9)
	if err := f.fio.WriteFile(f.ctx, p, -1, bytes.NewReader(want)); err != nil {
		t.Fatalf("WriteFile with size -1: %v", err)
	}
	assertSameBytes(t, "read back", f.mustRead(p), want)
}

func (s fileIOSuite) writeReplaces(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "replaced.bin")
	f.write(p, randomBytes(5000, 1))
	want := randomBytes(1200, 2)
	f.write(p, want)
	assertSameBytes(t, "after the second write", f.mustRead(p), want)
}

func (s fileIOSuite) readMissing(t *testing.T) {
	f := s.env(t)
	f.assertAbsent(path.Join(f.dir, "never-written.bin"))
	f.assertAbsent(path.Join(f.dir, "no-such-dir", "file.bin"))
}

func (s fileIOSuite) closeEarly(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "big.bin")
	want := randomBytes(4<<20, 3)
	f.write(p, want)
	for range 3 {
		r, err := f.fio.ReadFile(f.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 1000)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatalf("reading the first bytes: %v", err)
		}
		assertSameBytes(t, "the first bytes", head, want[:1000])
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	assertSameBytes(t, "a full read after early closes", f.mustRead(p), want)
}

func (s fileIOSuite) deleteIsIdempotent(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "doomed.bin")
	f.write(p, randomBytes(100, 4))
	for i := range 2 {
		if err := f.fio.DeleteFile(f.ctx, p); err != nil {
			t.Fatalf("DeleteFile #%d: %v", i+1, err)
		}
		f.assertAbsent(p)
	}
	if err := f.fio.DeleteFile(f.ctx, path.Join(f.dir, "never-written.bin")); err != nil {
		t.Fatalf("DeleteFile of a file that never existed: %v", err)
	}
}

func (s fileIOSuite) fewerBytesThanAnnounced(t *testing.T) { s.sizeMismatch(t, 1000, 600) }

func (s fileIOSuite) moreBytesThanAnnounced(t *testing.T) { s.sizeMismatch(t, 600, 1000) }

// sizeMismatch writes sent bytes to a file announced to have announced bytes.
func (s fileIOSuite) sizeMismatch(t *testing.T, announced, sent int64) {
	f := s.env(t)
	p := path.Join(f.dir, "mismatch.bin")
	err := f.fio.WriteFile(f.ctx, p, announced, bytes.NewReader(randomBytes(sent, 5)))
	if err == nil {
		t.Fatalf("WriteFile announcing %d bytes and sending %d succeeded", announced, sent)
	}
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("error %v does not wrap ErrCluster", err)
	}
	f.assertAbsent(p)
	if names := f.names(f.dir); len(names) != 0 {
		t.Fatalf("the directory holds %v after the failed write, want nothing", names)
	}
}

func (s fileIOSuite) readerFails(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "half.bin")
	broken := errors.New("the download broke")
	const size = 2 << 20
	err := f.fio.WriteFile(f.ctx, p, size, &failingReader{r: bytes.NewReader(randomBytes(size, 6)), remaining: size / 2, err: broken})
	if err == nil {
		t.Fatal("WriteFile succeeded although its reader failed")
	}
	f.assertAbsent(p)
}

func (s fileIOSuite) cancelledWrite(t *testing.T) {
	f := s.env(t)
	p := path.Join(f.dir, "cancelled.bin")
	const size = 4 << 20
	wctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	err := f.fio.WriteFile(wctx, p, size, &callbackReader{r: bytes.NewReader(randomBytes(size, 7)), at: size / 4, fn: cancel})
	if err == nil {
		t.Fatal("WriteFile succeeded although its context was cancelled")
	}
	// The sidecar learns of the cancellation asynchronously; whatever it does next
	// must not make the file appear.
	f.assertAbsent(p)
	time.Sleep(200 * time.Millisecond)
	f.assertAbsent(p)
	if names := f.names(f.dir); len(names) != 0 {
		t.Fatalf("the directory holds %v after the cancelled write, want nothing", names)
	}
}

func (s fileIOSuite) compressThenExtract(t *testing.T) {
	f := s.env(t)
	want := sampleTree(1)
	src := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, want), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	out := path.Join(f.dir, "backup.tar.gz")
	if _, err := f.fio.CompressFiles(f.ctx, []string{src}, out, ports.ArchiveOptions{}); err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	r, err := f.fio.ReadFile(f.ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	assertSameTree(t, "the archive of the extracted tree", readArchive(t, r), want)

	// And back: the archive the FileIO made restores the same tree elsewhere.
	again := path.Join(f.dir, "restored")
	if err := f.fio.ExtractTo(f.ctx, out, again, nil); err != nil {
		t.Fatalf("ExtractTo of the FileIO's own archive: %v", err)
	}
	assertSameTree(t, "the tree restored from the FileIO's archive", f.listing(again), want)
}

func (s fileIOSuite) sidecarLikeNames(t *testing.T) {
	tree := sampleTree(10)
	for name, e := range map[string]archiveEntry{
		".savepoint-tmp-mine":                           {Type: tar.TypeReg, Mode: 0o644, Data: "a customer's file"},
		".savepoint-tmp-0123456789abcdef":               {Type: tar.TypeReg, Mode: 0o600, Data: "another"},
		".savepoint-restore-0123456789abcdef":           {Type: tar.TypeDir, Mode: 0o755},
		".savepoint-restore-0123456789abcdef/level.dat": {Type: tar.TypeReg, Mode: 0o644, Data: "inside"},
		".savepoint-old-0123456789abcdef":               {Type: tar.TypeDir, Mode: 0o700},
		".savepoint-new-0123456789abcdef":               {Type: tar.TypeSymlink, Target: "world"},
		"world/.savepoint-tmp-deep":                     {Type: tar.TypeReg, Mode: 0o644, Data: "deeper"},
	} {
		tree[name] = e
	}
	s.roundTrip(t, tree)
}

func (s fileIOSuite) linksOutside(t *testing.T) {
	tree := sampleTree(11)
	for name, target := range map[string]string{
		"mods":      "/srv/shared/mods",
		"hostname":  "/etc/hostname",
		"elsewhere": "../../somewhere/else",
		"world/up":  "../../..",
		"dangling":  "not-there",
	} {
		tree[name] = archiveEntry{Type: tar.TypeSymlink, Target: target}
	}
	s.roundTrip(t, tree)
}

func (s fileIOSuite) streamArchive(t *testing.T) {
	f := s.env(t)
	want := sampleTree(2)
	src := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, want), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	r, err := f.fio.StreamArchive(f.ctx, []string{src}, ports.ArchiveOptions{})
	if errors.Is(err, ports.ErrUnsupported) {
		t.Skip("the FileIO does not stream archives (ErrUnsupported)")
	}
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	defer r.Close()
	assertSameTree(t, "the streamed archive", readArchive(t, r), want)
}

func (s fileIOSuite) archiveReports(t *testing.T) {
	f := s.env(t)
	tree := sampleTree(8)
	src := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, tree), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	want := reportOf(tree)
	out := path.Join(f.dir, "backup.tar.gz")
	report, err := f.fio.CompressFiles(f.ctx, []string{src}, out, ports.ArchiveOptions{})
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	assertSameReport(t, "CompressFiles", report, want)

	stream, err := f.fio.StreamArchive(f.ctx, []string{src}, ports.ArchiveOptions{})
	if errors.Is(err, ports.ErrUnsupported) {
		return
	}
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	defer stream.Close()
	assertSameTree(t, "the streamed archive", readArchive(t, stream), tree)
	if _, err := io.Copy(io.Discard, stream); err != nil {
		t.Fatalf("reading the stream to its end: %v", err)
	}
	assertSameReport(t, "StreamArchive, read to its end", stream.Report(), want)
}

func (s fileIOSuite) compressMissing(t *testing.T) {
	f := s.env(t)
	out := path.Join(f.dir, "nothing.tar.gz")
	_, err := f.fio.CompressFiles(f.ctx, []string{path.Join(f.dir, "no-such-dir")}, out, ports.ArchiveOptions{})
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("CompressFiles of a missing source: error %v, want one wrapping ErrCluster", err)
	}
	f.assertAbsent(out)
}

func (s fileIOSuite) extractReplaces(t *testing.T) {
	f := s.env(t)
	dest := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, sampleTree(3)), dest); err != nil {
		t.Fatalf("first ExtractTo: %v", err)
	}
	second := fileTree{
		"world":           {Type: tar.TypeDir, Mode: 0o700},
		"world/level.dat": {Type: tar.TypeReg, Mode: 0o644, Data: "new level"},
		"only-in-second":  {Type: tar.TypeReg, Mode: 0o640, Data: "second"},
	}
	if err := f.extract(buildArchive(t, second), dest); err != nil {
		t.Fatalf("second ExtractTo: %v", err)
	}
	assertSameTree(t, "the destination after the second extraction", f.listing(dest), second)
}

func (s fileIOSuite) extractRefused(t *testing.T) {
	f := s.env(t)
	dest := path.Join(f.dir, "data")
	before := sampleTree(4)
	if err := f.extract(buildArchive(t, before), dest); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	hostile := buildArchive(t, fileTree{"innocent.txt": {Type: tar.TypeReg, Mode: 0o644, Data: "hello"}},
		&tar.Header{Typeflag: tar.TypeReg, Name: "../escaped.txt", Mode: 0o644, Size: 10})
	err := f.extract(hostile, dest)
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("ExtractTo of an archive with a ../ entry: error %v, want one wrapping ErrCluster", err)
	}
	f.assertAbsent(path.Join(f.dir, "escaped.txt"))
	assertSameTree(t, "the destination after the refused archive", f.listing(dest), before)
}

func (s fileIOSuite) extractTruncated(t *testing.T) {
	f := s.env(t)
	dest := path.Join(f.dir, "data")
	before := sampleTree(5)
	if err := f.extract(buildArchive(t, before), dest); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	full := buildArchive(t, sampleTree(6))
	err := f.extract(full[:len(full)*2/3], dest)
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("ExtractTo of a truncated archive: error %v, want one wrapping ErrCluster", err)
	}
	assertSameTree(t, "the destination after the truncated archive", f.listing(dest), before)
}

func (s fileIOSuite) restoreArchive(t *testing.T) {
	f := s.env(t)
	dest := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, sampleTree(9)), dest); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	want := sampleTree(10)
	archive := buildArchive(t, want)
	src := &countingReader{r: bytes.NewReader(archive)}
	err := f.fio.RestoreArchive(f.ctx, dest, src, int64(len(archive)), digest(string(archive)), nil)
	if errors.Is(err, ports.ErrUnsupported) {
		if src.n > 0 {
			t.Fatalf("RestoreArchive read %d bytes of the archive before reporting ErrUnsupported", src.n)
		}
		t.Skip("the FileIO does not restore archives (ErrUnsupported)")
	}
	if err != nil {
		t.Fatalf("RestoreArchive: %v", err)
	}
	assertSameTree(t, "the destination after RestoreArchive", f.listing(dest), want)
}

func (s fileIOSuite) restoreDamaged(t *testing.T) {
	archive := buildArchive(t, sampleTree(12))
	sum := digest(string(archive))
	flipped := bytes.Clone(archive)
	flipped[len(flipped)/2] ^= 0x01
	for _, tc := range []struct {
		name    string
		archive []byte
		sum     string
	}{
		{"a byte flipped", flipped, sum},
		{"bytes missing", archive[:len(archive)-10], sum},
		{"another checksum recorded", archive, strings.Repeat("0", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := s.env(t)
			dest := path.Join(f.dir, "data")
			before := sampleTree(11)
			if err := f.extract(buildArchive(t, before), dest); err != nil {
				t.Fatalf("ExtractTo: %v", err)
			}
			err := f.fio.RestoreArchive(f.ctx, dest, bytes.NewReader(tc.archive), int64(len(archive)), tc.sum, nil)
			if errors.Is(err, ports.ErrUnsupported) {
				t.Skip("the FileIO does not restore archives (ErrUnsupported)")
			}
			if !errors.Is(err, ports.ErrArchiveDamaged) {
				t.Fatalf("RestoreArchive of a damaged archive: error %v, want one wrapping ErrArchiveDamaged", err)
			}
			assertSameTree(t, "the destination after the damaged archive", f.listing(dest), before)
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// roundTrip extracts tree into a directory, archives it with CompressFiles,
// checks that the archive holds tree, and that extracting that archive elsewhere
// gives tree back.
func (s fileIOSuite) roundTrip(t *testing.T, tree fileTree) {
	t.Helper()
	f := s.env(t)
	src := path.Join(f.dir, "data")
	if err := f.extract(buildArchive(t, tree), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	out := path.Join(f.dir, "backup.tar.gz")
	report, err := f.fio.CompressFiles(f.ctx, []string{src}, out, ports.ArchiveOptions{})
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	assertSameReport(t, "CompressFiles", report, reportOf(tree))
	r, err := f.fio.ReadFile(f.ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	assertSameTree(t, "the archive of the extracted tree", readArchive(t, r), tree)
	again := path.Join(f.dir, "restored")
	if err := f.fio.ExtractTo(f.ctx, out, again, nil); err != nil {
		t.Fatalf("ExtractTo of the FileIO's own archive: %v", err)
	}
	assertSameTree(t, "the tree restored from the FileIO's archive", f.listing(again), tree)
}

func (f fileIOEnv) write(p string, data []byte) {
	f.t.Helper()
	if err := f.fio.WriteFile(f.ctx, p, int64(len(data)), bytes.NewReader(data)); err != nil {
		f.t.Fatalf("WriteFile %s (%d bytes): %v", p, len(data), err)
	}
}

// read returns the file's content, or the error of ReadFile or of reading.
func (f fileIOEnv) read(p string) ([]byte, error) {
	r, err := f.fio.ReadFile(f.ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (f fileIOEnv) mustRead(p string) []byte {
	f.t.Helper()
	b, err := f.read(p)
	if err != nil {
		f.t.Fatalf("reading %s: %v", p, err)
	}
	return b
}

// assertAbsent checks that p cannot be read, with an error wrapping ErrCluster.
func (f fileIOEnv) assertAbsent(p string) {
	f.t.Helper()
	b, err := f.read(p)
	if err == nil {
		f.t.Fatalf("%s exists (%d bytes), want no file", p, len(b))
	}
	if !errors.Is(err, ports.ErrCluster) {
		f.t.Fatalf("reading the missing %s: error %v does not wrap ErrCluster", p, err)
	}
}

// listing archives dir and returns its tree: by StreamArchive, or when the FileIO
// does not stream, by CompressFiles to a scratch file beside dir.
func (f fileIOEnv) listing(dir string) fileTree {
	f.t.Helper()
	var r io.ReadCloser
	stream, err := f.fio.StreamArchive(f.ctx, []string{dir}, ports.ArchiveOptions{})
	r = stream
	if errors.Is(err, ports.ErrUnsupported) {
		out := dir + fmt.Sprintf(".listing-%d.tar.gz", time.Now().UnixNano())
		if _, err := f.fio.CompressFiles(f.ctx, []string{dir}, out, ports.ArchiveOptions{}); err != nil {
			f.t.Fatalf("CompressFiles %s: %v", dir, err)
		}
		defer f.fio.DeleteFile(f.ctx, out)
		r, err = f.fio.ReadFile(f.ctx, out)
	}
	if err != nil {
		f.t.Fatalf("archiving %s: %v", dir, err)
	}
	defer r.Close()
	return readArchive(f.t, r)
}

func (f fileIOEnv) names(dir string) []string {
	f.t.Helper()
	return slices.Sorted(maps.Keys(f.listing(dir)))
}

// extract writes archive to a file beside dest and extracts it into dest.
func (f fileIOEnv) extract(archive []byte, dest string) error {
	f.t.Helper()
	src := dest + fmt.Sprintf(".restore-%d.tar.gz", time.Now().UnixNano())
	f.write(src, archive)
	defer f.fio.DeleteFile(f.ctx, src)
	return f.fio.ExtractTo(f.ctx, src, dest, nil)
}

// randomBytes returns size deterministic pseudo-random bytes; seeds give different
// contents.
func randomBytes(size int64, seed uint64) []byte {
	b := make([]byte, size)
	x := seed*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 24)
	}
	return b
}

func assertSameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (sha256 %x), want %d bytes (sha256 %x)", what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// archiveEntry is what the suite compares of an archive entry.
type archiveEntry struct {
	Type   byte // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode   int64
	Data   string // content of a regular file
	Target string // target of a symbolic link
}

func (e archiveEntry) String() string {
	switch e.Type {
	case tar.TypeDir:
		return fmt.Sprintf("dir %o", e.Mode)
	case tar.TypeSymlink:
		return "symlink -> " + e.Target
	}
	return fmt.Sprintf("file %o %d bytes sha256 %x", e.Mode, len(e.Data), sha256.Sum256([]byte(e.Data)))
}

// fileTree is a directory tree keyed by slash-separated relative names.
type fileTree map[string]archiveEntry

// sampleTree has what archives must carry: nested and empty directories, an empty
// file, modes, unicode names, and links to a file and to a directory.
func sampleTree(seed uint64) fileTree {
	return fileTree{
		"world":                      {Type: tar.TypeDir, Mode: 0o755},
		"world/region":               {Type: tar.TypeDir, Mode: 0o755},
		"world/region/r.0.0.mca":     {Type: tar.TypeReg, Mode: 0o644, Data: string(randomBytes(70_000, seed))},
		"world/level.dat":            {Type: tar.TypeReg, Mode: 0o600, Data: string(randomBytes(1500, seed+1))},
		"world/session.lock":         {Type: tar.TypeReg, Mode: 0o644},
		"world/datapacks":            {Type: tar.TypeDir, Mode: 0o750},
		"start.sh":                   {Type: tar.TypeReg, Mode: 0o755, Data: "#!/bin/sh\nexec java -jar server.jar\n"},
		"plugins":                    {Type: tar.TypeDir, Mode: 0o755},
		"plugins/Überwelt-✓.yml":     {Type: tar.TypeReg, Mode: 0o644, Data: "name: überwelt\n"},
		"plugins/current-config.yml": {Type: tar.TypeSymlink, Target: "Überwelt-✓.yml"},
		"latest-world":               {Type: tar.TypeSymlink, Target: "world/region"},
		"logs":                       {Type: tar.TypeDir, Mode: 0o755},
		"logs/latest.log":            {Type: tar.TypeReg, Mode: 0o644, Data: strings.Repeat("[Server thread/INFO]: Done\n", 100)},
		fmt.Sprintf("seed-%d", seed): {Type: tar.TypeReg, Mode: 0o644, Data: "x"},
	}
}

// buildArchive builds a tar.gz of tree, parents first; extra entries are appended
// raw, for archives the FileIO must refuse.
func buildArchive(t *testing.T, tree fileTree, extra ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range slices.Sorted(maps.Keys(tree)) {
		e := tree[name]
		hdr := &tar.Header{Typeflag: e.Type, Name: name, Mode: e.Mode, Linkname: e.Target, ModTime: time.Unix(1_700_000_000, 0)}
		if e.Type == tar.TypeDir {
			hdr.Name += "/"
		}
		if e.Type == tar.TypeReg {
			hdr.Size = int64(len(e.Data))
		}
		if e.Type == tar.TypeSymlink {
			hdr.Mode = 0o777
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	for _, hdr := range extra {
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(make([]byte, hdr.Size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readArchive parses a tar.gz into a tree.
func readArchive(t *testing.T, r io.Reader) fileTree {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	tree := fileTree{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		if name == "" || name == "." {
			continue
		}
		e := archiveEntry{Type: hdr.Typeflag, Mode: hdr.Mode & 0o777}
		switch hdr.Typeflag {
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading %s from the archive: %v", name, err)
			}
			e.Data = string(data)
		case tar.TypeSymlink:
			e.Mode, e.Target = 0, hdr.Linkname
		case tar.TypeDir:
		default:
			t.Fatalf("the archive holds %s of unexpected type %q", name, hdr.Typeflag)
		}
		tree[name] = e
	}
	if _, err := io.Copy(io.Discard, gz); err != nil {
		t.Fatalf("the archive's gzip stream is damaged: %v", err)
	}
	return tree
}

func assertSameTree(t *testing.T, what string, got, want fileTree) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: %s is missing (want %v)", what, name, want[name])
			continue
		}
		if g != want[name] {
			t.Errorf("%s: %s is %v, want %v", what, name, g, want[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected %s (%v)", what, name, got[name])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// reportOf is the report of an archive of tree, which holds nothing the
// FileIO must skip.
func reportOf(tree fileTree) ports.ArchiveReport {
	r := ports.ArchiveReport{Entries: len(tree)}
	for _, e := range tree {
		r.Bytes += int64(len(e.Data))
	}
	return r
}

func assertSameReport(t *testing.T, what string, got, want ports.ArchiveReport) {
	t.Helper()
	if got.Entries != want.Entries || got.Bytes != want.Bytes || got.SkippedCount != 0 || len(got.Skipped) != 0 {
		t.Fatalf("%s: the report counts %d entries, %d bytes and %d skipped (%v); want %d entries, %d bytes, none skipped",
			what, got.Entries, got.Bytes, got.SkippedCount, got.Skipped, want.Entries, want.Bytes)
	}
}

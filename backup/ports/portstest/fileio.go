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

// RunFileIOTests runs the FileIO contract suite against FileIOs from newFileIO; see
// FileIOHarness.
func RunFileIOTests(t *testing.T, newFileIO func(t *testing.T) (ports.FileIO, string)) {
	t.Helper()
	FileIOHarness{New: newFileIO}.Run(t)
}

// Run runs the contract suite. It uses nothing but the FileIO itself: trees are made
// by extracting archives the suite builds, and inspected by archiving them. What it
// requires beyond the port's doc comments:
//
//   - Archives are gzip-compressed tars whose entries are named relative to the
//     source directory, and store directories, regular files (content and
//     permission bits) and symbolic links (as links, with their targets as they
//     are, wherever they point), whatever their names (".savepoint-…" included).
//   - Archive reports count the entries and file bytes archived.
//   - ExtractTo refuses an entry named with "..", wrapping ErrCluster.
//   - Errors of every method wrap ErrCluster, except a WriteFile whose reader
//     fails, which may report the reader's error instead.
func (h FileIOHarness) Run(t *testing.T) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: FileIOHarness.New is nil")
	}
	large := h.LargeSize
	if large == 0 {
		large = 8<<20 + 1
	}
	t.Run("files written are read back byte for byte", func(t *testing.T) { h.testRoundTrips(t, large) })
	t.Run("a write of unknown size is read back byte for byte", h.testUnknownSize)
	t.Run("a write replaces an existing file", h.testReplace)
	t.Run("reading a missing file fails with ErrCluster", h.testReadMissing)
	t.Run("a reader closed early releases the stream", h.testCloseEarly)
	t.Run("deleting is idempotent", h.testDelete)
	t.Run("a write with fewer bytes than announced leaves no file", func(t *testing.T) { h.testSizeMismatch(t, 1000, 600) })
	t.Run("a write with more bytes than announced leaves no file", func(t *testing.T) { h.testSizeMismatch(t, 600, 1000) })
	t.Run("a write whose reader fails leaves no file", h.testReaderFails)
	t.Run("a cancelled write leaves no file", h.testCancelledWrite)
	t.Run("compressing then extracting reproduces the tree", h.testCompressExtract)
	t.Run("files named like a sidecar's temporary files are data like any other", h.testSidecarLikeNames)
	t.Run("links pointing outside the tree are kept as links", h.testLinksOutside)
	t.Run("streamed archives hold the same tree, or the sidecar says it cannot stream", h.testStreamArchive)
	t.Run("archive reports count what the archives hold", h.testArchiveReports)
	t.Run("compressing a missing source fails with ErrCluster", h.testCompressMissing)
	t.Run("extracting replaces the destination's contents exactly", h.testExtractReplaces)
	t.Run("a refused archive leaves the destination as it was", h.testExtractRefused)
	t.Run("a truncated archive leaves the destination as it was", h.testExtractTruncated)
}

// fioContext bounds every subtest: a FileIO that hangs fails the test instead of
// stalling the run.
func fioContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fioBytes returns size deterministic pseudo-random bytes; seeds give different
// contents.
func fioBytes(size int64, seed uint64) []byte {
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

func fioWrite(t *testing.T, ctx context.Context, fio ports.FileIO, p string, data []byte) {
	t.Helper()
	if err := fio.WriteFile(ctx, p, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("WriteFile %s (%d bytes): %v", p, len(data), err)
	}
}

// fioRead returns the file's content, or the error of ReadFile or of reading.
func fioRead(ctx context.Context, fio ports.FileIO, p string) ([]byte, error) {
	r, err := fio.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func fioMustRead(t *testing.T, ctx context.Context, fio ports.FileIO, p string) []byte {
	t.Helper()
	b, err := fioRead(ctx, fio, p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	return b
}

// fioAssertAbsent checks that p cannot be read, with an error wrapping ErrCluster.
func fioAssertAbsent(t *testing.T, ctx context.Context, fio ports.FileIO, p string) {
	t.Helper()
	b, err := fioRead(ctx, fio, p)
	if err == nil {
		t.Fatalf("%s exists (%d bytes), want no file", p, len(b))
	}
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("reading the missing %s: error %v does not wrap ErrCluster", p, err)
	}
}

func fioSameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (sha256 %x), want %d bytes (sha256 %x)", what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func (h FileIOHarness) testRoundTrips(t *testing.T, large int64) {
	for _, size := range []int64{0, 1, 4095, 256<<10 + 1, large} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			ctx := fioContext(t)
			fio, dir := h.New(t)
			p := path.Join(dir, fmt.Sprintf("file-%d.bin", size))
			want := fioBytes(size, uint64(size))
			fioWrite(t, ctx, fio, p, want)
			fioSameBytes(t, "read back", fioMustRead(t, ctx, fio, p), want)
		})
	}
}

func (h FileIOHarness) testUnknownSize(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "unknown.bin")
	want := fioBytes(300<<10, 9)
	if err := fio.WriteFile(ctx, p, -1, bytes.NewReader(want)); err != nil {
		t.Fatalf("WriteFile with size -1: %v", err)
	}
	fioSameBytes(t, "read back", fioMustRead(t, ctx, fio, p), want)
}

func (h FileIOHarness) testReplace(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "replaced.bin")
	fioWrite(t, ctx, fio, p, fioBytes(5000, 1))
	want := fioBytes(1200, 2)
	fioWrite(t, ctx, fio, p, want)
	fioSameBytes(t, "after the second write", fioMustRead(t, ctx, fio, p), want)
}

func (h FileIOHarness) testReadMissing(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	fioAssertAbsent(t, ctx, fio, path.Join(dir, "never-written.bin"))
	fioAssertAbsent(t, ctx, fio, path.Join(dir, "no-such-dir", "file.bin"))
}

func (h FileIOHarness) testCloseEarly(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "big.bin")
	want := fioBytes(4<<20, 3)
	fioWrite(t, ctx, fio, p, want)
	for range 3 {
		r, err := fio.ReadFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 1000)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatalf("reading the first bytes: %v", err)
		}
		fioSameBytes(t, "the first bytes", head, want[:1000])
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	fioSameBytes(t, "a full read after early closes", fioMustRead(t, ctx, fio, p), want)
}

func (h FileIOHarness) testDelete(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "doomed.bin")
	fioWrite(t, ctx, fio, p, fioBytes(100, 4))
	for i := range 2 {
		if err := fio.DeleteFile(ctx, p); err != nil {
			t.Fatalf("DeleteFile #%d: %v", i+1, err)
		}
		fioAssertAbsent(t, ctx, fio, p)
	}
	if err := fio.DeleteFile(ctx, path.Join(dir, "never-written.bin")); err != nil {
		t.Fatalf("DeleteFile of a file that never existed: %v", err)
	}
}

func (h FileIOHarness) testSizeMismatch(t *testing.T, announced, sent int64) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "mismatch.bin")
	err := fio.WriteFile(ctx, p, announced, bytes.NewReader(fioBytes(sent, 5)))
	if err == nil {
		t.Fatalf("WriteFile announcing %d bytes and sending %d succeeded", announced, sent)
	}
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("error %v does not wrap ErrCluster", err)
	}
	fioAssertAbsent(t, ctx, fio, p)
	if names := fioNames(t, ctx, fio, dir); len(names) != 0 {
		t.Fatalf("the directory holds %v after the failed write, want nothing", names)
	}
}

// fioFailingReader yields n bytes, then fails with err.
type fioFailingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *fioFailingReader) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	b = b[:min(int64(len(b)), f.n)]
	n, err := f.r.Read(b)
	f.n -= int64(n)
	return n, err
}

func (h FileIOHarness) testReaderFails(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "half.bin")
	broken := errors.New("the download broke")
	const size = 2 << 20
	err := fio.WriteFile(ctx, p, size, &fioFailingReader{r: bytes.NewReader(fioBytes(size, 6)), n: size / 2, err: broken})
	if err == nil {
		t.Fatal("WriteFile succeeded although its reader failed")
	}
	fioAssertAbsent(t, ctx, fio, p)
}

// fioCancellingReader cancels the write's context once n bytes were read, and keeps
// yielding bytes as if nothing happened.
type fioCancellingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *fioCancellingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func (h FileIOHarness) testCancelledWrite(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	p := path.Join(dir, "cancelled.bin")
	const size = 4 << 20
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := fio.WriteFile(wctx, p, size, &fioCancellingReader{r: bytes.NewReader(fioBytes(size, 7)), n: size / 4, cancel: cancel})
	if err == nil {
		t.Fatal("WriteFile succeeded although its context was cancelled")
	}
	// The sidecar learns of the cancellation asynchronously; whatever it does next
	// must not make the file appear.
	fioAssertAbsent(t, ctx, fio, p)
	time.Sleep(200 * time.Millisecond)
	fioAssertAbsent(t, ctx, fio, p)
	if names := fioNames(t, ctx, fio, dir); len(names) != 0 {
		t.Fatalf("the directory holds %v after the cancelled write, want nothing", names)
	}
}

// fioEntry is what the suite compares of an archive entry.
type fioEntry struct {
	Type   byte // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode   int64
	Data   string // content of a regular file
	Target string // target of a symbolic link
}

func (e fioEntry) String() string {
	switch e.Type {
	case tar.TypeDir:
		return fmt.Sprintf("dir %o", e.Mode)
	case tar.TypeSymlink:
		return "symlink -> " + e.Target
	}
	return fmt.Sprintf("file %o %d bytes sha256 %x", e.Mode, len(e.Data), sha256.Sum256([]byte(e.Data)))
}

// fioTree is a directory tree keyed by slash-separated relative names.
type fioTree map[string]fioEntry

// fioSampleTree has what archives must carry: nested and empty directories, an empty
// file, modes, unicode names, and links to a file and to a directory.
func fioSampleTree(seed uint64) fioTree {
	return fioTree{
		"world":                      {Type: tar.TypeDir, Mode: 0o755},
		"world/region":               {Type: tar.TypeDir, Mode: 0o755},
		"world/region/r.0.0.mca":     {Type: tar.TypeReg, Mode: 0o644, Data: string(fioBytes(70_000, seed))},
		"world/level.dat":            {Type: tar.TypeReg, Mode: 0o600, Data: string(fioBytes(1500, seed+1))},
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

// fioArchive builds a tar.gz of tree, parents first; extra entries are appended
// raw, for archives the FileIO must refuse.
func fioArchive(t *testing.T, tree fioTree, extra ...*tar.Header) []byte {
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

// fioReadArchive parses a tar.gz into a tree.
func fioReadArchive(t *testing.T, r io.Reader) fioTree {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("the archive is not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	tree := fioTree{}
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
		e := fioEntry{Type: hdr.Typeflag, Mode: hdr.Mode & 0o777}
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

// fioListing archives dir and returns its tree: by StreamArchive, or when the FileIO
// does not stream, by CompressFiles to a scratch file beside dir.
func fioListing(t *testing.T, ctx context.Context, fio ports.FileIO, dir string) fioTree {
	t.Helper()
	var r io.ReadCloser
	stream, err := fio.StreamArchive(ctx, []string{dir})
	r = stream
	if errors.Is(err, ports.ErrUnsupported) {
		out := dir + fmt.Sprintf(".listing-%d.tar.gz", time.Now().UnixNano())
		if _, err := fio.CompressFiles(ctx, []string{dir}, out); err != nil {
			t.Fatalf("CompressFiles %s: %v", dir, err)
		}
		defer fio.DeleteFile(ctx, out)
		r, err = fio.ReadFile(ctx, out)
	}
	if err != nil {
		t.Fatalf("archiving %s: %v", dir, err)
	}
	defer r.Close()
	return fioReadArchive(t, r)
}

func fioNames(t *testing.T, ctx context.Context, fio ports.FileIO, dir string) []string {
	t.Helper()
	return slices.Sorted(maps.Keys(fioListing(t, ctx, fio, dir)))
}

func fioSameTree(t *testing.T, what string, got, want fioTree) {
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

// fioExtract writes archive to a file beside dest and extracts it into dest.
func fioExtract(t *testing.T, ctx context.Context, fio ports.FileIO, archive []byte, dest string) error {
	t.Helper()
	src := dest + fmt.Sprintf(".restore-%d.tar.gz", time.Now().UnixNano())
	fioWrite(t, ctx, fio, src, archive)
	defer fio.DeleteFile(ctx, src)
	return fio.ExtractTo(ctx, src, dest)
}

func (h FileIOHarness) testCompressExtract(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	want := fioSampleTree(1)
	src := path.Join(dir, "data")
	if err := fioExtract(t, ctx, fio, fioArchive(t, want), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	out := path.Join(dir, "backup.tar.gz")
	if _, err := fio.CompressFiles(ctx, []string{src}, out); err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	r, err := fio.ReadFile(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fioSameTree(t, "the archive of the extracted tree", fioReadArchive(t, r), want)

	// And back: the archive the FileIO made restores the same tree elsewhere.
	again := path.Join(dir, "restored")
	if err := fio.ExtractTo(ctx, out, again); err != nil {
		t.Fatalf("ExtractTo of the FileIO's own archive: %v", err)
	}
	fioSameTree(t, "the tree restored from the FileIO's archive", fioListing(t, ctx, fio, again), want)
}

// fioRoundTrip extracts tree into a directory, archives it with CompressFiles,
// checks that the archive holds tree, and that extracting that archive elsewhere
// gives tree back.
func (h FileIOHarness) fioRoundTrip(t *testing.T, tree fioTree) {
	t.Helper()
	ctx := fioContext(t)
	fio, dir := h.New(t)
	src := path.Join(dir, "data")
	if err := fioExtract(t, ctx, fio, fioArchive(t, tree), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	out := path.Join(dir, "backup.tar.gz")
	report, err := fio.CompressFiles(ctx, []string{src}, out)
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	fioSameReport(t, "CompressFiles", report, fioWantReport(tree))
	r, err := fio.ReadFile(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fioSameTree(t, "the archive of the extracted tree", fioReadArchive(t, r), tree)
	again := path.Join(dir, "restored")
	if err := fio.ExtractTo(ctx, out, again); err != nil {
		t.Fatalf("ExtractTo of the FileIO's own archive: %v", err)
	}
	fioSameTree(t, "the tree restored from the FileIO's archive", fioListing(t, ctx, fio, again), tree)
}

func (h FileIOHarness) testSidecarLikeNames(t *testing.T) {
	tree := fioSampleTree(10)
	for name, e := range map[string]fioEntry{
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
	h.fioRoundTrip(t, tree)
}

func (h FileIOHarness) testLinksOutside(t *testing.T) {
	tree := fioSampleTree(11)
	for name, target := range map[string]string{
		"mods":      "/srv/shared/mods",
		"hostname":  "/etc/hostname",
		"elsewhere": "../../somewhere/else",
		"world/up":  "../../..",
		"dangling":  "not-there",
	} {
		tree[name] = fioEntry{Type: tar.TypeSymlink, Target: target}
	}
	h.fioRoundTrip(t, tree)
}

func (h FileIOHarness) testStreamArchive(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	want := fioSampleTree(2)
	src := path.Join(dir, "data")
	if err := fioExtract(t, ctx, fio, fioArchive(t, want), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	r, err := fio.StreamArchive(ctx, []string{src})
	if errors.Is(err, ports.ErrUnsupported) {
		t.Skip("the FileIO does not stream archives (ErrUnsupported)")
	}
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	defer r.Close()
	fioSameTree(t, "the streamed archive", fioReadArchive(t, r), want)
}

// fioWantReport is the report of an archive of tree, which holds nothing the
// FileIO must skip.
func fioWantReport(tree fioTree) ports.ArchiveReport {
	r := ports.ArchiveReport{Entries: len(tree)}
	for _, e := range tree {
		r.Bytes += int64(len(e.Data))
	}
	return r
}

func fioSameReport(t *testing.T, what string, got, want ports.ArchiveReport) {
	t.Helper()
	if got.Entries != want.Entries || got.Bytes != want.Bytes || got.SkippedCount != 0 || len(got.Skipped) != 0 {
		t.Fatalf("%s: the report counts %d entries, %d bytes and %d skipped (%v); want %d entries, %d bytes, none skipped",
			what, got.Entries, got.Bytes, got.SkippedCount, got.Skipped, want.Entries, want.Bytes)
	}
}

func (h FileIOHarness) testArchiveReports(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	tree := fioSampleTree(8)
	src := path.Join(dir, "data")
	if err := fioExtract(t, ctx, fio, fioArchive(t, tree), src); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	want := fioWantReport(tree)
	out := path.Join(dir, "backup.tar.gz")
	report, err := fio.CompressFiles(ctx, []string{src}, out)
	if err != nil {
		t.Fatalf("CompressFiles: %v", err)
	}
	fioSameReport(t, "CompressFiles", report, want)

	stream, err := fio.StreamArchive(ctx, []string{src})
	if errors.Is(err, ports.ErrUnsupported) {
		return
	}
	if err != nil {
		t.Fatalf("StreamArchive: %v", err)
	}
	defer stream.Close()
	fioSameTree(t, "the streamed archive", fioReadArchive(t, stream), tree)
	if _, err := io.Copy(io.Discard, stream); err != nil {
		t.Fatalf("reading the stream to its end: %v", err)
	}
	fioSameReport(t, "StreamArchive, read to its end", stream.Report(), want)
}

func (h FileIOHarness) testCompressMissing(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	out := path.Join(dir, "nothing.tar.gz")
	_, err := fio.CompressFiles(ctx, []string{path.Join(dir, "no-such-dir")}, out)
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("CompressFiles of a missing source: error %v, want one wrapping ErrCluster", err)
	}
	fioAssertAbsent(t, ctx, fio, out)
}

func (h FileIOHarness) testExtractReplaces(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	dest := path.Join(dir, "data")
	if err := fioExtract(t, ctx, fio, fioArchive(t, fioSampleTree(3)), dest); err != nil {
		t.Fatalf("first ExtractTo: %v", err)
	}
	second := fioTree{
		"world":           {Type: tar.TypeDir, Mode: 0o700},
		"world/level.dat": {Type: tar.TypeReg, Mode: 0o644, Data: "new level"},
		"only-in-second":  {Type: tar.TypeReg, Mode: 0o640, Data: "second"},
	}
	if err := fioExtract(t, ctx, fio, fioArchive(t, second), dest); err != nil {
		t.Fatalf("second ExtractTo: %v", err)
	}
	fioSameTree(t, "the destination after the second extraction", fioListing(t, ctx, fio, dest), second)
}

func (h FileIOHarness) testExtractRefused(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	dest := path.Join(dir, "data")
	before := fioSampleTree(4)
	if err := fioExtract(t, ctx, fio, fioArchive(t, before), dest); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	hostile := fioArchive(t, fioTree{"innocent.txt": {Type: tar.TypeReg, Mode: 0o644, Data: "hello"}},
		&tar.Header{Typeflag: tar.TypeReg, Name: "../escaped.txt", Mode: 0o644, Size: 10})
	err := fioExtract(t, ctx, fio, hostile, dest)
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("ExtractTo of an archive with a ../ entry: error %v, want one wrapping ErrCluster", err)
	}
	fioAssertAbsent(t, ctx, fio, path.Join(dir, "escaped.txt"))
	fioSameTree(t, "the destination after the refused archive", fioListing(t, ctx, fio, dest), before)
}

func (h FileIOHarness) testExtractTruncated(t *testing.T) {
	ctx := fioContext(t)
	fio, dir := h.New(t)
	dest := path.Join(dir, "data")
	before := fioSampleTree(5)
	if err := fioExtract(t, ctx, fio, fioArchive(t, before), dest); err != nil {
		t.Fatalf("ExtractTo: %v", err)
	}
	full := fioArchive(t, fioSampleTree(6))
	err := fioExtract(t, ctx, fio, full[:len(full)*2/3], dest)
	if !errors.Is(err, ports.ErrCluster) {
		t.Fatalf("ExtractTo of a truncated archive: error %v, want one wrapping ErrCluster", err)
	}
	fioSameTree(t, "the destination after the truncated archive", fioListing(t, ctx, fio, dest), before)
}

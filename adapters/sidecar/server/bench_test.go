package server_test

import (
	"github.com/savepoint-dev/savepoint/backup/ports"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// benchDataSize is the game-like tree the tar comparisons run on: 256 MiB.
const benchDataSize = 256 << 20

// benchTextSize is the text-heavy tree (Lua, JSON, logs) of the measuring
// benchmark: its many small files are where measuring costs most.
const benchTextSize = 128 << 20

// benchTree is a tree the benchmarks share, generated once per test binary,
// only when a benchmark asks for it; TestMain removes it.
type benchTree struct {
	once     sync.Once
	dir      string
	err      error
	generate func(ctx context.Context, dir string, opts gamedata.Options) (gamedata.Summary, error)
	size     int64
}

var (
	benchData = &benchTree{generate: gamedata.Generate, size: benchDataSize}
	benchText = &benchTree{generate: gamedata.GenerateText, size: benchTextSize}
)

// get returns the tree's directory, generating it first if needed.
func (t *benchTree) get(b *testing.B) string {
	b.Helper()
	t.once.Do(func() {
		t.dir, t.err = os.MkdirTemp("", "savepoint-bench-")
		if t.err == nil {
			_, t.err = t.generate(context.Background(), filepath.Join(t.dir, "data"), gamedata.Options{Size: t.size, Seed: 1})
			// Flush the fresh tree now, not during the first measurement.
			syscall.Sync()
		}
	})
	if t.err != nil {
		b.Fatal(t.err)
	}
	return filepath.Join(t.dir, "data")
}

func gameData(b *testing.B) string { b.Helper(); return benchData.get(b) }
func textData(b *testing.B) string { b.Helper(); return benchText.get(b) }

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{benchData.dir, benchText.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// alternate runs a then c in even iterations i and c then a in odd ones, so
// that neither side of a comparison always pays for the other's write-back.
func alternate(i int, a, c func()) {
	if i%2 == 0 {
		a()
		c()
	} else {
		c()
		a()
	}
}

func needTar(b *testing.B) {
	if _, err := exec.LookPath("tar"); err != nil {
		testenv.Unavailable(b, "tar is not installed: %v", err)
	}
	if _, err := exec.LookPath("gzip"); err != nil {
		testenv.Unavailable(b, "gzip is not installed: %v", err)
	}
}

// benchServer serves the dataset's parent directory (the dataset and a scratch
// area beside it, on the same disk, as tar uses).
func benchServer(b *testing.B, data string) (*sidecar.Client, string) {
	b.Helper()
	root := filepath.Dir(data)
	srv := startServer(b, server.Options{Roots: []string{root}})
	scratch, err := os.MkdirTemp(root, "scratch-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(scratch) })
	return srv.client(b), scratch
}

func run(b *testing.B, name string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return time.Since(start)
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e6 }

func fileSize(b *testing.B, p string) int64 {
	b.Helper()
	info, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	return info.Size()
}

// BenchmarkCompressVsTar compresses the 256 MiB game-like tree with the sidecar
// (CompressFiles to a file, and StreamArchive to nowhere) and with `tar -czf`, in the
// same run, and reports each speed and the ratio. The target is at least 5x on
// 2 cores.
func BenchmarkCompressVsTar(b *testing.B) {
	needTar(b)
	data := gameData(b)
	c, scratch := benchServer(b, data)
	ctx := context.Background()
	var sidecarTime, streamTime, tarTime time.Duration
	var sidecarBytes, tarBytes int64
	b.ResetTimer()
	compress := func(i int) {
		out := filepath.Join(scratch, fmt.Sprintf("backup-%d.tar.gz", i))
		start := time.Now()
		if _, err := c.CompressFiles(ctx, []string{data}, out, ports.ArchiveOptions{}); err != nil {
			b.Fatal(err)
		}
		sidecarTime += time.Since(start)
		sidecarBytes = fileSize(b, out)
		os.Remove(out)
	}
	stream := func() {
		start := time.Now()
		drainArchive(b, c, data)
		streamTime += time.Since(start)
	}
	tarCompress := func(i int) {
		tarOut := filepath.Join(scratch, fmt.Sprintf("tar-%d.tar.gz", i))
		tarTime += run(b, "tar", "-czf", tarOut, "-C", data, ".")
		tarBytes = fileSize(b, tarOut)
		os.Remove(tarOut)
	}
	for i := 0; i < b.N; i++ {
		// Alternate the order, so that neither side always pays for the other's
		// write-back.
		if i%2 == 0 {
			compress(i)
			stream()
			tarCompress(i)
		} else {
			tarCompress(i)
			stream()
			compress(i)
		}
	}
	b.StopTimer()
	n := int64(b.N) * benchDataSize
	b.ReportMetric(mbps(n, sidecarTime), "sidecar-MB/s")
	b.ReportMetric(mbps(n, streamTime), "stream-MB/s")
	b.ReportMetric(mbps(n, tarTime), "tar-czf-MB/s")
	b.ReportMetric(tarTime.Seconds()/sidecarTime.Seconds(), "x-faster-than-tar")
	b.ReportMetric(tarTime.Seconds()/streamTime.Seconds(), "stream-x-faster-than-tar")
	b.ReportMetric(float64(sidecarBytes)/benchDataSize, "sidecar-size-ratio")
	b.ReportMetric(float64(tarBytes)/benchDataSize, "tar-size-ratio")
}

// BenchmarkExtractVsTar extracts one archive of the 256 MiB tree with the sidecar's
// ExtractTo and with `tar -xzf`, into fresh directories on the same disk, in the
// same run (alternating which goes first), and reports the ratio. The target is
// at least 1.3x.
func BenchmarkExtractVsTar(b *testing.B) {
	needTar(b)
	data := gameData(b)
	c, scratch := benchServer(b, data)
	ctx := context.Background()
	archive := filepath.Join(scratch, "restore.tar.gz")
	if _, err := c.CompressFiles(ctx, []string{data}, archive, ports.ArchiveOptions{}); err != nil {
		b.Fatal(err)
	}
	var sidecarTime, tarTime time.Duration
	extractSidecar := func(i int) {
		dest := filepath.Join(scratch, fmt.Sprintf("sidecar-%d", i))
		start := time.Now()
		if err := c.ExtractTo(ctx, archive, dest, nil); err != nil {
			b.Fatal(err)
		}
		sidecarTime += time.Since(start)
	}
	extractTar := func(i int) {
		dest := filepath.Join(scratch, fmt.Sprintf("tar-%d", i))
		if err := os.Mkdir(dest, 0o755); err != nil {
			b.Fatal(err)
		}
		tarTime += run(b, "tar", "-xzf", archive, "-C", dest)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		alternate(i, func() { extractSidecar(i) }, func() { extractTar(i) })
		b.StopTimer()
		os.RemoveAll(filepath.Join(scratch, fmt.Sprintf("sidecar-%d", i)))
		os.RemoveAll(filepath.Join(scratch, fmt.Sprintf("tar-%d", i)))
		b.StartTimer()
	}
	b.StopTimer()
	n := int64(b.N) * benchDataSize
	b.ReportMetric(mbps(n, sidecarTime), "sidecar-MB/s")
	b.ReportMetric(mbps(n, tarTime), "tar-xzf-MB/s")
	b.ReportMetric(tarTime.Seconds()/sidecarTime.Seconds(), "x-faster-than-tar")
}

// BenchmarkReadFile streams a 64 MiB file over gRPC on loopback: the chunk loop of
// the older download path.
func BenchmarkReadFile(b *testing.B) {
	srv := startServer(b, server.Options{})
	c := srv.client(b)
	const size = 64 << 20
	p := srv.path("big.bin")
	writeRandomFile(b, p, size, 0o644, 1)
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		r, err := c.ReadFile(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != size {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		r.Close()
	}
}

// BenchmarkStreamArchive streams the archive of a 32 MiB game-like tree over
// gRPC on loopback to a reader that discards it: the chunk loop of the streaming
// create, both ends, with allocations (the client's decoding must stay near
// zero per chunk: see the client's chunkCodec). B/s is tree bytes.
func BenchmarkStreamArchive(b *testing.B) {
	const size = 32 << 20
	srv := startServer(b, server.Options{})
	c := srv.client(b)
	data := srv.mkdir(b, "data")
	if _, err := gamedata.Generate(context.Background(), filepath.Join(data, "world"), gamedata.Options{Size: size, Seed: 4}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		drainArchive(b, c, data)
	}
}

// drainArchive streams the archive of dir from the sidecar and discards it.
func drainArchive(b *testing.B, c *sidecar.Client, dir string) {
	r, err := c.StreamArchive(context.Background(), []string{dir}, ports.ArchiveOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		b.Fatal(err)
	}
}

// zeroReader yields n zero bytes without allocating.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkWriteFile streams 64 MiB into a file over gRPC on loopback: the chunk
// loop of the restore upload.
func BenchmarkWriteFile(b *testing.B) {
	srv := startServer(b, server.Options{})
	c := srv.client(b)
	const size = 64 << 20
	p := srv.path("upload.bin")
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteFile(ctx, p, size, &zeroReader{n: size}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestoreVsWriteExtract restores the archive of the 256 MiB tree in the
// two ways, in the same run (alternating which goes first): WriteFile of the
// archive into the sidecar's temp dir then ExtractTo, and RestoreArchive, which
// extracts while the archive arrives. The target is RestoreArchive taking about
// as long as the extraction alone.
func BenchmarkRestoreVsWriteExtract(b *testing.B) {
	data := gameData(b)
	c, scratch := benchServer(b, data)
	ctx := context.Background()
	staged := filepath.Join(scratch, "restore.tar.gz")
	if _, err := c.CompressFiles(ctx, []string{data}, staged, ports.ArchiveOptions{}); err != nil {
		b.Fatal(err)
	}
	archive, err := os.ReadFile(staged)
	if err != nil {
		b.Fatal(err)
	}
	os.Remove(staged)
	sum := sha256.Sum256(archive)
	hexSum := hex.EncodeToString(sum[:])
	var writeTime, extractTime, restoreTime time.Duration
	twoPasses := func(i int) {
		start := time.Now()
		if err := c.WriteFile(ctx, staged, int64(len(archive)), bytes.NewReader(archive)); err != nil {
			b.Fatal(err)
		}
		writeTime += time.Since(start)
		start = time.Now()
		if err := c.ExtractTo(ctx, staged, filepath.Join(scratch, fmt.Sprintf("two-%d", i)), nil); err != nil {
			b.Fatal(err)
		}
		extractTime += time.Since(start)
		os.Remove(staged)
	}
	onePass := func(i int) {
		start := time.Now()
		if err := c.RestoreArchive(ctx, filepath.Join(scratch, fmt.Sprintf("one-%d", i)), bytes.NewReader(archive), int64(len(archive)), hexSum, nil); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		alternate(i, func() { twoPasses(i) }, func() { onePass(i) })
		b.StopTimer()
		os.RemoveAll(filepath.Join(scratch, fmt.Sprintf("two-%d", i)))
		os.RemoveAll(filepath.Join(scratch, fmt.Sprintf("one-%d", i)))
		syscall.Sync()
		b.StartTimer()
	}
	b.StopTimer()
	n := int64(b.N) * benchDataSize
	b.ReportMetric(mbps(n, writeTime), "write-MB/s")
	b.ReportMetric(mbps(n, extractTime), "extract-MB/s")
	b.ReportMetric(mbps(n, restoreTime), "restore-MB/s")
	b.ReportMetric(restoreTime.Seconds()/(writeTime+extractTime).Seconds(), "restore/write+extract")
	b.ReportMetric(restoreTime.Seconds()/extractTime.Seconds(), "restore/extract")
}

// BenchmarkStreamArchiveMeasure streams the archive of the 256 MiB tree from a
// sidecar that measures its total for the progress it reports and from one that
// does not, in the same run (alternating which goes first), and reports what
// measuring costs, in per cent of the time.
func BenchmarkStreamArchiveMeasure(b *testing.B) {
	for _, tree := range []struct {
		name  string
		dir   func(b *testing.B) string
		bytes int64
	}{{"game", gameData, benchDataSize}, {"text", textData, benchTextSize}} {
		b.Run(tree.name, func(b *testing.B) { benchmarkMeasure(b, tree.dir(b), tree.bytes) })
	}
}

func benchmarkMeasure(b *testing.B, data string, size int64) {
	root := filepath.Dir(data)
	measuring := startServer(b, server.Options{Roots: []string{root}}).client(b)
	opts := server.Options{Roots: []string{root}}
	server.DisableMeasure(&opts)
	plain := startServer(b, opts).client(b)
	var withTime, withoutTime time.Duration
	timed := func(c *sidecar.Client, into *time.Duration) {
		start := time.Now()
		drainArchive(b, c, data)
		*into += time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		alternate(i, func() { timed(measuring, &withTime) }, func() { timed(plain, &withoutTime) })
	}
	b.StopTimer()
	n := int64(b.N) * size
	b.ReportMetric(mbps(n, withTime), "measuring-MB/s")
	b.ReportMetric(mbps(n, withoutTime), "plain-MB/s")
	b.ReportMetric(100*(withTime.Seconds()/withoutTime.Seconds()-1), "measure-cost-%")
}

package blockgz

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

// textTarSize is the text-heavy tree the level comparison runs on.
const textTarSize = 32 << 20

// textTar and gameTar are tar streams of generated trees, made once per test
// binary: what the sidecar compresses when it archives Lua, JSON and logs, or
// a game world.
var (
	textTar = sync.OnceValues(func() ([]byte, error) { return tarOf(gamedata.GenerateText, textTarSize) })
	gameTar = sync.OnceValues(func() ([]byte, error) { return tarOf(gamedata.Generate, 64<<20) })
)

func tarOf(generate func(context.Context, string, gamedata.Options) (gamedata.Summary, error), size int64) ([]byte, error) {
	dir, err := os.MkdirTemp("", "blockgz-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := generate(context.Background(), dir, gamedata.Options{Size: size, Seed: 1}); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func loadTar(b *testing.B, tree func() ([]byte, error)) []byte {
	b.Helper()
	data, err := tree()
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// gzipBinary runs `gzip -<level>` (what tar -czf runs) on data and returns the
// compressed size and the time it took; it skips when gzip is not installed.
func gzipBinary(b *testing.B, data []byte, level string) (int, time.Duration) {
	b.Helper()
	if _, err := exec.LookPath("gzip"); err != nil {
		b.Skipf("gzip is not installed: %v", err)
	}
	cmd := exec.Command("gzip", level, "-c")
	cmd.Stdin = bytes.NewReader(data)
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	return out.Len(), time.Since(start)
}

// oneStream is the size of data as a single gzip stream at level with the
// flate encoder blockgz uses: what independent members and the classification
// cost, or save.
func oneStream(b testing.TB, data []byte, level int) int {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, level)
	if err != nil {
		b.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	return buf.Len() + 18 // gzip's header and trailer
}

// BenchmarkTextLevels compresses a tar of the text-heavy tree with Writer at
// each level and, in the same iteration, with `gzip -6` (tar -czf's
// compressor) and compress/gzip at level 6. It reports Writer's size and
// speed as ratios against `gzip -6` (size ratio <= 1.05 and speed-up >= 4 are
// the targets on 2 cores), against compress/gzip, and its size against a
// single flate stream at the same level.
func BenchmarkTextLevels(b *testing.B) {
	data := loadTar(b, textTar)
	for _, level := range []int{1, 2, 3, 4, 5, 6, 7, 9} {
		b.Run(flateLevelName(level), func(b *testing.B) {
			var ours, stdlib, gnu time.Duration
			var oursN, stdlibN, gnuN int
			for b.Loop() {
				var took time.Duration
				oursN, took = timeWriter(b, data, level)
				ours += took

				start := time.Now()
				stdlibN = 0
				gz, _ := gzip.NewWriterLevel(countWriter{&stdlibN}, 6)
				gz.Write(data)
				gz.Close()
				stdlib += time.Since(start)

				gnuN, took = gzipBinary(b, data, "-6")
				gnu += took
			}
			b.SetBytes(int64(len(data)))
			b.ReportMetric(float64(oursN)/float64(len(data)), "size-ratio")
			b.ReportMetric(float64(gnuN)/float64(len(data)), "gzip6-size-ratio")
			b.ReportMetric(float64(oursN)/float64(gnuN), "x-size-vs-gzip6")
			b.ReportMetric(gnu.Seconds()/ours.Seconds(), "x-faster-than-gzip6")
			b.ReportMetric(float64(oursN)/float64(stdlibN), "x-size-vs-go-gzip6")
			b.ReportMetric(stdlib.Seconds()/ours.Seconds(), "x-faster-than-go-gzip6")
			b.ReportMetric(float64(oursN)/float64(oneStream(b, data, level)), "x-size-vs-one-stream")
		})
	}
}

func flateLevelName(level int) string { return "level-" + string(rune('0'+level)) }

// countWriter counts the bytes written to it and drops them.
type countWriter struct{ n *int }

func (c countWriter) Write(p []byte) (int, error) {
	*c.n += len(p)
	return len(p), nil
}

// timeWriter compresses data with Writer at level and returns the size and
// the time it took.
func timeWriter(b *testing.B, data []byte, level int) (int, time.Duration) {
	n := 0
	start := time.Now()
	z, err := NewWriter(countWriter{&n}, level)
	if err != nil {
		b.Fatal(err)
	}
	z.Write(data)
	if err := z.Close(); err != nil {
		b.Fatal(err)
	}
	return n, time.Since(start)
}

// BenchmarkGameLevels compresses a tar of the game-like tree with Writer at
// level 1 and at higher levels in the same iteration (in turns, so that
// neither always goes first), and reports the higher level's time and size as
// ratios against level 1's: what raising the level costs a game world, where
// only the few text files reach the flate encoder.
func BenchmarkGameLevels(b *testing.B) {
	data := loadTar(b, gameTar)
	for _, level := range []int{5, 6} {
		b.Run(flateLevelName(level), func(b *testing.B) {
			var base, ours time.Duration
			var baseN, oursN int
			for i := 0; b.Loop(); i++ {
				var t1, t2 time.Duration
				if i%2 == 0 {
					baseN, t1 = timeWriter(b, data, flate.BestSpeed)
					oursN, t2 = timeWriter(b, data, level)
				} else {
					oursN, t2 = timeWriter(b, data, level)
					baseN, t1 = timeWriter(b, data, flate.BestSpeed)
				}
				base, ours = base+t1, ours+t2
			}
			b.SetBytes(2 * int64(len(data)))
			b.ReportMetric(float64(oursN)/float64(len(data)), "size-ratio")
			b.ReportMetric(float64(oursN)/float64(baseN), "x-size-vs-level1")
			b.ReportMetric(ours.Seconds()/base.Seconds(), "x-time-vs-level1")
		})
	}
}

// TestTextAtLevel6 checks what the sidecar's default level is for: text
// within 5% of gzip at level 6, and independent members costing under 1%
// against one stream at the same level.
func TestTextAtLevel6(t *testing.T) {
	dir := t.TempDir()
	if _, err := gamedata.GenerateText(context.Background(), dir, gamedata.Options{Size: 6 << 20, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	var tarred bytes.Buffer
	tw := tar.NewWriter(&tarred)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	data := tarred.Bytes()
	ours := len(blockCompress(t, data, 6))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, 6)
	zw.Write(data)
	zw.Close()
	if r := float64(ours) / float64(gz.Len()); r > 1.05 {
		t.Errorf("%d bytes of text: %d, compress/gzip -6 %d (%.3fx)", len(data), ours, gz.Len(), r)
	}
	if r := float64(ours) / float64(oneStream(t, data, 6)); r > 1.01 {
		t.Errorf("members cost %.3fx against one stream", r)
	}
	if got, err := blockDecompress(blockCompress(t, data, 6)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the text does not round-trip: %v", err)
	}
}

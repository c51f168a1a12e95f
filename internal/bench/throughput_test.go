//go:build linux

package bench_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/internal/bench"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

var (
	sizes    = flag.String("bench.size", "", "comma-separated dataset sizes for TestThroughput, e.g. 1GiB or 1GiB,4GiB (the memory target compares the first with the others); empty skips it")
	seed     = flag.Uint64("bench.seed", 1, "dataset seed")
	runs     = flag.Int("bench.runs", 3, "measurements of every phase per size; the summary takes medians")
	out      = flag.String("bench.out", ".cache/bench/results.json", "JSON results; a relative path is relative to the repository root")
	cache    = flag.String("bench.cache", ".cache/bench", "where generated datasets are kept between runs (relative to the repository root); empty: not kept")
	logs     = flag.String("bench.logs", "", "directory for the server and sidecar logs (relative to the repository root); empty: not kept")
	textSize = flag.String("bench.text-size", "200MiB", "size of the text-heavy tree of the text phase")
	level    = flag.Int("bench.compression-level", 0, "the sidecars' -compression-level; 0 keeps their default (to compare levels on the same machine)")
	env      = flag.String("bench.server-env", "", "comma-separated KEY=VALUE environment for the example server, e.g. GOMEMLIMIT=64MiB")
)

// Results is the JSON file TestThroughput writes.
type Results struct {
	Reports []*bench.Report `json:"reports"`
	// Targets across sizes: memory must not grow with the dataset.
	Targets []bench.Target `json:"cross_size_targets,omitempty"`
}

// TestThroughput is `make bench`: the full measurement on the sizes given by
// -bench.size. Without the flag it is skipped, so `go test ./...` stays fast.
func TestThroughput(t *testing.T) {
	if *sizes == "" {
		t.Skip("the throughput benchmark runs with -bench.size (make bench); TestThroughputSmall covers the harness")
	}
	root := repoRoot(t)
	var res Results
	for _, s := range strings.Split(*sizes, ",") {
		size, err := bench.ParseSize(s)
		if err != nil {
			t.Fatalf("-bench.size: %v", err)
		}
		text, err := bench.ParseSize(*textSize)
		if err != nil {
			t.Fatalf("-bench.text-size: %v", err)
		}
		cfg := bench.Config{Size: size, TextSize: text, Seed: *seed, Runs: *runs, S3TLS: *s3TLS, CompressionLevel: *level}
		if *env != "" {
			cfg.ServerEnv = strings.Split(*env, ",")
		}
		if *cache != "" {
			cfg.CacheDir = inRepo(root, *cache)
		}
		if *logs != "" {
			cfg.LogDir = filepath.Join(inRepo(root, *logs), strings.TrimSpace(s))
		}
		var rep *bench.Report
		if !t.Run(strings.TrimSpace(s), func(t *testing.T) { rep = bench.Run(t, cfg) }) {
			t.FailNow()
		}
		res.Reports = append(res.Reports, rep)
	}
	for _, large := range res.Reports[1:] {
		res.Targets = append(res.Targets, bench.CompareMemory(res.Reports[0], large))
	}
	if len(res.Targets) > 0 {
		t.Log("\nacross sizes:\n" + bench.FormatTargets(res.Targets))
	}
	path := inRepo(root, *out)
	writeResults(t, path, res)
	t.Logf("results written to %s", path)
}

// TestThroughputSmall runs the whole harness on 32 MiB on every `go test`, so
// that `make bench` cannot rot unnoticed. Its timings mean nothing (other tests
// run beside it); what it checks holds at any size: the restore gives back the
// original tree, the streaming path never writes to the sidecar's temp
// directory, the fallback stages exactly one archive and removes it, and every
// figure of the report is there.
func TestThroughputSmall(t *testing.T) {
	testenv.Short(t, "starts PostgreSQL-backed servers, versitygw and two sidecars")
	// Over HTTPS like make bench, so the example server's -s3-ca-file is exercised too.
	rep := bench.Run(t, bench.Config{Size: 32 << 20, TextSize: 8 << 20, Seed: 3, Runs: 1, S3TLS: true})
	if t.Failed() {
		return
	}
	path := filepath.Join(t.TempDir(), "results.json")
	writeResults(t, path, Results{Reports: []*bench.Report{rep}})
	var back Results
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the results file is not JSON: %v", err)
	}
	got := back.Reports[0]
	if got.Dataset.Bytes != 32<<20 || got.Dataset.Files == 0 {
		t.Errorf("dataset %+v, want 32 MiB of files", got.Dataset)
	}
	if got.TextDataset.Bytes != 8<<20 || got.TextDataset.Files == 0 {
		t.Errorf("text dataset %+v, want 8 MiB of files", got.TextDataset)
	}
	if len(got.Runs) != 1 {
		t.Fatalf("%d runs reported, want 1", len(got.Runs))
	}
	r := got.Runs[0]
	phases := map[string]bench.Phase{
		"tar -czf": r.TarCreate, "tar -xzf": r.TarExtract, "streaming create": r.CreateStreaming,
		"fallback create": r.CreateFallback, "restore": r.Restore,
		"text tar -czf": r.TextTarCreate, "text streaming create": r.TextCreate,
	}
	for name, p := range phases {
		if p.Seconds <= 0 || p.MBps <= 0 || p.ArchiveBytes <= 0 {
			t.Errorf("%s: %.3f s, %.1f MB/s, archive %d bytes: want all positive", name, p.Seconds, p.MBps, p.ArchiveBytes)
		}
	}
	for name, p := range map[string]bench.Phase{"streaming create": r.CreateStreaming, "fallback create": r.CreateFallback, "restore": r.Restore, "text streaming create": r.TextCreate} {
		if p.ServerPeakRSS <= 0 || p.SidecarPeakRSS <= 0 || p.SidecarTemp == nil || p.Speedup <= 0 {
			t.Errorf("%s: peak RSS %d / %d, temp %v, speed-up %.2f: want every figure", name, p.ServerPeakRSS, p.SidecarPeakRSS, p.SidecarTemp, p.Speedup)
		}
	}

	t.Run("the streaming create never touches the sidecar's temp directory, nor any disk", func(t *testing.T) {
		if tmp := r.CreateStreaming.SidecarTemp; tmp.FilesCreated != 0 || tmp.PeakBytes != 0 {
			t.Errorf("%d files created, peak %d bytes", tmp.FilesCreated, tmp.PeakBytes)
		}
		if w := r.CreateStreaming.WrittenBytes["sidecar"]; w != 0 {
			t.Errorf("the sidecar wrote %d bytes to storage", w)
		}
		if _, ok := r.CreateStreaming.SidecarCalls["StreamArchive"]; !ok {
			t.Errorf("the sidecar logged no StreamArchive call: %v", r.CreateStreaming.SidecarCalls)
		}
	})
	t.Run("the fallback create stages exactly one archive and removes it", func(t *testing.T) {
		tmp := r.CreateFallback.SidecarTemp
		if tmp.FilesCreated != 1 || tmp.PeakBytes != r.CreateFallback.ArchiveBytes || len(tmp.Left) != 0 {
			t.Errorf("%d files created (%v), peak %d bytes (archive %d), left %v", tmp.FilesCreated, tmp.Names, tmp.PeakBytes, r.CreateFallback.ArchiveBytes, tmp.Left)
		}
		for _, call := range []string{"CompressFiles", "ReadFile", "DeleteFile"} {
			if _, ok := r.CreateFallback.SidecarCalls[call]; !ok {
				t.Errorf("the sidecar logged no %s call: %v", call, r.CreateFallback.SidecarCalls)
			}
		}
	})
	t.Run("the streamed restore never touches the sidecar's temp directory", func(t *testing.T) {
		if tmp := r.Restore.SidecarTemp; tmp.FilesCreated != 0 || tmp.PeakBytes != 0 || len(tmp.Left) != 0 {
			t.Errorf("%d files created, peak %d bytes, left %v", tmp.FilesCreated, tmp.PeakBytes, tmp.Left)
		}
		if _, ok := r.Restore.SidecarCalls["RestoreArchive"]; !ok {
			t.Errorf("the sidecar logged no RestoreArchive call: %v", r.Restore.SidecarCalls)
		}
	})
	t.Run("progress never went backwards and the streamed create measured its tree", func(t *testing.T) {
		for name, p := range map[string]bench.Phase{"streaming create": r.CreateStreaming, "restore": r.Restore, "text streaming create": r.TextCreate} {
			// At this size an operation may end before the first poll: only
			// that progress never went backwards can be asked of every run.
			if p.Progress == nil || p.Progress.Backwards {
				t.Errorf("%s: progress seen %+v", name, p.Progress)
			}
		}
		if r.CreateStreaming.MeasureSeconds <= 0 || r.CreateStreaming.MeasureCPUSeconds <= 0 {
			t.Errorf("the sidecar logged no measuring time (%.3f s, %.3f CPU seconds) for the streaming create",
				r.CreateStreaming.MeasureSeconds, r.CreateStreaming.MeasureCPUSeconds)
		}
	})
	t.Run("the text tree's archive is compressed", func(t *testing.T) {
		if n := r.TextCreate.ArchiveBytes; n > got.TextDataset.Bytes/2 {
			t.Errorf("%d bytes of text made a %d-byte archive", got.TextDataset.Bytes, n)
		}
	})
	t.Run("every target is evaluated", func(t *testing.T) {
		if len(got.Summary.Targets) != 11 {
			t.Errorf("%d targets, want 11: %+v", len(got.Summary.Targets), got.Summary.Targets)
		}
	})
}

func writeResults(t *testing.T, path string, res Results) {
	t.Helper()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func inRepo(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// repoRoot is the directory holding go.mod, above the package directory go test
// runs in.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

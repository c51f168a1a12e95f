//go:build linux

package bench_test

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/internal/bench"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"33554432": 32 << 20, "32MiB": 32 << 20, "1GiB": 1 << 30, "4G": 4 << 30, " 2 GiB ": 2 << 30, "512KiB": 512 << 10} {
		if got, err := bench.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1GiB", "1.5GiB", "lots", "9999999999TiB"} {
		if got, err := bench.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1 << 20: "1.00 MiB", 1<<30 + 1<<29: "1.50 GiB"} {
		if got := bench.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDirWatch(t *testing.T) {
	dir := t.TempDir()
	w, err := bench.WatchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, n int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A file that lives for an instant still counts.
	write("flash", 100)
	if err := os.Remove(filepath.Join(dir, "flash")); err != nil {
		t.Fatal(err)
	}
	// One staged the way the sidecar stages archives: a temporary name, renamed.
	write(".savepoint-tmp", 1<<20)
	if err := os.Rename(filepath.Join(dir, ".savepoint-tmp"), filepath.Join(dir, "backup-1.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the watch see the staged file before it goes
	if err := os.Remove(filepath.Join(dir, "backup-1.tar.gz")); err != nil {
		t.Fatal(err)
	}
	write("left", 10)
	usage, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if usage.FilesCreated != 3 {
		t.Errorf("%d files created, want 3 (directories do not count): %v", usage.FilesCreated, usage.Names)
	}
	if want := []string{"flash", ".savepoint-tmp", "backup-1.tar.gz", "left"}; !slices.Equal(usage.Names, want) {
		t.Errorf("names %v, want %v", usage.Names, want)
	}
	if usage.PeakBytes < 1<<20 || usage.PeakBytes > 1<<20+110 {
		t.Errorf("peak %d bytes, want the 1 MiB archive (and at most the two small files beside it)", usage.PeakBytes)
	}
	if !slices.Equal(usage.Left, []string{"left", "subdir"}) {
		t.Errorf("left %v, want [left subdir]", usage.Left)
	}
	if again, err := w.Stop(); err != nil || again.FilesCreated != usage.FilesCreated {
		t.Errorf("a second Stop: %+v, %v", again, err)
	}
}

func TestProcessFigures(t *testing.T) {
	pid := os.Getpid()
	t.Run("the peak RSS follows memory the process touches, and resets", func(t *testing.T) {
		if err := bench.ResetPeakRSS(pid); err != nil {
			t.Fatal(err)
		}
		before, err := bench.PeakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 64<<20)
		for i := range b {
			b[i] = byte(i)
		}
		after, err := bench.PeakRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		if after < before+60<<20 {
			t.Errorf("peak RSS went from %d to %d after touching 64 MiB", before, after)
		}
		if rss, err := bench.RSS(pid); err != nil || rss < 60<<20 {
			t.Errorf("RSS %d (%v) while 64 MiB are in use", rss, err)
		}
		_ = sha256.Sum256(b) // keep b alive until here
	})
	t.Run("the CPU time counts work done", func(t *testing.T) {
		before, err := bench.CPUTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
			sha256.Sum256(buf)
		}
		after, err := bench.CPUTime(pid)
		if err != nil {
			t.Fatal(err)
		}
		if after-before < 100*time.Millisecond {
			t.Errorf("CPU time grew by %v during 300 ms of hashing", after-before)
		}
	})
	t.Run("the bytes written count a file's pages", func(t *testing.T) {
		before, err := bench.WrittenBytes(pid)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(t.TempDir(), "f"), make([]byte, 4<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		after, err := bench.WrittenBytes(pid)
		if err != nil {
			t.Fatal(err)
		}
		if after-before < 4<<20 {
			t.Errorf("%d bytes written for a 4 MiB file", after-before)
		}
	})
	t.Run("the machine's counters move", func(t *testing.T) {
		a, err := bench.ReadMachineCPU()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		b, err := bench.ReadMachineCPU()
		if err != nil {
			t.Fatal(err)
		}
		if busy := b.BusySince(a); b.Total <= a.Total || busy < 0 || busy > 1 {
			t.Errorf("busy %.2f between %+v and %+v", busy, a, b)
		}
		first := bench.IOStall()
		if err := os.WriteFile(filepath.Join(t.TempDir(), "f"), make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		if second := bench.IOStall(); first < 0 || second < first {
			t.Errorf("I/O stall went from %v to %v", first, second)
		}
	})
	t.Run("a child is found by its command name", func(t *testing.T) {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot run sleep: %v", err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		if got := bench.ChildPID("sleep"); got != cmd.Process.Pid {
			t.Errorf("ChildPID(sleep) = %d, want %d", got, cmd.Process.Pid)
		}
		if got := bench.ChildPID("no-such-command"); got != 0 {
			t.Errorf("ChildPID(no-such-command) = %d, want 0", got)
		}
	})
}

func TestCompareMemory(t *testing.T) {
	report := func(size, rss int64) *bench.Report {
		return &bench.Report{Dataset: bench.Dataset{Bytes: size}, Summary: bench.Summary{ServerCreatePeakRSS: rss}}
	}
	for _, tc := range []struct {
		large int64
		met   bool
	}{{80 << 20, true}, {87 << 20, true}, {89 << 20, false}, {70 << 20, false}} {
		if got := bench.CompareMemory(report(1<<30, 80<<20), report(4<<30, tc.large)); got.Met != tc.met {
			t.Errorf("80 MiB at 1 GiB vs %s at 4 GiB: met %v, want %v (%s)", bench.FormatSize(tc.large), got.Met, tc.met, got.Got)
		}
	}
}

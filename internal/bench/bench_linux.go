package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// Config says what Run measures. The zero value measures gamedata.DefaultSize
// (1 GiB) of seed 0, once, on a dataset generated afresh.
type Config struct {
	// Size of the dataset in bytes (the sum of its regular files). Zero means
	// gamedata.DefaultSize.
	Size int64
	// Seed selects the dataset; the same size and seed give the same tree.
	Seed uint64
	// Runs is how many times every phase is measured; the summary takes the
	// median of the runs' speed-ups (each against its own run's baseline) and the
	// worst of their memory figures. Zero means 1.
	Runs int
	// CacheDir keeps the generated dataset between runs, in
	// CacheDir/gamedata-<size>-seed<seed>. A cached dataset is checked against
	// the tree recorded when it was generated and made again if it differs.
	// Empty means a temporary dataset, removed when the test ends.
	CacheDir string
	// ServerEnv are extra environment variables (KEY=VALUE) for the example
	// server, the platform process: for example GOMEMLIMIT, the soft memory
	// limit a platform usually runs its Go processes with in a container.
	ServerEnv []string
	// S3TLS serves S3 over HTTPS, as AWS and most production endpoints are. The
	// SDK then sends unsigned payloads (TLS protects them), where over plain
	// HTTP it hashes every part with SHA-256 for the signature and versitygw
	// hashes it again to check it: two SHA-256 passes over the archive on the
	// same two cores that only a plain-HTTP endpoint costs.
	S3TLS bool
	// TextSize is the size of the text-heavy tree (gamedata.GenerateText) the
	// text phase measures, with the same seed. Zero means
	// gamedata.DefaultTextSize.
	TextSize int64
	// CompressionLevel, when not zero, is passed to every sidecar as
	// -compression-level: to compare levels on the same machine.
	CompressionLevel int
	// LogDir, when set, receives the output of every server and sidecar
	// process (<pair>-server.log, <pair>-sidecar.log; JSON lines), for a look
	// at what the durations were made of.
	LogDir string
}

// Report is the outcome of one Run, as written to the JSON results.
type Report struct {
	StartedAt time.Time   `json:"started_at"`
	GoVersion string      `json:"go_version"`
	CPUs      int         `json:"cpus"`
	Kernel    string      `json:"kernel"`
	Dataset   Dataset     `json:"dataset"`
	ServerEnv []string    `json:"server_env,omitempty"`
	S3        string      `json:"s3"` // "http" or "https"
	Runs      []RunResult `json:"runs"`
	Summary   Summary     `json:"summary"`

	// TextDataset is the text-heavy tree of the text phase.
	TextDataset Dataset `json:"text_dataset"`
	// CompressionLevel is the sidecars' -compression-level; 0 is their default.
	CompressionLevel int `json:"compression_level,omitempty"`
}

// Dataset describes the measured tree.
type Dataset struct {
	Dir             string  `json:"dir"`
	Seed            uint64  `json:"seed"`
	Bytes           int64   `json:"bytes"`
	Files           int     `json:"files"`
	Dirs            int     `json:"dirs"`
	RegionBytes     int64   `json:"region_bytes"`
	Cached          bool    `json:"cached"`
	GenerateSeconds float64 `json:"generate_seconds,omitempty"`
}

// RunResult holds one run's phases: the baseline and savepoint, measured back
// to back.
type RunResult struct {
	TarCreate       Phase `json:"tar_czf"`
	TarExtract      Phase `json:"tar_xzf"`
	CreateStreaming Phase `json:"create_streaming"`
	CreateFallback  Phase `json:"create_fallback"`
	Restore         Phase `json:"restore"`
	// The text phase: tar -czf of the text-heavy tree and the streaming create
	// of the same tree, back to back.
	TextTarCreate Phase `json:"text_tar_czf"`
	TextCreate    Phase `json:"text_create_streaming"`
}

// Phase is one timed operation.
type Phase struct {
	Seconds float64 `json:"seconds"`
	// MBps is dataset bytes (10^6) per second.
	MBps float64 `json:"mb_per_s"`
	// Speedup is the baseline's time in the same run divided by this phase's
	// (tar -czf for creates, tar -xzf for the restore); above 1 is faster.
	Speedup      float64 `json:"speedup_vs_baseline,omitempty"`
	ArchiveBytes int64   `json:"archive_bytes,omitempty"`
	// ServerPeakRSS and SidecarPeakRSS are the processes' VmHWM during the
	// phase. Both are restarted before every phase, and ServerStartRSS and
	// SidecarStartRSS are what they held then, idle.
	ServerPeakRSS   int64 `json:"server_peak_rss_bytes,omitempty"`
	SidecarPeakRSS  int64 `json:"sidecar_peak_rss_bytes,omitempty"`
	ServerStartRSS  int64 `json:"server_start_rss_bytes,omitempty"`
	SidecarStartRSS int64 `json:"sidecar_start_rss_bytes,omitempty"`
	// SidecarTemp is what the sidecar's temp directory held during the phase.
	SidecarTemp *DirUsage `json:"sidecar_temp,omitempty"`
	// CPUSeconds is the CPU time each process used during the phase.
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	// MachineBusy is the fraction of all the machine's cores that were busy
	// (any process: other people's work shows here), LoadAverage the 1-minute
	// load average at the end.
	MachineBusy float64 `json:"machine_busy"`
	LoadAverage float64 `json:"load_average"`
	// IOStall is the fraction of the phase during which some task on the
	// machine waited for the disk (PSI "some"): high when a phase is held up
	// by writes, ours or other people's.
	IOStall float64 `json:"io_stall"`
	// WrittenBytes is what each process wrote to storage during the phase
	// (page-cache pages it dirtied): where the disk's work comes from.
	WrittenBytes map[string]int64 `json:"written_bytes,omitempty"`
	// SidecarCalls sums the durations the sidecar logged, per RPC.
	SidecarCalls map[string]float64 `json:"sidecar_call_seconds,omitempty"`
	// Progress is what the polls saw of the operation's progress.
	Progress *ProgressSeen `json:"progress,omitempty"`
	// MeasureSeconds is how long the sidecar took to measure what a streamed
	// archive holds, for its progress, and MeasureCPUSeconds the CPU time that
	// took: the feature's main cost.
	MeasureSeconds    float64 `json:"progress_measure_seconds,omitempty"`
	MeasureCPUSeconds float64 `json:"progress_measure_cpu_seconds,omitempty"`
}

// ProgressSeen is what polling a create or restore every 20 ms saw of its
// progress.
type ProgressSeen struct {
	// Polls is how many polls saw the operation running, Values how many of
	// them saw a progress different from the one before.
	Polls, Values int
	// Backwards is set if done or total ever decreased between polls.
	Backwards bool
	// LastPercent is the last percentage seen before the operation ended.
	LastPercent float64
}

// see adds a poll's view of the running operation.
func (s *ProgressSeen) see(v sphttp.BackupView, last **sphttp.ProgressView) {
	s.Polls++
	p := v.Progress
	if p == nil {
		return
	}
	if prev := *last; prev == nil || *prev != *p {
		s.Values++
		if prev != nil && (p.DoneBytes < prev.DoneBytes || p.TotalBytes < prev.TotalBytes) {
			s.Backwards = true
		}
	}
	if p.TotalBytes > 0 {
		s.LastPercent = 100 * float64(p.DoneBytes) / float64(p.TotalBytes)
	}
	*last = p
}

// Summary combines the runs and checks them against the targets.
type Summary struct {
	// Median times and speed-ups over the runs.
	TarCreateSeconds       float64 `json:"tar_czf_seconds"`
	TarExtractSeconds      float64 `json:"tar_xzf_seconds"`
	CreateStreamingSeconds float64 `json:"create_streaming_seconds"`
	CreateFallbackSeconds  float64 `json:"create_fallback_seconds"`
	RestoreSeconds         float64 `json:"restore_seconds"`
	CreateStreamingSpeedup float64 `json:"create_streaming_speedup"`
	CreateFallbackSpeedup  float64 `json:"create_fallback_speedup"`
	RestoreSpeedup         float64 `json:"restore_speedup"`
	// The worst run's speed-ups and text archive size: every run must meet the
	// targets, not only the median.
	CreateStreamingWorst float64 `json:"create_streaming_speedup_worst"`
	CreateFallbackWorst  float64 `json:"create_fallback_speedup_worst"`
	RestoreWorst         float64 `json:"restore_speedup_worst"`
	TextCreateWorst      float64 `json:"text_create_speedup_worst"`
	TextSizeWorst        float64 `json:"text_size_vs_tar_worst"`
	// The sidecar's temp directory during the (streamed) restore, worst run.
	RestoreTempPeakBytes int64 `json:"restore_temp_peak_bytes"`
	RestoreTempFiles     int   `json:"restore_temp_files"`
	// Progress as the polls saw it: whether it ever went backwards, the fewest
	// values one create or restore showed, and the most that measuring the tree
	// cost, as a fraction of all the CPU time of its create.
	ProgressBackwards bool    `json:"progress_backwards"`
	ProgressFewest    int     `json:"progress_fewest_values"`
	ProgressCost      float64 `json:"progress_measure_cost"`
	// The most memory any run's create (either path) took in the server, and in
	// the sidecar; the most the restore took.
	ServerCreatePeakRSS   int64 `json:"server_create_peak_rss_bytes"`
	SidecarCreatePeakRSS  int64 `json:"sidecar_create_peak_rss_bytes"`
	ServerRestorePeakRSS  int64 `json:"server_restore_peak_rss_bytes"`
	SidecarRestorePeakRSS int64 `json:"sidecar_restore_peak_rss_bytes"`
	// The sidecar's temp directory, worst run.
	StreamingTempPeakBytes int64    `json:"streaming_temp_peak_bytes"`
	StreamingTempFiles     int      `json:"streaming_temp_files"`
	FallbackTempPeakBytes  int64    `json:"fallback_temp_peak_bytes"`
	FallbackTempFiles      int      `json:"fallback_temp_files"`
	FallbackTempLeft       int      `json:"fallback_temp_left"`
	Targets                []Target `json:"targets"`

	// The text phase, medians: times, the speed-up, and the archive's size
	// over tar -czf's.
	TextTarCreateSeconds float64 `json:"text_tar_czf_seconds"`
	TextCreateSeconds    float64 `json:"text_create_streaming_seconds"`
	TextCreateSpeedup    float64 `json:"text_create_streaming_speedup"`
	TextSizeVsTar        float64 `json:"text_archive_size_vs_tar"`
}

// Target is one of the acceptance figures.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// The targets: what a run must show.
const (
	wantStreamingSpeedup = 5.0
	wantFallbackSpeedup  = 3.5
	wantRestoreSpeedup   = 1.5 // median
	wantRestoreWorst     = 1.3 // every run
	wantServerPeakRSS    = 128 << 20
	wantProgressCost     = 0.02
	wantTextSpeedup      = 4.0
	wantTextSizeVsTar    = 1.05
)

// pair is an example server and the sidecar it uses.
type pair struct {
	name    string
	server  *e2e.Server
	sidecar *e2e.Sidecar
}

// harness is one Run: the dataset, the processes, and the logs kept so far.
// The restore runs on the streaming pair, with the backup it just made.
type harness struct {
	tb        testing.TB
	cfg       Config
	data      string
	tree      e2e.Tree
	size      int64
	scratch   string
	versitygw int // pid, 0 if not found
	stream    pair
	fallback  pair
	text      textTree
	timeout   time.Duration
	logs      map[string]*strings.Builder
}

// Run measures the pipeline as the package documentation describes and returns
// the report. It fails tb when a piece cannot be started or when savepoint gets
// something wrong (the restored tree differs from the original, the streaming
// path touches the temp directory, the fallback leaves its archive behind);
// missed speed or memory targets are only reported.
func Run(tb testing.TB, cfg Config) *Report {
	tb.Helper()
	if cfg.Size == 0 {
		cfg.Size = gamedata.DefaultSize
	}
	cfg.Runs = max(cfg.Runs, 1)
	for _, tool := range []string{"tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(tb, "%s is not installed: %v", tool, err)
		}
	}
	rep := &Report{StartedAt: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Kernel: kernel(), ServerEnv: cfg.ServerEnv, S3: "http"}
	if cfg.S3TLS {
		rep.S3 = "https"
	}
	h := &harness{tb: tb, cfg: cfg, scratch: tb.TempDir(), logs: map[string]*strings.Builder{}}
	h.data, h.tree, rep.Dataset = LoadDataset(tb, cfg)
	h.size = rep.Dataset.Bytes
	// Generous: 4 MB/s, a tenth of tar's speed, plus start-up.
	h.timeout = 2*time.Minute + time.Duration(h.size/(4<<20))*time.Second

	store := testenv.S3(tb, testenv.S3Options{TLS: cfg.S3TLS})
	h.versitygw = ChildPID("versitygw")
	h.stream = h.start("streaming", store)
	h.fallback = h.start("fallback", store, "-disable-stream-archive")
	h.text.data, rep.TextDataset = LoadTextDataset(tb, cfg)
	h.text.size = rep.TextDataset.Bytes
	h.text.pair = h.startOn(h.text.data, "text", store)
	rep.CompressionLevel = cfg.CompressionLevel

	for i := range cfg.Runs {
		tb.Logf("run %d of %d on %s (load average %.2f)", i+1, cfg.Runs, FormatSize(h.size), LoadAverage())
		r := h.run(fmt.Sprintf("run %d", i+1))
		rep.Runs = append(rep.Runs, r)
		tb.Log("\n" + FormatRun(rep.Dataset, r))
	}
	rep.Summary = summarize(rep.Runs)
	if cfg.LogDir != "" {
		h.writeLogs()
	}
	tb.Log("\n" + FormatSummary(rep))
	return rep
}

func (h *harness) start(name string, store *testenv.S3Server, sidecarArgs ...string) pair {
	return h.startOn(h.data, name, store, sidecarArgs...)
}

// startOn starts a pair whose sidecar serves data.
func (h *harness) startOn(data, name string, store *testenv.S3Server, sidecarArgs ...string) pair {
	args := append([]string{"-log-json"}, sidecarArgs...)
	if h.cfg.CompressionLevel != 0 {
		args = append(args, fmt.Sprint("-compression-level=", h.cfg.CompressionLevel))
	}
	sc := e2e.StartSidecar(h.tb, data, args...)
	srv := e2e.StartServer(h.tb, e2e.ServerOptions{
		DatabaseURL: testenv.PostgresURL(h.tb), S3: store, Sidecar: sc, Name: name + " server", Env: h.cfg.ServerEnv,
	})
	return pair{name: name, server: srv, sidecar: sc}
}

func (h *harness) run(label string) RunResult {
	var r RunResult
	r.TarCreate, r.TarExtract = h.baseline()
	var streamed, fallback sphttp.BackupView
	r.CreateStreaming, streamed = h.create(h.stream, label)
	r.CreateFallback, fallback = h.create(h.fallback, label)
	r.Restore = h.restore(h.stream, streamed)
	for _, p := range []*Phase{&r.CreateStreaming, &r.CreateFallback} {
		p.Speedup = r.TarCreate.Seconds / p.Seconds
	}
	r.Restore.Speedup = r.TarExtract.Seconds / r.Restore.Seconds

	// Correctness, whatever the speed.
	if t := r.CreateStreaming.SidecarTemp; t.FilesCreated != 0 || t.PeakBytes != 0 {
		h.tb.Errorf("%s: the streaming create used the sidecar's temp directory: %d files, peak %d bytes (%v)", label, t.FilesCreated, t.PeakBytes, t.Names)
	}
	if t := r.CreateFallback.SidecarTemp; t.FilesCreated != 1 || t.PeakBytes != r.CreateFallback.ArchiveBytes || len(t.Left) != 0 {
		h.tb.Errorf("%s: the fallback create should stage exactly one archive of %d bytes and remove it: %d files created (%v), peak %d bytes, left %v",
			label, r.CreateFallback.ArchiveBytes, t.FilesCreated, t.Names, t.PeakBytes, t.Left)
	}
	if t := r.Restore.SidecarTemp; len(t.Left) != 0 {
		h.tb.Errorf("%s: the restore left %v in the sidecar's temp directory", label, t.Left)
	}
	// Untimed: keeps the bucket, and the provision's 10-backup limit, clear.
	for _, done := range []struct {
		p  pair
		id string
	}{{h.stream, streamed.ID}, {h.fallback, fallback.ID}} {
		done.p.server.Client.Delete(h.tb, done.p.server.Order, done.p.server.Provision, done.id)
	}
	r.TextTarCreate, r.TextCreate = h.textPhase(label)
	return r
}

// baseline times tar -czf of the dataset to a file and tar -xzf of that file.
func (h *harness) baseline() (create, extract Phase) {
	archive := filepath.Join(h.scratch, "baseline.tar.gz")
	dest := filepath.Join(h.scratch, "untar")
	if err := os.Mkdir(dest, 0o755); err != nil {
		h.tb.Fatal(err)
	}
	defer func() {
		os.Remove(archive)
		os.RemoveAll(dest)
		syscall.Sync()
	}()
	create = h.tar("tar", "-czf", archive, "-C", h.data, ".")
	info, err := os.Stat(archive)
	if err != nil {
		h.tb.Fatal(err)
	}
	create.ArchiveBytes = info.Size()
	extract = h.tar("tar", "-xzf", archive, "-C", dest)
	extract.ArchiveBytes = info.Size()
	return create, extract
}

func (h *harness) tar(args ...string) Phase {
	syscall.Sync()
	before, _ := ReadMachineCPU()
	stall := IOStall()
	cmd := exec.Command(args[0], args[1:]...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		h.tb.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	after, _ := ReadMachineCPU()
	// tar's usage includes the gzip it ran and waited for.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return Phase{
		Seconds: took.Seconds(), MBps: mbps(h.size, took),
		CPUSeconds:  map[string]float64{"tar+gzip": cpu.Seconds()},
		MachineBusy: after.BusySince(before), LoadAverage: LoadAverage(),
		IOStall: (IOStall() - stall).Seconds() / took.Seconds(),
	}
}

// create times one backup over HTTP, from the request to the moment the backup
// reads ready.
func (h *harness) create(p pair, label string) (Phase, sphttp.BackupView) {
	m := h.begin(p)
	start := time.Now()
	v := p.server.Client.Create(h.tb, p.server.Order, p.server.Provision, fmt.Sprintf("bench %s %s", p.name, label))
	v, seen := h.settle(p, v.ID)
	took := time.Since(start)
	phase := m.end(took)
	phase.Progress = seen
	if v.Status != "ready" || v.SizeBytes == nil {
		h.tb.Fatalf("%s create did not become ready: %s\n%s", p.name, e2e.Describe(v), p.server.Proc.Output())
	}
	phase.ArchiveBytes = *v.SizeBytes
	return phase, v
}

// restore damages the data directory, restores the backup over HTTP (timed
// from the request until the backup reads ready again), and checks that the
// directory is the original tree again.
func (h *harness) restore(p pair, b sphttp.BackupView) Phase {
	h.damage()
	m := h.begin(p)
	start := time.Now()
	p.server.Client.Restore(h.tb, p.server.Order, p.server.Provision, b.ID)
	v, seen := h.settle(p, b.ID)
	took := time.Since(start)
	phase := m.end(took)
	phase.Progress = seen
	if v.Status != "ready" || v.Error != nil || v.LastRestoredAt == nil {
		h.tb.Fatalf("%s restore did not complete: %s\n%s", p.name, e2e.Describe(v), p.server.Proc.Output())
	}
	phase.ArchiveBytes = *v.SizeBytes
	now, err := e2e.Snapshot(h.data)
	if err != nil {
		h.tb.Fatal(err)
	}
	if diff := e2e.Diff(h.tree, now, 10); diff != nil {
		h.tb.Fatalf("after the restore the data directory differs from the original:\n%s", strings.Join(diff, "\n"))
	}
	return phase
}

// damage changes the data directory the way a bad plugin or a griefer would:
// one file rewritten, one removed, one added. The rest stays, so the restore
// replaces a full world, as it would in production.
func (h *harness) damage() {
	var regular []string
	for name, e := range h.tree {
		if e.Mode.IsRegular() {
			regular = append(regular, name)
		}
	}
	slices.Sort(regular)
	if len(regular) < 2 {
		h.tb.Fatalf("the dataset has %d files, too few to damage", len(regular))
	}
	if err := os.WriteFile(filepath.Join(h.data, regular[0]), []byte("overwritten\n"), 0o644); err != nil {
		h.tb.Fatal(err)
	}
	if err := os.Remove(filepath.Join(h.data, regular[len(regular)-1])); err != nil {
		h.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.data, "griefer-was-here.txt"), []byte("hi\n"), 0o644); err != nil {
		h.tb.Fatal(err)
	}
}

// settle polls the backup every 20 ms until it is neither creating nor
// restoring.
func (h *harness) settle(p pair, id string) (sphttp.BackupView, *ProgressSeen) {
	deadline := time.Now().Add(h.timeout)
	seen := &ProgressSeen{}
	var last *sphttp.ProgressView
	for {
		v := p.server.Client.Get(h.tb, p.server.Order, p.server.Provision, id)
		if v.Status != "creating" && v.Status != "restoring" {
			return v, seen
		}
		seen.see(v, &last)
		if time.Now().After(deadline) {
			h.tb.Fatalf("backup %s still %s after %v", id, v.Status, h.timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// measurement is a phase in progress.
type measurement struct {
	h         *harness
	p         pair
	watch     *DirWatch
	cpu       map[string]time.Duration
	written   map[string]int64
	machine   MachineCPU
	logOffset int
	// RSS of the freshly started processes.
	serverRSS, sidecarRSS int64
	stall                 time.Duration
}

// begin restarts the server and the sidecar, so that each phase's peak RSS is
// its own and not what an earlier phase left in the heap; writes back dirty
// pages; resets the processes' peak RSS (start-up has its own peak); and starts
// watching the sidecar's temp directory.
func (h *harness) begin(p pair) *measurement {
	if err := p.server.Proc.Terminate(time.Minute); err != nil {
		h.tb.Fatalf("stopping the %s server: %v", p.name, err)
	}
	p.sidecar.Proc.Kill()
	p.sidecar.Start(h.tb)
	p.server.Start(h.tb)
	syscall.Sync()
	m := &measurement{h: h, p: p, cpu: map[string]time.Duration{}, written: map[string]int64{}, logOffset: len(p.sidecar.Proc.Output())}
	for _, pid := range []int{p.server.Proc.Pid(), p.sidecar.Proc.Pid()} {
		if err := ResetPeakRSS(pid); err != nil {
			h.tb.Fatal(err)
		}
	}
	var err error
	if m.serverRSS, err = RSS(p.server.Proc.Pid()); err != nil {
		h.tb.Fatal(err)
	}
	if m.sidecarRSS, err = RSS(p.sidecar.Proc.Pid()); err != nil {
		h.tb.Fatal(err)
	}
	if m.watch, err = WatchDir(p.sidecar.TempDir); err != nil {
		h.tb.Fatal(err)
	}
	for name, pid := range h.pids(p) {
		m.cpu[name], _ = CPUTime(pid)
		m.written[name], _ = WrittenBytes(pid)
	}
	m.machine, _ = ReadMachineCPU()
	m.stall = IOStall()
	return m
}

func (h *harness) pids(p pair) map[string]int {
	pids := map[string]int{"server": p.server.Proc.Pid(), "sidecar": p.sidecar.Proc.Pid()}
	if h.versitygw != 0 {
		pids["versitygw"] = h.versitygw
	}
	return pids
}

// end collects the phase's figures. The service removes a staged archive just
// after it marks the backup ready, so the watch lasts until the temp directory
// is empty again (or 30 s).
func (m *measurement) end(took time.Duration) Phase {
	h := m.h
	ph := Phase{Seconds: took.Seconds(), MBps: mbps(h.size, took), CPUSeconds: map[string]float64{},
		WrittenBytes: map[string]int64{}, ServerStartRSS: m.serverRSS, SidecarStartRSS: m.sidecarRSS}
	machine, _ := ReadMachineCPU()
	ph.MachineBusy = machine.BusySince(m.machine)
	ph.LoadAverage = LoadAverage()
	ph.IOStall = (IOStall() - m.stall).Seconds() / took.Seconds()
	for name, pid := range h.pids(m.p) {
		if t, err := CPUTime(pid); err == nil {
			ph.CPUSeconds[name] = (t - m.cpu[name]).Seconds()
		}
		if w, err := WrittenBytes(pid); err == nil {
			ph.WrittenBytes[name] = w - m.written[name]
		}
	}
	var err error
	if ph.ServerPeakRSS, err = PeakRSS(m.p.server.Proc.Pid()); err != nil {
		h.tb.Fatal(err)
	}
	if ph.SidecarPeakRSS, err = PeakRSS(m.p.sidecar.Proc.Pid()); err != nil {
		h.tb.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if left, _ := listFiles(m.p.sidecar.TempDir); len(left) == 0 {
			break
		}
	}
	usage, err := m.watch.Stop()
	if err != nil {
		h.tb.Fatal(err)
	}
	ph.SidecarTemp = &usage
	ph.SidecarCalls, ph.MeasureSeconds, ph.MeasureCPUSeconds = sidecarCalls(m.p.sidecar.Proc.Output()[m.logOffset:])
	h.keepLog(m.p.name+"-server", m.p.server.Proc.Output())
	h.keepLog(m.p.name+"-sidecar", m.p.sidecar.Proc.Output())
	return ph
}

// keepLog adds a process's output to what writeLogs writes. Every phase runs
// on fresh processes, so each output is whole and new.
func (h *harness) keepLog(name, output string) {
	if h.logs[name] == nil {
		h.logs[name] = &strings.Builder{}
	}
	h.logs[name].WriteString(output)
}

func (h *harness) writeLogs() {
	if err := os.MkdirAll(h.cfg.LogDir, 0o755); err != nil {
		h.tb.Fatal(err)
	}
	for name, b := range h.logs {
		if err := os.WriteFile(filepath.Join(h.cfg.LogDir, name+".log"), []byte(b.String()), 0o644); err != nil {
			h.tb.Fatal(err)
		}
	}
}

// sidecarCalls sums the call durations in the sidecar's JSON log, per method,
// and the time and CPU time its streamed archives took to measure.
func sidecarCalls(log string) (calls map[string]float64, measure, measureCPU float64) {
	calls = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg        string `json:"msg"`
			Method     string `json:"method"`
			Duration   int64  `json:"duration"` // slog writes durations in nanoseconds
			MeasuredIn int64  `json:"measured_in"`
			MeasureCPU int64  `json:"measure_cpu"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Msg {
		case "sidecar call":
			calls[filepath.Base(line.Method)] += time.Duration(line.Duration).Seconds()
		case "archive streamed":
			measure += time.Duration(line.MeasuredIn).Seconds()
			measureCPU += time.Duration(line.MeasureCPU).Seconds()
		}
	}
	return calls, measure, measureCPU
}

// manifest records a generated dataset, to check a cached copy against.
type manifest struct {
	Summary gamedata.Summary `json:"summary"`
	Tree    e2e.Tree         `json:"tree"`
}

// LoadDataset returns the data directory cfg describes (Size, Seed, CacheDir),
// its tree, and its description: from the cache when a good copy is there,
// generated otherwise.
func LoadDataset(tb testing.TB, cfg Config) (string, e2e.Tree, Dataset) {
	tb.Helper()
	if cfg.Size == 0 {
		cfg.Size = gamedata.DefaultSize
	}
	return loadTree(tb, cfg, "gamedata", gamedata.Generate)
}

// loadTree is LoadDataset for any generator; name tells the cached trees apart.
func loadTree(tb testing.TB, cfg Config, name string, generate func(context.Context, string, gamedata.Options) (gamedata.Summary, error)) (string, e2e.Tree, Dataset) {
	tb.Helper()
	base := filepath.Join(tb.TempDir(), name)
	if cfg.CacheDir != "" {
		base = filepath.Join(cfg.CacheDir, fmt.Sprintf("%s-%d-seed%d", name, cfg.Size, cfg.Seed))
	}
	dir, manifestPath := filepath.Join(base, "data"), filepath.Join(base, "manifest.json")
	if b, err := os.ReadFile(manifestPath); err == nil {
		var m manifest
		if err := json.Unmarshal(b, &m); err == nil {
			if now, err := e2e.Snapshot(dir); err == nil && e2e.Diff(m.Tree, now, 1) == nil {
				tb.Logf("using the cached dataset %s", dir)
				return dir, m.Tree, describe(dir, cfg.Seed, m.Summary, true, 0)
			}
		}
		tb.Logf("the cached dataset %s is damaged or incomplete: generating it again", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
	if err := os.RemoveAll(base); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("generating %s of %s (seed %d) in %s", FormatSize(cfg.Size), name, cfg.Seed, dir)
	start := time.Now()
	sum, err := generate(context.Background(), dir, gamedata.Options{Size: cfg.Size, Seed: cfg.Seed})
	if err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	tree, err := e2e.Snapshot(dir)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(manifest{Summary: sum, Tree: tree})
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(manifestPath, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir, tree, describe(dir, cfg.Seed, sum, false, took)
}

func describe(dir string, seed uint64, s gamedata.Summary, cached bool, took time.Duration) Dataset {
	return Dataset{Dir: dir, Seed: seed, Bytes: s.Bytes, Files: s.Files, Dirs: s.Dirs, RegionBytes: s.RegionBytes,
		Cached: cached, GenerateSeconds: took.Seconds()}
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func summarize(runs []RunResult) Summary {
	var s Summary
	pick := func(f func(RunResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	s.TarCreateSeconds = pick(func(r RunResult) float64 { return r.TarCreate.Seconds })
	s.TarExtractSeconds = pick(func(r RunResult) float64 { return r.TarExtract.Seconds })
	s.CreateStreamingSeconds = pick(func(r RunResult) float64 { return r.CreateStreaming.Seconds })
	s.CreateFallbackSeconds = pick(func(r RunResult) float64 { return r.CreateFallback.Seconds })
	s.RestoreSeconds = pick(func(r RunResult) float64 { return r.Restore.Seconds })
	s.CreateStreamingSpeedup = pick(func(r RunResult) float64 { return r.CreateStreaming.Speedup })
	s.CreateFallbackSpeedup = pick(func(r RunResult) float64 { return r.CreateFallback.Speedup })
	s.RestoreSpeedup = pick(func(r RunResult) float64 { return r.Restore.Speedup })
	s.TextTarCreateSeconds = pick(func(r RunResult) float64 { return r.TextTarCreate.Seconds })
	s.TextCreateSeconds = pick(func(r RunResult) float64 { return r.TextCreate.Seconds })
	s.TextCreateSpeedup = pick(func(r RunResult) float64 { return r.TextCreate.Speedup })
	s.TextSizeVsTar = pick(func(r RunResult) float64 {
		return float64(r.TextCreate.ArchiveBytes) / float64(r.TextTarCreate.ArchiveBytes)
	})
	for _, r := range runs {
		s.ServerCreatePeakRSS = max(s.ServerCreatePeakRSS, r.CreateStreaming.ServerPeakRSS, r.CreateFallback.ServerPeakRSS)
		s.SidecarCreatePeakRSS = max(s.SidecarCreatePeakRSS, r.CreateStreaming.SidecarPeakRSS, r.CreateFallback.SidecarPeakRSS)
		s.ServerRestorePeakRSS = max(s.ServerRestorePeakRSS, r.Restore.ServerPeakRSS)
		s.SidecarRestorePeakRSS = max(s.SidecarRestorePeakRSS, r.Restore.SidecarPeakRSS)
		st, ft := r.CreateStreaming.SidecarTemp, r.CreateFallback.SidecarTemp
		s.StreamingTempPeakBytes = max(s.StreamingTempPeakBytes, st.PeakBytes)
		s.StreamingTempFiles = max(s.StreamingTempFiles, st.FilesCreated)
		s.FallbackTempPeakBytes = max(s.FallbackTempPeakBytes, ft.PeakBytes)
		s.FallbackTempFiles = max(s.FallbackTempFiles, ft.FilesCreated)
		s.FallbackTempLeft = max(s.FallbackTempLeft, len(ft.Left))
	}
	s.worst(runs)
	s.Targets = s.targets()
	return s
}

// worst records the worst run's figures, and what the polls saw of progress.
func (s *Summary) worst(runs []RunResult) {
	s.CreateStreamingWorst, s.CreateFallbackWorst = math.Inf(1), math.Inf(1)
	s.RestoreWorst, s.TextCreateWorst = math.Inf(1), math.Inf(1)
	s.ProgressFewest = math.MaxInt
	for _, r := range runs {
		s.CreateStreamingWorst = min(s.CreateStreamingWorst, r.CreateStreaming.Speedup)
		s.CreateFallbackWorst = min(s.CreateFallbackWorst, r.CreateFallback.Speedup)
		s.RestoreWorst = min(s.RestoreWorst, r.Restore.Speedup)
		s.TextCreateWorst = min(s.TextCreateWorst, r.TextCreate.Speedup)
		s.TextSizeWorst = max(s.TextSizeWorst, float64(r.TextCreate.ArchiveBytes)/float64(r.TextTarCreate.ArchiveBytes))
		if t := r.Restore.SidecarTemp; t != nil {
			s.RestoreTempPeakBytes = max(s.RestoreTempPeakBytes, t.PeakBytes)
			s.RestoreTempFiles = max(s.RestoreTempFiles, t.FilesCreated)
		}
		for _, ph := range []Phase{r.CreateStreaming, r.Restore, r.TextCreate} {
			if p := ph.Progress; p != nil {
				s.ProgressBackwards = s.ProgressBackwards || p.Backwards
				s.ProgressFewest = min(s.ProgressFewest, p.Values)
			}
		}
		// The phases are CPU-bound: what measuring adds to all the CPU they
		// used is what it takes from their throughput.
		for _, ph := range []Phase{r.CreateStreaming, r.TextCreate} {
			var cpu float64
			for _, sec := range ph.CPUSeconds {
				cpu += sec
			}
			if cpu > 0 {
				s.ProgressCost = max(s.ProgressCost, ph.MeasureCPUSeconds/cpu)
			}
		}
	}
}

// targets checks the summary against the targets: throughput in every run
// (the restore's also as a median), memory, temp space, text, progress.
func (s *Summary) targets() []Target {
	speed := func(name string, median, worst, want float64) Target {
		return Target{Name: name + " (every run)", Want: fmt.Sprintf(">= %.1fx", want),
			Got: fmt.Sprintf("%.2fx median, %.2fx worst", median, worst), Met: worst >= want}
	}
	peakRSS := max(s.ServerCreatePeakRSS, s.ServerRestorePeakRSS)
	return []Target{
		speed("create end to end, streaming, vs tar -czf", s.CreateStreamingSpeedup, s.CreateStreamingWorst, wantStreamingSpeedup),
		speed("create end to end, fallback (temp file), vs tar -czf", s.CreateFallbackSpeedup, s.CreateFallbackWorst, wantFallbackSpeedup),
		{Name: "restore end to end vs tar -xzf of a local file", Want: fmt.Sprintf(">= %.1fx median, >= %.1fx every run", wantRestoreSpeedup, wantRestoreWorst),
			Got: fmt.Sprintf("%.2fx median, %.2fx worst", s.RestoreSpeedup, s.RestoreWorst),
			Met: s.RestoreSpeedup >= wantRestoreSpeedup && s.RestoreWorst >= wantRestoreWorst},
		{Name: "platform process peak RSS during a create or a restore", Want: "< " + FormatSize(wantServerPeakRSS),
			Got: FormatSize(peakRSS), Met: peakRSS < wantServerPeakRSS},
		{Name: "sidecar temp directory peak, streaming create", Want: "0 B, no file",
			Got: fmt.Sprintf("%s, %d files", FormatSize(s.StreamingTempPeakBytes), s.StreamingTempFiles),
			Met: s.StreamingTempPeakBytes == 0 && s.StreamingTempFiles == 0},
		{Name: "sidecar temp directory, fallback create", Want: "exactly one archive, removed",
			Got: fmt.Sprintf("%d files (peak %s), %d left", s.FallbackTempFiles, FormatSize(s.FallbackTempPeakBytes), s.FallbackTempLeft),
			Met: s.FallbackTempFiles == 1 && s.FallbackTempLeft == 0},
		{Name: "sidecar temp directory peak, streamed restore", Want: "0 B, no file",
			Got: fmt.Sprintf("%s, %d files", FormatSize(s.RestoreTempPeakBytes), s.RestoreTempFiles),
			Met: s.RestoreTempPeakBytes == 0 && s.RestoreTempFiles == 0},
		speed("text tree: create end to end, streaming, vs tar -czf", s.TextCreateSpeedup, s.TextCreateWorst, wantTextSpeedup),
		{Name: "text tree: archive size vs tar -czf's (every run)", Want: fmt.Sprintf("<= %.2fx", wantTextSizeVsTar),
			Got: fmt.Sprintf("%.3fx worst", s.TextSizeWorst), Met: s.TextSizeWorst <= wantTextSizeVsTar},
		{Name: "progress seen by polls every 20 ms", Want: "never backwards, at least 2 values per create and restore",
			Got: fmt.Sprintf("backwards %v, fewest values %d", s.ProgressBackwards, s.ProgressFewest),
			Met: !s.ProgressBackwards && s.ProgressFewest >= 2},
		{Name: "progress cost: CPU time measuring the tree, against the create's", Want: fmt.Sprintf("< %.0f%%", 100*wantProgressCost),
			Got: fmt.Sprintf("%.2f%%", 100*s.ProgressCost), Met: s.ProgressCost < wantProgressCost},
	}
}

// CompareMemory is the target across dataset sizes: the platform process's
// peak RSS during a create of the larger dataset within 10% of the smaller's.
func CompareMemory(small, large *Report) Target {
	a, b := small.Summary.ServerCreatePeakRSS, large.Summary.ServerCreatePeakRSS
	growth := float64(b)/float64(a) - 1
	return Target{
		Name: fmt.Sprintf("platform peak RSS, %s create vs %s", FormatSize(large.Dataset.Bytes), FormatSize(small.Dataset.Bytes)),
		Want: "within 10%",
		Got:  fmt.Sprintf("%s vs %s (%+.1f%%)", FormatSize(b), FormatSize(a), 100*growth),
		Met:  growth <= 0.10 && growth >= -0.10,
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// FormatRun renders one run as a table.
func FormatRun(d Dataset, r RunResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dataset %s, %d files (seed %d)\n", FormatSize(d.Bytes), d.Files, d.Seed)
	fmt.Fprintf(&b, "%-22s %8s %8s %8s %11s %21s %21s %11s %5s %5s %s\n", "phase", "seconds", "MB/s", "vs tar", "archive", "server RSS (start)", "sidecar RSS (start)", "temp peak", "busy", "io", "CPU seconds")
	row := func(name string, p Phase) {
		speed, temp, srv, sc := "", "", "", ""
		if p.Speedup != 0 {
			speed = fmt.Sprintf("%.2fx", p.Speedup)
		}
		if p.SidecarTemp != nil {
			temp = FormatSize(p.SidecarTemp.PeakBytes)
		}
		if p.ServerPeakRSS != 0 {
			srv = fmt.Sprintf("%s (%s)", FormatSize(p.ServerPeakRSS), FormatSize(p.ServerStartRSS))
			sc = fmt.Sprintf("%s (%s)", FormatSize(p.SidecarPeakRSS), FormatSize(p.SidecarStartRSS))
		}
		cpu := joinSorted(p.CPUSeconds, func(s float64) string { return fmt.Sprintf("%.1f", s) })
		fmt.Fprintf(&b, "%-22s %8.2f %8.1f %8s %11s %21s %21s %11s %4.0f%% %4.0f%% %s\n", name, p.Seconds, p.MBps, speed,
			FormatSize(p.ArchiveBytes), srv, sc, temp, 100*p.MachineBusy, 100*p.IOStall, cpu)
	}
	row("tar -czf (baseline)", r.TarCreate)
	row("create, streaming", r.CreateStreaming)
	row("create, fallback", r.CreateFallback)
	row("text tar -czf", r.TextTarCreate)
	row("text create, stream", r.TextCreate)
	row("tar -xzf (baseline)", r.TarExtract)
	row("restore", r.Restore)
	calls := func(name string, p Phase) {
		fmt.Fprintf(&b, "sidecar calls, %s: %s\n", name, joinSorted(p.SidecarCalls, func(s float64) string { return fmt.Sprintf("%.2fs", s) }))
	}
	calls("streaming create", r.CreateStreaming)
	calls("fallback create", r.CreateFallback)
	calls("restore", r.Restore)
	written := func(name string, p Phase) {
		fmt.Fprintf(&b, "written to storage, %s: %s\n", name, joinSorted(p.WrittenBytes, FormatSize))
	}
	written("streaming create", r.CreateStreaming)
	written("fallback create", r.CreateFallback)
	written("restore", r.Restore)
	progress := func(name string, p Phase) {
		if g := p.Progress; g != nil {
			fmt.Fprintf(&b, "progress, %s: %d values in %d polls, last %.0f%%, backwards %v", name, g.Values, g.Polls, g.LastPercent, g.Backwards)
			if p.MeasureSeconds > 0 {
				fmt.Fprintf(&b, "; tree measured in %.3fs (%.3f CPU seconds)", p.MeasureSeconds, p.MeasureCPUSeconds)
			}
			b.WriteString("\n")
		}
	}
	progress("streaming create", r.CreateStreaming)
	progress("text create", r.TextCreate)
	progress("restore", r.Restore)
	return b.String()
}

// joinSorted renders m as "key value" pairs in key order, separated by commas.
func joinSorted[V any](m map[string]V, format func(V) string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+" "+format(m[k]))
	}
	return strings.Join(parts, ", ")
}

// FormatSummary renders the summary and the targets.
func FormatSummary(rep *Report) string {
	s := rep.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "summary over %d runs of %s, S3 over %s (medians; memory: worst run)\n", len(rep.Runs), FormatSize(rep.Dataset.Bytes), rep.S3)
	if len(rep.ServerEnv) > 0 {
		fmt.Fprintf(&b, "  the example server ran with %s\n", strings.Join(rep.ServerEnv, " "))
	}
	mb := func(sec float64) float64 { return float64(rep.Dataset.Bytes) / sec / 1e6 }
	fmt.Fprintf(&b, "  tar -czf %.2fs (%.1f MB/s), tar -xzf %.2fs (%.1f MB/s)\n", s.TarCreateSeconds, mb(s.TarCreateSeconds), s.TarExtractSeconds, mb(s.TarExtractSeconds))
	fmt.Fprintf(&b, "  create streaming %.2fs (%.1f MB/s, %.2fx), fallback %.2fs (%.1f MB/s, %.2fx), restore %.2fs (%.1f MB/s, %.2fx)\n",
		s.CreateStreamingSeconds, mb(s.CreateStreamingSeconds), s.CreateStreamingSpeedup,
		s.CreateFallbackSeconds, mb(s.CreateFallbackSeconds), s.CreateFallbackSpeedup,
		s.RestoreSeconds, mb(s.RestoreSeconds), s.RestoreSpeedup)
	fmt.Fprintf(&b, "  peak RSS: server %s (create) / %s (restore), sidecar %s (create) / %s (restore)\n",
		FormatSize(s.ServerCreatePeakRSS), FormatSize(s.ServerRestorePeakRSS), FormatSize(s.SidecarCreatePeakRSS), FormatSize(s.SidecarRestorePeakRSS))
	fmt.Fprintf(&b, "  text tree %s: tar -czf %.2fs, create streaming %.2fs (%.2fx), archive %.3fx tar -czf's\n",
		FormatSize(rep.TextDataset.Bytes), s.TextTarCreateSeconds, s.TextCreateSeconds, s.TextCreateSpeedup, s.TextSizeVsTar)
	if rep.CompressionLevel != 0 {
		fmt.Fprintf(&b, "  the sidecars ran with -compression-level=%d\n", rep.CompressionLevel)
	}
	b.WriteString(FormatTargets(s.Targets))
	return b.String()
}

// FormatTargets renders targets one a line.
func FormatTargets(targets []Target) string {
	var b strings.Builder
	for _, t := range targets {
		mark := "MET   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(&b, "  %s %s: %s (want %s)\n", mark, t.Name, t.Got, t.Want)
	}
	return b.String()
}

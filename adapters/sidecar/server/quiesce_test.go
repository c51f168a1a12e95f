package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// events is what happened, in order, across the quiescer and the archive.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.list = append(e.list, s)
	e.mu.Unlock()
}

func (e *events) reset() {
	e.mu.Lock()
	e.list = nil
	e.mu.Unlock()
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func (e *events) count(s string) int {
	n := 0
	for _, x := range e.get() {
		if x == s {
			n++
		}
	}
	return n
}

// waitFor waits until the events include s.
func (e *events) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.count(s) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %q among the events %q", s, e.get())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeQuiescer records its calls. Pause fails with pauseErr; the first
// resumeFails calls of Resume fail.
type fakeQuiescer struct {
	ev     *events
	marker string // the resume marker, which must exist whenever Pause runs

	mu          sync.Mutex
	pauseErr    error
	resumeFails int
}

func (q *fakeQuiescer) Method() string { return "fake" }

func (q *fakeQuiescer) Pause(ctx context.Context) error {
	if _, err := os.Stat(q.marker); err != nil {
		q.ev.add("pause without a marker")
	}
	q.ev.add("pause")
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pauseErr
}

func (q *fakeQuiescer) setPauseErr(err error) {
	q.mu.Lock()
	q.pauseErr = err
	q.mu.Unlock()
}

func (q *fakeQuiescer) Resume(ctx context.Context) error {
	if ctx.Err() != nil {
		q.ev.add("resume with a dead context")
	}
	q.mu.Lock()
	fail := q.resumeFails > 0
	if fail {
		q.resumeFails--
	}
	q.mu.Unlock()
	if fail {
		q.ev.add("resume failed")
		return errors.New("game unreachable")
	}
	q.ev.add("resume")
	return nil
}

// quiesceServer starts a server with q over a root holding data/a.txt and
// data/b.txt; the archive records each file it reads in ev, then calls hook.
func quiesceServer(t *testing.T, q *fakeQuiescer, ev *events, hook func(name string, f *os.File)) (*testServer, string) {
	t.Helper()
	opts := server.Options{StateDir: t.TempDir()}
	if q != nil {
		q.marker = filepath.Join(opts.StateDir, server.ResumeMarker)
		opts.Quiescer = q
	}
	server.SetFileOpenedHook(&opts, func(name string, f *os.File) {
		ev.add("archive " + name)
		if hook != nil {
			hook(name, f)
		}
	})
	server.SetResumeRetry(&opts, 10*time.Millisecond)
	srv := startServer(t, opts)
	data := srv.mkdir(t, "data")
	for _, name := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(data, name), []byte("contents of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return srv, data
}

func markerExists(t *testing.T, srv *testServer) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(srv.Opts.StateDir, server.ResumeMarker))
	return err == nil
}

// waitMarkerGone waits until the background resume has removed marker.
func waitMarkerGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the resume marker outlived a successful resume")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantEvents(t *testing.T, ev *events, want ...string) {
	t.Helper()
	if got := ev.get(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// streamAll reads a whole StreamArchive and returns its report.
func streamAll(t *testing.T, s ports.ArchiveStream) ports.ArchiveReport {
	t.Helper()
	defer s.Close()
	if _, err := io.Copy(io.Discard, s); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return s.Report()
}

func TestQuiescePausesArchivesThenResumes(t *testing.T) {
	ev := &events{}
	slow := func(string, *os.File) { time.Sleep(20 * time.Millisecond) }
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, slow)
	c := srv.client(t)
	ctx := context.Background()

	t.Run("CompressFiles", func(t *testing.T) {
		ev.reset()
		rep, err := c.CompressFiles(ctx, []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents(t, ev, "pause", "archive a.txt", "archive b.txt", "resume")
		if q := rep.Quiesce; q.Method != "fake" || q.Warning != "" || q.Paused < 40*time.Millisecond {
			t.Fatalf("quiesce report %+v, want method fake, no warning, paused for at least the 40 ms of reading", q)
		}
		if markerExists(t, srv) {
			t.Fatal("the resume marker outlived a successful resume")
		}
	})

	t.Run("StreamArchive", func(t *testing.T) {
		ev.reset()
		s, err := c.StreamArchive(ctx, []string{data}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
		if err != nil {
			t.Fatal(err)
		}
		rep := streamAll(t, s)
		wantEvents(t, ev, "pause", "archive a.txt", "archive b.txt", "resume")
		if q := rep.Quiesce; q.Method != "fake" || q.Warning != "" || q.Paused < 40*time.Millisecond {
			t.Fatalf("quiesce report %+v, want method fake, no warning, paused for at least the 40 ms of reading", q)
		}
		if markerExists(t, srv) {
			t.Fatal("the resume marker outlived a successful resume")
		}
	})

	t.Run("not asked, the game is left alone", func(t *testing.T) {
		ev.reset()
		rep, err := c.CompressFiles(ctx, []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents(t, ev, "archive a.txt", "archive b.txt")
		if rep.Quiesce != (ports.QuiesceReport{}) {
			t.Fatalf("quiesce report %+v, want none", rep.Quiesce)
		}
	})
}

func TestQuiesceResumesAfterAFailedArchive(t *testing.T) {
	ev := &events{}
	// Closing the file under the archive makes its read fail.
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, func(_ string, f *os.File) { f.Close() })
	out := srv.mkdir(t, "out")
	_, err := srv.client(t).CompressFiles(context.Background(), []string{data}, filepath.Join(out, "backup.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
	if err == nil {
		t.Fatal("the archive succeeded though its file could not be read")
	}
	wantEvents(t, ev, "pause", "archive a.txt", "resume")
	if markerExists(t, srv) {
		t.Fatal("the resume marker outlived a successful resume")
	}
	eventuallyEmpty(t, out)
}

func TestQuiesceResumesAfterTheClientCancels(t *testing.T) {
	t.Run("StreamArchive closed mid-stream", func(t *testing.T) {
		ev := &events{}
		srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, nil)
		writeRandomFile(t, filepath.Join(data, "big.bin"), 64<<20, 0o644, 7)
		s, err := srv.client(t).StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if n := ev.count("resume"); n != 0 {
			t.Fatalf("resumed %d times while the archive was still being read", n)
		}
		s.Close()
		ev.waitFor(t, "resume")
		if n := ev.count("resume with a dead context"); n != 0 {
			t.Fatalf("Resume got the cancelled call's context: %q", ev.get())
		}
		if n := ev.count("pause"); n != 1 {
			t.Fatalf("paused %d times: %q", n, ev.get())
		}
	})

	t.Run("CompressFiles cancelled mid-archive", func(t *testing.T) {
		ev := &events{}
		opened := make(chan struct{}, 2)
		srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, func(string, *os.File) {
			opened <- struct{}{}
			time.Sleep(200 * time.Millisecond) // for the cancellation to reach the server
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := srv.client(t).CompressFiles(ctx, []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
			done <- err
		}()
		<-opened
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("CompressFiles: %v, want Canceled", err)
		}
		ev.waitFor(t, "resume")
		if n := ev.count("resume with a dead context"); n != 0 {
			t.Fatalf("Resume got the cancelled call's context: %q", ev.get())
		}
	})
}

func TestQuiesceConcurrentArchivesShareOnePause(t *testing.T) {
	ev := &events{}
	entered, release := make(chan struct{}), make(chan struct{})
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, func(name string, _ *os.File) {
		if name == "first.bin" {
			close(entered)
			<-release
		}
	})
	first := srv.mkdir(t, "first")
	if err := os.WriteFile(filepath.Join(first, "first.bin"), []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := srv.client(t)
	ctx := context.Background()
	type result struct {
		rep ports.ArchiveReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := c.CompressFiles(ctx, []string{first}, srv.path("first.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
		done <- result{rep, err}
	}()
	<-entered
	s, err := c.StreamArchive(ctx, []string{data}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	if err != nil {
		t.Fatal(err)
	}
	second := streamAll(t, s)
	wantEvents(t, ev, "pause", "archive first.bin", "archive a.txt", "archive b.txt")
	if !markerExists(t, srv) {
		t.Fatal("no resume marker while the first archive still holds the pause")
	}
	time.Sleep(30 * time.Millisecond)
	close(release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantEvents(t, ev, "pause", "archive first.bin", "archive a.txt", "archive b.txt", "resume")
	if second.Quiesce.Method != "fake" || r.rep.Quiesce.Method != "fake" {
		t.Fatalf("reports %+v and %+v, want method fake on both", r.rep.Quiesce, second.Quiesce)
	}
	if r.rep.Quiesce.Paused <= second.Quiesce.Paused {
		t.Fatalf("the first archive, which held the pause longer, reports %s paused, the second %s", r.rep.Quiesce.Paused, second.Quiesce.Paused)
	}
	// The pause ended: the next archive pauses anew.
	if _, err := c.CompressFiles(ctx, []string{data}, srv.path("third.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue}); err != nil {
		t.Fatal(err)
	}
	if p, r := ev.count("pause"), ev.count("resume"); p != 2 || r != 2 {
		t.Fatalf("%d pauses and %d resumes after three archives, two of them overlapping: %q", p, r, ev.get())
	}
}

func TestQuiescePauseFailure(t *testing.T) {
	pauseErr := errors.New("connection refused")

	t.Run("continue undoes a half-done pause at once, archives anyway with a warning, and pauses afresh next time", func(t *testing.T) {
		ev := &events{}
		q := &fakeQuiescer{ev: ev, pauseErr: pauseErr}
		srv, data := quiesceServer(t, q, ev, nil)
		out := srv.path("out.tar.gz")
		c := srv.client(t)
		rep, err := c.CompressFiles(context.Background(), []string{data}, out, ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
		if err != nil {
			t.Fatal(err)
		}
		want := ports.QuiesceReport{Method: "fake", Warning: "the game was not paused: connection refused"}
		if rep.Quiesce != want {
			t.Fatalf("quiesce report %+v, want %+v", rep.Quiesce, want)
		}
		wantEvents(t, ev, "pause", "resume", "archive a.txt", "archive b.txt")
		if _, err := os.Stat(out); err != nil {
			t.Fatalf("no archive: %v", err)
		}
		if markerExists(t, srv) {
			t.Fatal("the resume marker outlived a successful resume")
		}

		ev.reset()
		q.setPauseErr(nil)
		rep, err = c.CompressFiles(context.Background(), []string{data}, out, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
		if err != nil || rep.Quiesce.Warning != "" {
			t.Fatalf("the next archive, with the game answering again: %v, report %+v", err, rep.Quiesce)
		}
		wantEvents(t, ev, "pause", "archive a.txt", "archive b.txt", "resume")
	})

	t.Run("required fails the call, archives nothing and resumes", func(t *testing.T) {
		ev := &events{}
		srv, data := quiesceServer(t, &fakeQuiescer{ev: ev, pauseErr: pauseErr}, ev, nil)
		out := srv.mkdir(t, "out")
		c := srv.client(t)
		_, err := c.CompressFiles(context.Background(), []string{data}, filepath.Join(out, "backup.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
		wantCode(t, err, codes.FailedPrecondition, "could not be paused", "connection refused")
		wantRefusal(t, err, ports.ErrQuiesceFailed, "connection refused")
		wantEvents(t, ev, "pause", "resume")
		eventuallyEmpty(t, out)

		ev.reset()
		_, err = c.StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
		wantCode(t, err, codes.FailedPrecondition, "could not be paused", "connection refused")
		wantRefusal(t, err, ports.ErrQuiesceFailed, "connection refused")
		wantEvents(t, ev, "pause", "resume")
		if markerExists(t, srv) {
			t.Fatal("the resume marker outlived a successful resume")
		}
	})
}

func TestQuiesceWithoutAMethod(t *testing.T) {
	ev := &events{}
	srv, data := quiesceServer(t, nil, ev, nil)
	c := srv.client(t)
	_, err := c.CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	wantCode(t, err, codes.FailedPrecondition, "no quiesce method configured")
	wantRefusal(t, err, ports.ErrQuiesceFailed)
	_, err = c.StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	wantCode(t, err, codes.FailedPrecondition, "no quiesce method configured")

	rep, err := c.CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Quiesce != (ports.QuiesceReport{}) {
		t.Fatalf("quiesce report %+v from a sidecar without a method, want none", rep.Quiesce)
	}
}

func TestQuiesceResumeFailure(t *testing.T) {
	ev := &events{}
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev, resumeFails: 2}, ev, nil)
	rep, err := srv.client(t).CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Quiesce.Warning; !strings.Contains(w, "could not be told to resume saving: game unreachable") {
		t.Fatalf("warning %q does not say the game could not be resumed", w)
	}
	// Retried in the background until it works.
	ev.waitFor(t, "resume")
	wantEvents(t, ev, "pause", "archive a.txt", "archive b.txt", "resume failed", "resume failed", "resume")
	waitMarkerGone(t, filepath.Join(srv.Opts.StateDir, server.ResumeMarker))
}

// TestQuiesceNeverGivesUpResuming: a game that refuses the resume for long
// (a rotated password it has not reloaded, a port blocked for a while) is asked
// again until it answers, long after the log has called for a hand.
func TestQuiesceNeverGivesUpResuming(t *testing.T) {
	ev := &events{}
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev, resumeFails: 40}, ev, nil)
	if _, err := srv.client(t).CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue}); err != nil {
		t.Fatal(err)
	}
	ev.waitFor(t, "resume")
	if n := ev.count("resume failed"); n != 40 {
		t.Fatalf("%d failed resumes before the one that worked, want 40", n)
	}
	waitMarkerGone(t, filepath.Join(srv.Opts.StateDir, server.ResumeMarker))
}

func TestQuiesceResumesWhatAnEarlierRunLeftPaused(t *testing.T) {
	for _, fails := range []int{0, 2} {
		ev := &events{}
		state := t.TempDir()
		marker := filepath.Join(state, server.ResumeMarker)
		if err := os.WriteFile(marker, []byte(`{"method":"fake","since":"2026-01-02T03:04:05Z"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		q := &fakeQuiescer{ev: ev, marker: marker, resumeFails: fails}
		opts := server.Options{StateDir: state, Quiescer: q}
		server.SetResumeRetry(&opts, 10*time.Millisecond)
		startServer(t, opts)
		ev.waitFor(t, "resume")
		if n := ev.count("resume failed"); n != fails {
			t.Fatalf("%d failed resumes before the one that worked, want %d", n, fails)
		}
		waitMarkerGone(t, marker)
	}

	t.Run("without a method the marker stays", func(t *testing.T) {
		state := t.TempDir()
		marker := filepath.Join(state, server.ResumeMarker)
		if err := os.WriteFile(marker, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		startServer(t, server.Options{StateDir: state})
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("the marker of a resume nobody could make is gone: %v", err)
		}
	})
}

func TestQuiesceDoesNotPauseWhatItCouldNotRecord(t *testing.T) {
	ev := &events{}
	srv, data := quiesceServer(t, &fakeQuiescer{ev: ev}, ev, nil)
	// A directory where the marker is written makes recording it fail.
	blocker := filepath.Join(srv.Opts.StateDir, server.ResumeMarker+".tmp")
	block := func() {
		if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	block()
	c := srv.client(t)
	_, err := c.CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	wantCode(t, err, codes.FailedPrecondition, "could not be paused", "state directory")
	wantEvents(t, ev)

	block()
	rep, err := c.CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceContinue})
	if err != nil {
		t.Fatal(err)
	}
	if w := rep.Quiesce.Warning; !strings.HasPrefix(w, "the game was not paused: ") || !strings.Contains(w, "state directory") {
		t.Fatalf("warning %q, want one saying the pause could not be recorded", w)
	}
	wantEvents(t, ev, "archive a.txt", "archive b.txt")
}

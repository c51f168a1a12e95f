package backup_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// failRecorder is a Job.Fail that remembers its calls.
type failRecorder struct {
	mu     sync.Mutex
	causes []error
	ctxErr []error
	called chan struct{} // receives once per call
}

func newFailRecorder() *failRecorder { return &failRecorder{called: make(chan struct{}, 16)} }

func (r *failRecorder) Fail(ctx context.Context, cause error) {
	r.mu.Lock()
	r.causes = append(r.causes, cause)
	r.ctxErr = append(r.ctxErr, ctx.Err())
	r.mu.Unlock()
	r.called <- struct{}{}
}

func (r *failRecorder) calls() ([]error, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.causes...), append([]error(nil), r.ctxErr...)
}

// newRunner returns a Runner that is shut down when the test ends.
func newRunner(t *testing.T, opts backup.RunnerOptions) *backup.Runner {
	t.Helper()
	r := backup.NewRunner(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("jobs still running when the test ended: %v", err)
		}
	})
	return r
}

func shutdown(t *testing.T, r *backup.Runner, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	return r.Shutdown(ctx)
}

func TestRunnerRunsJobs(t *testing.T) {
	t.Run("does not call Fail when a job succeeds", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{})
		fails := newFailRecorder()
		ran := make(chan struct{})
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Status: ports.StatusCreating,
			Run: func(context.Context) error { close(ran); return nil }, Fail: fails.Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ran, "the job to run")
		if err := shutdown(t, r, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if causes, _ := fails.calls(); len(causes) != 0 {
			t.Fatalf("Fail called for a job that succeeded: %v", causes)
		}
	})
	t.Run("hands a job's error to Fail on a live context", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{})
		fails := newFailRecorder()
		boom := errors.New("boom")
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { return boom }, Fail: fails.Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fails.called, "Fail")
		causes, ctxErrs := fails.calls()
		if len(causes) != 1 || !errors.Is(causes[0], boom) || ctxErrs[0] != nil {
			t.Fatalf("Fail got causes %v on contexts with errors %v", causes, ctxErrs)
		}
	})
	t.Run("recovers a panic into Fail and keeps its slot free", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{MaxConcurrent: 1})
		fails := newFailRecorder()
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { panic("kaboom") }, Fail: fails.Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fails.called, "Fail after the panic")
		causes, _ := fails.calls()
		if len(causes) != 1 || !strings.Contains(causes[0].Error(), "kaboom") {
			t.Fatalf("Fail got %v, want the panic value in the cause", causes)
		}
		// With one slot, a second job only runs if the panicking one released it.
		ran := make(chan struct{})
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { close(ran); return nil }, Fail: fails.Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ran, "a job after the panic")
	})
	t.Run("reports the backups it is working on", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{})
		id := ports.NewBackupID()
		release := make(chan struct{})
		started := make(chan struct{})
		if r.Running(id) {
			t.Fatal("Running before Go")
		}
		if err := r.Go(backup.Job{ID: id, Run: func(context.Context) error { close(started); <-release; return nil }, Fail: newFailRecorder().Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, started, "the job to start")
		if !r.Running(id) || r.Running(ports.NewBackupID()) {
			t.Fatal("Running does not report exactly the running job")
		}
		close(release)
		if err := shutdown(t, r, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if r.Running(id) {
			t.Fatal("Running after the job ended")
		}
	})
	t.Run("refuses a job without Run or Fail", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{})
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Fail: newFailRecorder().Fail}); err == nil {
			t.Fatal("Go accepted a job without Run")
		}
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { return nil }}); err == nil {
			t.Fatal("Go accepted a job without Fail")
		}
	})
	t.Run("treats negative options as the defaults", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{MaxConcurrent: -1, HeartbeatInterval: -time.Second, OperationTimeout: -time.Second, CleanupTimeout: -time.Second})
		ran := make(chan struct{})
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(ctx context.Context) error {
			defer close(ran)
			return ctx.Err() // a negative timeout taken literally would have expired already
		}, Fail: func(_ context.Context, cause error) { t.Errorf("Fail(%v)", cause) }}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ran, "the job")
	})
	t.Run("ends a job that outlives OperationTimeout", runnerEndsAJobThatOutlivesOperationTimeout)
}

func TestRunnerBoundsConcurrency(t *testing.T) {
	r := newRunner(t, backup.RunnerOptions{MaxConcurrent: 1})
	releaseFirst := make(chan struct{})
	firstStarted, secondStarted := make(chan struct{}), make(chan struct{})
	fail := func(_ context.Context, cause error) { t.Errorf("Fail(%v)", cause) }
	second := ports.NewBackupID()

	if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { close(firstStarted); <-releaseFirst; return nil }, Fail: fail}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, firstStarted, "the first job")
	if err := r.Go(backup.Job{ID: second, Run: func(context.Context) error { close(secondStarted); return nil }, Fail: fail}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-secondStarted:
		t.Fatal("the second job started while the only slot was taken")
	case <-time.After(50 * time.Millisecond):
	}
	if !r.Running(second) {
		t.Fatal("a queued job is not reported as running, so recovery could settle it")
	}
	close(releaseFirst)
	waitFor(t, secondStarted, "the second job after the first ended")
}

func TestRunnerHeartbeats(t *testing.T) {
	const interval = 10 * time.Millisecond
	type beat struct {
		id     ports.BackupID
		status ports.Status
		at     time.Time
	}

	t.Run("every interval while a job runs, and not after", func(t *testing.T) {
		beats := make(chan beat, 100)
		var stopped atomic.Bool
		r := newRunner(t, backup.RunnerOptions{HeartbeatInterval: interval, Heartbeat: func(_ context.Context, id ports.BackupID, s ports.Status, _ *ports.Progress) error {
			if stopped.Load() {
				t.Error("heartbeat after the job ended")
			}
			beats <- beat{id, s, time.Now()}
			return nil
		}})
		id := ports.NewBackupID()
		release := make(chan struct{})
		ended := make(chan struct{})
		start := time.Now()
		if err := r.Go(backup.Job{ID: id, Status: ports.StatusRestoring, Run: func(context.Context) error {
			<-release
			return nil
		}, Fail: newFailRecorder().Fail}); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 3; n++ {
			b := waitFor(t, beats, "a heartbeat")
			if b.id != id || b.status != ports.StatusRestoring {
				t.Fatalf("heartbeat for %s %s, want %s restoring", b.id, b.status, id)
			}
			// A ticker can fall behind but never run ahead: the n-th beat cannot
			// come before n intervals have passed.
			if elapsed := b.at.Sub(start); elapsed < time.Duration(n)*interval {
				t.Fatalf("heartbeat %d after %v, before %v", n, elapsed, time.Duration(n)*interval)
			}
		}
		go func() { defer close(ended); _ = shutdown(t, r, 10*time.Second) }()
		close(release)
		<-ended
		stopped.Store(true)
		time.Sleep(3 * interval) // a leaked heartbeat loop would report here
	})
	t.Run("saves progress at most once a second while it moves, and otherwise beats every interval", func(t *testing.T) {
		var saved []ports.Progress
		var mu sync.Mutex
		const slow = time.Hour // no heartbeat is due on time alone during the test
		r := newRunner(t, backup.RunnerOptions{HeartbeatInterval: slow, Heartbeat: func(_ context.Context, _ ports.BackupID, _ ports.Status, p *ports.Progress) error {
			mu.Lock()
			defer mu.Unlock()
			if p == nil {
				t.Error("a heartbeat of a job that reports progress carried none")
			} else {
				saved = append(saved, *p)
			}
			return nil
		}})
		started := time.Now()
		p := backup.NewTracker(ports.Backup{Progress: &ports.Progress{TotalBytes: 1 << 30, StartedAt: started}})
		stop := make(chan struct{})
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Status: ports.StatusRestoring, Progress: p, Run: func(context.Context) error {
			for n := int64(1); ; n++ {
				select {
				case <-stop:
					return nil
				case <-time.After(time.Millisecond):
					p.Set(n<<10, 0)
				}
			}
		}, Fail: newFailRecorder().Fail}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond)
		mu.Lock()
		got := slices.Clone(saved)
		mu.Unlock()
		close(stop)
		// Ticks can fall behind but never run ahead: in 2.5 s at most 2 of them.
		if len(got) < 1 || len(got) > 2 {
			t.Fatalf("progress saved %d times in 2.5 s, want once a second: %+v", len(got), got)
		}
		for i, sp := range got {
			if sp.TotalBytes != 1<<30 || !sp.StartedAt.Equal(started) || sp.DoneBytes <= 0 || (i > 0 && sp.DoneBytes <= got[i-1].DoneBytes) {
				t.Fatalf("saved progress %+v: want rising bytes of 1 GiB, started %v", got, started)
			}
		}
	})
	t.Run("keeps a queued job alive while it waits for a slot", func(t *testing.T) {
		queued := ports.NewBackupID()
		beats := make(chan ports.BackupID, 100)
		r := newRunner(t, backup.RunnerOptions{MaxConcurrent: 1, HeartbeatInterval: interval, Heartbeat: func(_ context.Context, id ports.BackupID, _ ports.Status, _ *ports.Progress) error {
			select {
			case beats <- id:
			default:
			}
			return nil
		}})
		release, started := make(chan struct{}), make(chan struct{})
		fail := func(_ context.Context, cause error) { t.Errorf("Fail(%v)", cause) }
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { close(started); <-release; return nil }, Fail: fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, started, "the first job to take the only slot")
		if err := r.Go(backup.Job{ID: queued, Run: func(context.Context) error { return nil }, Fail: fail}); err != nil {
			t.Fatal(err)
		}
		for id := waitFor(t, beats, "a heartbeat"); id != queued; id = waitFor(t, beats, "a heartbeat of the queued job") {
		}
		close(release)
	})
	for _, settled := range []error{ports.ErrStatusConflict, ports.ErrNotFound} {
		t.Run("cancels the job without Fail when the heartbeat says "+settled.Error(), func(t *testing.T) {
			r := newRunner(t, backup.RunnerOptions{HeartbeatInterval: interval, Heartbeat: func(context.Context, ports.BackupID, ports.Status, *ports.Progress) error {
				return settled
			}})
			fails := newFailRecorder()
			cancelled := make(chan struct{})
			if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(ctx context.Context) error {
				<-ctx.Done()
				close(cancelled)
				return ctx.Err()
			}, Fail: fails.Fail}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, cancelled, "the job to be cancelled")
			if err := shutdown(t, r, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if causes, _ := fails.calls(); len(causes) != 0 {
				t.Fatalf("Fail called for an operation settled elsewhere: %v", causes)
			}
		})
	}
	t.Run("lets the job continue when a heartbeat fails for another reason", func(t *testing.T) {
		runnerKeepsAJobWhoseHeartbeatFails(t, interval)
	})
}

func TestRunnerShutdown(t *testing.T) {
	t.Run("waits for running jobs to finish", runnerWaitsForRunningJobs)
	t.Run("succeeds with nothing running even if its context has already ended", func(t *testing.T) {
		for range 50 { // the outcome must not depend on a select's random choice
			r := backup.NewRunner(backup.RunnerOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := r.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown of an idle runner = %v", err)
			}
		}
	})
	t.Run("refuses new jobs once it began", func(t *testing.T) {
		r := newRunner(t, backup.RunnerOptions{})
		if err := shutdown(t, r, time.Second); err != nil {
			t.Fatal(err)
		}
		err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error { return nil }, Fail: newFailRecorder().Fail})
		assertIs(t, err, backup.ErrShuttingDown)
	})
	for _, tc := range []struct {
		name     string
		honours  bool // whether the job returns when its context ends
		wantFail int
	}{
		{"interrupts a job that ignores cancellation and records it on a fresh context", false, 2},
		{"interrupts a job that honours cancellation and records it on a fresh context", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunner(t, backup.RunnerOptions{CleanupTimeout: 5 * time.Second})
			fails := newFailRecorder()
			started, release := make(chan struct{}), make(chan struct{})
			var releaseOnce sync.Once
			var jobCtxErr atomic.Value
			if err := r.Go(backup.Job{ID: ports.NewBackupID(), Status: ports.StatusCreating, Run: func(ctx context.Context) error {
				close(started)
				if tc.honours {
					<-ctx.Done()
				} else {
					<-release
				}
				jobCtxErr.Store(ctx.Err() != nil)
				return errors.New("stopped")
			}, Fail: func(ctx context.Context, cause error) {
				fails.Fail(ctx, cause)
				releaseOnce.Do(func() { close(release) }) // lets the stuck job end after Shutdown recorded it
			}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, started, "the job")
			err := shutdown(t, r, 30*time.Millisecond)
			assertIs(t, err, context.DeadlineExceeded)

			causes, ctxErrs := fails.calls()
			if len(causes) != tc.wantFail {
				t.Fatalf("Fail called %d times, want %d (by Shutdown and by the job)", len(causes), tc.wantFail)
			}
			for i := range causes {
				if ctxErrs[i] != nil {
					t.Fatalf("Fail %d got a finished context: %v", i, ctxErrs[i])
				}
				if !strings.Contains(causes[i].Error(), "interrupted") {
					t.Fatalf("Fail %d cause %q does not say the job was interrupted", i, causes[i])
				}
			}
			if v := jobCtxErr.Load(); v == nil || !v.(bool) {
				t.Fatal("the interrupted job's context was not cancelled")
			}
		})
	}
	t.Run("gives up on a job that ignores cancellation once CleanupTimeout has passed", func(t *testing.T) {
		r := backup.NewRunner(backup.RunnerOptions{CleanupTimeout: 20 * time.Millisecond})
		started, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		fails := newFailRecorder()
		if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(context.Context) error {
			close(started)
			<-release // never returns while Shutdown runs
			return nil
		}, Fail: fails.Fail}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, started, "the job")
		done := make(chan error, 1)
		go func() { done <- shutdown(t, r, 20*time.Millisecond) }()
		assertIs(t, waitFor(t, done, "Shutdown to give up"), context.DeadlineExceeded)
		if causes, _ := fails.calls(); len(causes) != 1 {
			t.Fatalf("Fail called %d times, want once, by Shutdown", len(causes))
		}
	})
}

func runnerEndsAJobThatOutlivesOperationTimeout(t *testing.T) {
	r := newRunner(t, backup.RunnerOptions{OperationTimeout: 20 * time.Millisecond})
	fails := newFailRecorder()
	if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, Fail: fails.Fail}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fails.called, "Fail after the timeout")
	if causes, _ := fails.calls(); !errors.Is(causes[0], context.DeadlineExceeded) {
		t.Fatalf("Fail got %v, want a deadline", causes[0])
	}
}

func runnerKeepsAJobWhoseHeartbeatFails(t *testing.T, interval time.Duration) {
	beats := make(chan struct{}, 100)
	r := newRunner(t, backup.RunnerOptions{HeartbeatInterval: interval, Heartbeat: func(context.Context, ports.BackupID, ports.Status, *ports.Progress) error {
		select {
		case beats <- struct{}{}:
		default:
		}
		return errInfra
	}})
	finished := make(chan error, 1)
	if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(ctx context.Context) error {
		for range 3 {
			select {
			case <-beats:
			case <-ctx.Done():
				finished <- ctx.Err()
				return ctx.Err()
			}
		}
		finished <- nil
		return nil
	}, Fail: func(_ context.Context, cause error) { t.Errorf("Fail(%v)", cause) }}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, finished, "the job"); err != nil {
		t.Fatalf("the job was cancelled by failing heartbeats: %v", err)
	}
}

func runnerWaitsForRunningJobs(t *testing.T) {
	r := newRunner(t, backup.RunnerOptions{})
	release, started := make(chan struct{}), make(chan struct{})
	var ctxErr atomic.Value
	if err := r.Go(backup.Job{ID: ports.NewBackupID(), Run: func(ctx context.Context) error {
		close(started)
		<-release
		if err := ctx.Err(); err != nil {
			ctxErr.Store(err)
		}
		return nil
	}, Fail: func(_ context.Context, cause error) { t.Errorf("Fail(%v)", cause) }}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, started, "the job")
	done := make(chan error, 1)
	go func() { done <- shutdown(t, r, 10*time.Second) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a job was running", err)
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	if err := waitFor(t, done, "Shutdown"); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := ctxErr.Load(); err != nil {
		t.Fatalf("a job that finished within the grace period saw its context end: %v", err)
	}
}

// TestRunnerTracksEachJobOfOneBackup: a restore can start on a backup whose
// create is still winding down (its outcome recorded, its goroutine not yet
// gone). The create's end must not make the runner forget the restore, or
// recovery would take the running restore for a dead replica's and Shutdown
// would leave it unrecorded.
func TestRunnerTracksEachJobOfOneBackup(t *testing.T) {
	r := backup.NewRunner(backup.RunnerOptions{CleanupTimeout: 5 * time.Second})
	id := ports.NewBackupID()
	releaseFirst, secondStarted, releaseSecond := make(chan struct{}), make(chan struct{}), make(chan struct{})
	if err := r.Go(backup.Job{ID: id, Status: ports.StatusCreating,
		Run:  func(context.Context) error { <-releaseFirst; return nil },
		Fail: func(context.Context, error) {}}); err != nil {
		t.Fatal(err)
	}
	fails := newFailRecorder()
	if err := r.Go(backup.Job{ID: id, Status: ports.StatusRestoring,
		Run: func(ctx context.Context) error {
			close(secondStarted)
			select {
			case <-releaseSecond:
			case <-ctx.Done():
			}
			return ctx.Err()
		},
		Fail: fails.Fail}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, secondStarted, "the second job to start")
	close(releaseFirst)
	// The first job's goroutine ends at its own pace; give it the chance. (On a
	// loaded machine it may not have: then this run proves less, never fails.)
	time.Sleep(50 * time.Millisecond)
	if !r.Running(id) {
		t.Fatal("after the first job of the backup ended, the runner says nothing runs for it")
	}
	if err := shutdown(t, r, 50*time.Millisecond); err == nil {
		t.Fatal("Shutdown returned nil with a job still running")
	}
	causes, _ := fails.calls()
	if len(causes) == 0 {
		t.Fatal("the interrupted second job was not recorded as failed")
	}
	close(releaseSecond)
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// errInterrupted marks work cut short by runner.Shutdown.
var errInterrupted = errors.New("interrupted by shutdown")

// errTimedOut marks work that ran past runnerOptions.OperationTimeout.
var errTimedOut = errors.New("operation timed out")

// errPanic marks work that panicked.
var errPanic = errors.New("panic")

// job is one background operation: a create or a restore of one backup.
type job struct {
	// ID is the backup the job works on (for heartbeats and logs).
	ID ports.BackupID
	// Status is the active status the backup holds while the job runs; each
	// heartbeat asserts the backup is still in it.
	Status ports.Status
	// Progress is how far the job has got, saved with its heartbeats; nil when
	// it does not say.
	Progress *tracker
	// Run does the work. Its context is the runner's, never a request's; it is
	// cancelled on shutdown, on timeout, or when a heartbeat finds that the
	// operation was settled elsewhere.
	Run func(ctx context.Context) error
	// Fail records the failure. It gets a fresh context; the cause is Run's error,
	// a recovered panic turned into an error, or an error saying Shutdown
	// interrupted the job. It may be called twice for one job (by the job and by
	// Shutdown), so it must be idempotent; a compare-and-set on the status makes it so.
	Fail func(ctx context.Context, cause error)
	// Actor is who the job works for; Run's, Fail's and the heartbeats'
	// contexts carry it, so the events the job's changes record name them.
	Actor ports.Actor
}

// runnerOptions configure a runner. Zero (or negative) values mean the defaults
// of the corresponding Options fields.
type runnerOptions struct {
	// MaxConcurrent bounds the jobs running at once (Options.MaxConcurrentOperations).
	MaxConcurrent int
	// HeartbeatInterval is how often Heartbeat is called for each job.
	HeartbeatInterval time.Duration
	// OperationTimeout cancels a job that runs longer (Options.OperationTimeout).
	OperationTimeout time.Duration
	// CleanupTimeout bounds each call of a job's Fail, and how long Shutdown,
	// once its own context has ended, waits for cancelled jobs to clean up
	// (Options.CleanupTimeout).
	CleanupTimeout time.Duration
	// Heartbeat is called every HeartbeatInterval while a job is queued or
	// running, and as often as every progressInterval while its progress moves.
	// An error wrapping ErrStatusConflict or ports.ErrNotFound means the operation
	// was settled elsewhere: the job is cancelled and Fail is not called.
	Heartbeat func(ctx context.Context, id ports.BackupID, status ports.Status, progress *ports.Progress) error
	// Logger receives warnings about heartbeats, panics and interrupted jobs.
	Logger *slog.Logger
}

// runner runs background jobs on its own context with bounded concurrency,
// heartbeats while they run, recovers panics into failures, and on Shutdown waits
// for them and records what it had to interrupt.
type runner struct {
	opts   runnerOptions
	sem    chan struct{}
	base   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	// running holds each job until its outcome is recorded. Keyed by the job, not
	// the backup: a restore can start on a backup whose create is still winding
	// down, and the create must not take the restore's entry with it.
	running map[*job]struct{}
	wg      sync.WaitGroup
}

// newRunner returns a runner ready to accept jobs.
func newRunner(opts runnerOptions) *runner {
	// Non-positive values would panic (a negative channel size, a non-positive
	// ticker interval inside a job's goroutine), so they mean the default too.
	opts.MaxConcurrent = max(opts.MaxConcurrent, 0)
	opts.HeartbeatInterval = max(opts.HeartbeatInterval, 0)
	opts.OperationTimeout = max(opts.OperationTimeout, 0)
	opts.CleanupTimeout = max(opts.CleanupTimeout, 0)
	d := Options{
		MaxConcurrentOperations: opts.MaxConcurrent, HeartbeatInterval: opts.HeartbeatInterval,
		OperationTimeout: opts.OperationTimeout, CleanupTimeout: opts.CleanupTimeout, Logger: opts.Logger,
	}.withDefaults()
	opts.MaxConcurrent, opts.HeartbeatInterval = d.MaxConcurrentOperations, d.HeartbeatInterval
	opts.OperationTimeout, opts.CleanupTimeout, opts.Logger = d.OperationTimeout, d.CleanupTimeout, d.Logger
	if opts.Heartbeat == nil {
		opts.Heartbeat = func(context.Context, ports.BackupID, ports.Status, *ports.Progress) error { return nil }
	}
	base, cancel := context.WithCancel(context.Background())
	return &runner{
		opts: opts, sem: make(chan struct{}, opts.MaxConcurrent),
		base: base, cancel: cancel, running: make(map[*job]struct{}),
	}
}

// Go starts the job in the background and returns at once. Returns ErrShuttingDown
// after Shutdown began, or an error if the job lacks Run or Fail.
func (r *runner) Go(j job) error {
	if j.Run == nil || j.Fail == nil {
		return errors.New("backup: a job needs both Run and Fail")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrShuttingDown
	}
	jp := &j
	r.running[jp] = struct{}{}
	r.wg.Add(1)
	go r.run(jp)
	return nil
}

// closing reports whether Shutdown has begun.
func (r *runner) closing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Running reports whether this runner is working on the backup.
func (r *runner) Running(id ports.BackupID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for j := range r.running {
		if j.ID == id {
			return true
		}
	}
	return false
}

func (r *runner) run(jp *job) {
	j := *jp
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.running, jp)
		r.mu.Unlock()
	}()
	log := r.opts.Logger.With("backup_id", j.ID, "status", j.Status)
	ctx, cancel := context.WithTimeout(ports.WithActor(r.base, j.Actor), r.opts.OperationTimeout)
	defer cancel()

	settledElsewhere := make(chan struct{})
	stopHeartbeat := r.heartbeat(ctx, j, log, func() { close(settledElsewhere); cancel() })

	var err error
	select {
	case r.sem <- struct{}{}:
		err = r.protect(ctx, j, log)
		<-r.sem
	case <-ctx.Done():
		err = ctx.Err()
	}
	stopHeartbeat()

	if err == nil {
		// The job's own compare-and-set succeeded, so a heartbeat conflict seen
		// meanwhile only means the backup had already left its active status.
		return
	}
	select {
	case <-settledElsewhere:
		log.Warn("operation was settled elsewhere while running; its result is discarded", "err", err)
		return
	default:
	}
	switch {
	case r.base.Err() != nil:
		err = fmt.Errorf("%w: %w", errInterrupted, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("%w: %w", errTimedOut, err)
	}
	fctx, fcancel := context.WithTimeout(ports.WithActor(context.Background(), j.Actor), r.opts.CleanupTimeout)
	defer fcancel()
	j.Fail(fctx, err)
}

// protect runs the job, turning a panic into an error so the backup is settled
// instead of staying active until it goes stale.
func (r *runner) protect(ctx context.Context, j job, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("background operation panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return j.Run(ctx)
}

// heartbeat proves the job alive until stop is called, and saves its progress
// whenever it moved, at most once a progressInterval; onSettled runs once if the
// repository says the operation is no longer this job's.
func (r *runner) heartbeat(ctx context.Context, j job, log *slog.Logger, onSettled func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := min(r.opts.HeartbeatInterval, progressInterval)
		t := time.NewTicker(tick)
		defer t.Stop()
		// A heartbeat is due every `every` ticks, progress or not.
		every := max(1, int(r.opts.HeartbeatInterval/tick))
		var saved *ports.Progress
		ticks := 0
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var progress *ports.Progress
			if j.Progress != nil {
				progress = j.Progress.snapshot()
			}
			ticks++
			moved := progress != nil && (saved == nil || *progress != *saved)
			if !moved && ticks < every {
				continue
			}
			err := r.opts.Heartbeat(ctx, j.ID, j.Status, progress)
			if err == nil {
				saved, ticks = progress, 0
			}
			switch {
			case err == nil:
			case errors.Is(err, ErrStatusConflict) || errors.Is(err, ports.ErrNotFound):
				onSettled()
				return
			case ctx.Err() == nil:
				log.Warn("heartbeat failed; the operation continues", "err", err)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Shutdown stops accepting jobs and waits for running ones until ctx ends. Jobs
// still running then are cancelled and recorded as interrupted (with a fresh
// context, through each job's Fail), and Shutdown returns ctx's error after
// giving them up to CleanupTimeout more to remove their temp files and partial
// uploads.
func (r *runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()

	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
	}

	r.mu.Lock()
	left := make([]*job, 0, len(r.running))
	for j := range r.running {
		left = append(left, j)
	}
	r.mu.Unlock()
	r.cancel()
	if len(left) == 0 {
		// Nothing was interrupted (select picks at random when ctx has ended and
		// the last job has just finished): a job leaves running only after its
		// Fail returned, so this is a clean shutdown, not an error.
		<-done
		return nil
	}

	// Record the interruption ourselves rather than trusting every job to notice
	// the cancellation promptly: a job stuck in a call that ignores its context
	// must not leave its backup active until it goes stale.
	fctx, fcancel := context.WithTimeout(context.Background(), r.opts.CleanupTimeout)
	defer fcancel()
	var wg sync.WaitGroup
	for _, j := range left {
		r.opts.Logger.Warn("interrupting background operation at shutdown", "backup_id", j.ID, "status", j.Status)
		wg.Go(func() { j.Fail(ports.WithActor(fctx, j.Actor), fmt.Errorf("%w: %w", errInterrupted, ctx.Err())) })
	}
	wg.Wait()

	// Give the cancelled jobs a moment to run their own cleanup (temp files,
	// partial uploads) before the process exits.
	select {
	case <-done:
	case <-fctx.Done():
	}
	return ctx.Err()
}

package spriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/savepoint-dev/savepoint/backup"
)

// Scheduler is the part of the backup service that a Runner drives;
// *backup.Service implements it. Tests give a Runner a fake.
type Scheduler interface {
	// DueScheduledRuns returns one run for each schedule whose next run time has
	// come, for its latest slot not after now, and changes nothing.
	DueScheduledRuns(ctx context.Context) ([]backup.ScheduledRun, error)
	// AdvanceSchedule moves run's schedule on to its next run time after now,
	// unless another replica already has.
	AdvanceSchedule(ctx context.Context, run backup.ScheduledRun) error
	// RunScheduledBackup runs the slot at most once across replicas however
	// often it is called, and records the outcome; it returns an error only when
	// the outcome could not be recorded.
	RunScheduledBackup(ctx context.Context, run backup.ScheduledRun) error
}

var _ Scheduler = (*backup.Service)(nil)

// stopCancelGrace is how long Stop waits for jobs to return once it has
// cancelled them, so that River records their attempts as failed (and retries
// them) rather than leaving them running until a rescue.
const stopCancelGrace = 5 * time.Second

// Runner runs a Scheduler's schedules on River: one replica's River client,
// with the workers for savepoint's two jobs. Every replica runs one, all on the
// same River tables.
type Runner struct {
	client    *river.Client[pgx.Tx]
	pool      *pgxpool.Pool
	scheduler Scheduler
	opts      Options
	log       *slog.Logger
}

// New returns a Runner on pool for scheduler, not yet started. River's tables
// must have been migrated (MigrateStep) in opts.Schema before Start.
func New(pool *pgxpool.Pool, scheduler Scheduler, opts Options) (*Runner, error) {
	if pool == nil {
		return nil, errors.New("spriver: New: nil pool")
	}
	if scheduler == nil {
		return nil, errors.New("spriver: New: nil Scheduler")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	r := &Runner{pool: pool, scheduler: scheduler, opts: opts, log: opts.Logger}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &tickWorker{r: r}); err != nil {
		return nil, fmt.Errorf("spriver: New: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &runWorker{r: r}); err != nil {
		return nil, fmt.Errorf("spriver: New: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema:               opts.Schema,
		Logger:               opts.Logger,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		MaxAttempts:          opts.MaxAttempts,
		Queues: map[string]river.QueueConfig{
			// One tick at a time is plenty, and a queue of its own keeps ticks
			// from waiting behind runs.
			tickQueue: {MaxWorkers: 1},
			runQueue:  {MaxWorkers: opts.Workers},
		},
		Workers: workers,
		// Only the elected leader enqueues periodic jobs, so one tick is enqueued
		// per Tick however many replicas run, and whichever replica is free works
		// it. RunOnStart makes a newly elected leader tick at once rather than a
		// whole Tick later.
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(opts.Tick),
			func() (river.JobArgs, *river.InsertOpts) {
				return tickArgs{}, &river.InsertOpts{Queue: tickQueue, MaxAttempts: 1}
			},
			&river.PeriodicJobOpts{ID: tickID, RunOnStart: true},
		)},
	})
	if err != nil {
		return nil, fmt.Errorf("spriver: New: %w", err)
	}
	r.client = client
	return r, nil
}

// Start checks that River's tables are migrated, then starts working: this
// replica takes part in River's leader election, works ticks and runs, and,
// while it leads, enqueues the ticks and rescues the jobs of dead replicas.
// ctx bounds the start only; the Runner works until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.checkMigrated(ctx); err != nil {
		return err
	}
	// River's client stops when the context its Start got ends; the Runner's
	// life ends with Stop instead, so that a host may start it under a
	// start-up deadline.
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("spriver: start: %w", err)
	}
	return nil
}

// checkMigrated turns River's tables being absent or behind, which River's
// client would only log over and over once started, into an error from Start.
func (r *Runner) checkMigrated(ctx context.Context) error {
	migrator, err := rivermigrate.New(riverpgxv5.New(r.pool), &rivermigrate.Config{Schema: r.opts.Schema, Logger: r.log})
	if err != nil {
		return fmt.Errorf("spriver: start: %w", err)
	}
	res, err := migrator.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("spriver: start: checking River's migrations: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("spriver: start: River's tables are not migrated (%s): pass spriver.MigrateStep to the postgres adapter's Migrate",
			strings.Join(res.Messages, "; "))
	}
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish until ctx
// ends. Jobs still running then have their contexts cancelled and get a few
// seconds to return; River retries them later, and Stop returns an error
// wrapping ctx's. A Runner that was never started stops at once.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopCancelGrace)
	defer cancel()
	if cerr := r.client.StopAndCancel(cctx); cerr != nil {
		return fmt.Errorf("spriver: stop: jobs still running %v after they were cancelled: %w", stopCancelGrace, errors.Join(err, cerr))
	}
	return fmt.Errorf("spriver: stop: jobs still running were cancelled, to be retried: %w", err)
}

// Shutdown is Stop, under the name samber/do calls when its injector shuts
// down.
func (r *Runner) Shutdown(ctx context.Context) error { return r.Stop(ctx) }

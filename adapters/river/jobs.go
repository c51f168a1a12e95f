package spriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// River's names for savepoint's jobs and queues. They are stored in river_job,
// so changing one strands the jobs enqueued under the old name.
const (
	tickKind  = "savepoint_schedule_tick"
	runKind   = "savepoint_scheduled_backup"
	tickQueue = "savepoint_schedule_ticks"
	runQueue  = "savepoint_scheduled_backups"
	// tickID names the periodic job, in the metadata of the ticks it enqueues.
	tickID = "savepoint_schedule_tick"
)

// tickArgs is the periodic job that looks for due schedules.
type tickArgs struct{}

// Kind implements river.JobArgs.
func (tickArgs) Kind() string { return tickKind }

// runArgs is one slot of one schedule. The schedule and the slot name the run,
// so they alone make the job unique; Due only records the next run time the
// tick saw, which two ticks enqueueing one slot need not agree on (the schedule
// may have been edited between them).
type runArgs struct {
	ScheduleID ports.ScheduleID `json:"schedule_id" river:"unique"`
	Slot       time.Time        `json:"slot" river:"unique"`
	Due        time.Time        `json:"due"`
}

// Kind implements river.JobArgs.
func (runArgs) Kind() string { return runKind }

func argsOf(run backup.ScheduledRun) runArgs {
	// In UTC, so that the unique key, taken from the encoded args, is the same
	// whatever zone the replica that computed the slot gave it.
	return runArgs{ScheduleID: run.ScheduleID, Slot: run.Slot.UTC(), Due: run.Due.UTC()}
}

func (a runArgs) run() backup.ScheduledRun {
	return backup.ScheduledRun{ScheduleID: a.ScheduleID, Slot: a.Slot, Due: a.Due}
}

// tickWorker enqueues a run for every due schedule, then moves the schedule on.
type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	r *Runner
}

// Work implements river.Worker.
func (w *tickWorker) Work(ctx context.Context, _ *river.Job[tickArgs]) error {
	runs, err := w.r.scheduler.DueScheduledRuns(ctx)
	if err != nil {
		w.r.log.WarnContext(ctx, "looking for due schedules failed; the next tick tries again", "error", err)
		return fmt.Errorf("spriver: looking for due schedules: %w", err)
	}
	var errs []error
	for _, run := range runs {
		log := w.r.log.With("schedule_id", run.ScheduleID, "slot", run.Slot)
		// Enqueue first, advance second. A crash between the two leaves the
		// schedule where it was, so the next tick enqueues the same slot again:
		// one job still, the run being unique by schedule and slot, and one backup
		// still, the Scheduler claiming each slot in the database. Advancing first
		// would let such a crash lose the slot: the schedule would have moved on
		// with nothing enqueued for it.
		res, err := w.r.client.Insert(ctx, argsOf(run), &river.InsertOpts{
			Queue:       runQueue,
			MaxAttempts: w.r.opts.MaxAttempts,
			UniqueOpts:  river.UniqueOpts{ByArgs: true},
		})
		if err != nil {
			log.WarnContext(ctx, "enqueueing a scheduled run failed; the schedule stays due", "error", err)
			errs = append(errs, fmt.Errorf("spriver: enqueueing schedule %s slot %s: %w", run.ScheduleID, run.Slot.UTC().Format(time.RFC3339), err))
			continue
		}
		log.DebugContext(ctx, "scheduled run enqueued", "job_id", res.Job.ID, "duplicate", res.UniqueSkippedAsDuplicate)
		if err := w.r.scheduler.AdvanceSchedule(ctx, run); err != nil {
			log.WarnContext(ctx, "advancing a schedule failed; the next tick enqueues its slot again, harmlessly", "error", err)
			errs = append(errs, fmt.Errorf("spriver: advancing schedule %s: %w", run.ScheduleID, err))
		}
	}
	// A failed tick is not retried (MaxAttempts 1): the next one does the same.
	return errors.Join(errs...)
}

// runWorker runs one slot.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	r *Runner
}

// Work implements river.Worker. An error makes River retry the job with
// backoff, up to Options.MaxAttempts; the Scheduler returns one only when it
// could not record the outcome, and runs the slot at most once however often
// it is called.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	log := w.r.log.With("schedule_id", job.Args.ScheduleID, "slot", job.Args.Slot, "attempt", job.Attempt)
	if err := w.r.scheduler.RunScheduledBackup(ctx, job.Args.run()); err != nil {
		if job.Attempt >= job.MaxAttempts {
			log.ErrorContext(ctx, "a scheduled run failed for the last time; the schedule's next slot is the next chance", "error", err)
		} else {
			log.WarnContext(ctx, "a scheduled run failed; River retries it", "error", err)
		}
		return fmt.Errorf("spriver: running schedule %s slot %s: %w", job.Args.ScheduleID, job.Args.Slot.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Package spriver runs scheduled backups on River (github.com/riverqueue/river),
// a PostgreSQL job queue, so that every replica of the host shares the work and
// each slot of a schedule runs once.
//
// The schedules themselves — which are due, moving them on, running a slot at
// most once — belong to the backup service; a Runner only drives the three
// calls of its Scheduler interface, which *backup.Service implements, on a
// River client of its own.
//
// # How a slot runs
//
// Two kinds of job do the work, each in a queue of its own:
//
//   - a tick, a River periodic job enqueued every Options.Tick by the elected
//     leader (and once as soon as a replica becomes leader), and worked by
//     whichever replica is free. It asks DueScheduledRuns for the due slots and,
//     for each, enqueues a run job and then calls AdvanceSchedule. A failed tick
//     is not retried: the next one does the same work.
//   - a run, unique by schedule and slot (River's UniqueOpts.ByArgs), whose
//     worker calls RunScheduledBackup. An error makes River retry it with
//     exponential backoff, up to Options.MaxAttempts; each call is cancelled
//     after Options.JobTimeout.
//
// The order in the tick is what makes a crash harmless: a replica that dies
// between enqueueing a slot and advancing its schedule leaves the schedule due,
// and the next tick enqueues the same slot again, which River's uniqueness turns
// into the job already there (while that job, completed or not, is in
// river_job: River keeps completed jobs a day) and the service's claim of the
// slot into a no-op after that. Advancing first could lose a slot.
//
// # Replicas and crashes
//
// Every replica runs a Runner on the same River tables. River elects one leader
// per schema, through a lease it renews; a leader that dies loses it after
// about fifteen seconds, and another replica takes over, ticking at once.
//
// A replica killed while working a run leaves its job in the running state.
// The leader's rescuer, which looks every thirty seconds, makes such a job
// available again once it has been running for Options.RescueStuckJobsAfter
// (and longer than Options.JobTimeout), counting the lost attempt; another
// replica then works it, and RunScheduledBackup finds the slot claimed by the
// dead replica and does not run it again. A run killed before the claim runs
// late, but runs.
//
// # Migrations
//
// River keeps its jobs in tables of its own (river_job, river_leader,
// river_queue, river_migration, …) in Options.Schema. MigrateStep returns a
// step for the postgres adapter's Migrate, which runs it after savepoint's own
// migrations under the same advisory lock, so that replicas starting together
// migrate one at a time. A host without schedules passes no step and gets no
// River tables. Start refuses to run on tables that are not migrated.
//
// # Embedding
//
// On start-up, after the backup service is built:
//
//	pool, _ := pgxpool.New(ctx, url)
//	opts := spriver.Options{Logger: logger}
//	err := postgres.Migrate(ctx, pool, layout, spriver.MigrateStep(pool, opts))
//	runner, err := spriver.New(pool, svc, opts) // svc is the *backup.Service
//	err = runner.Start(ctx)
//
// and on shutdown, before the service and the pool:
//
//	err = runner.Stop(ctx) // lets running calls finish until ctx ends
//
// Hosts that use samber/do have Package instead.
//
// # Testing
//
// The tests run Runners against a real PostgreSQL with a fake Scheduler that
// keeps its clock and its claims in the database, as the service does: three
// replicas over several schedules, and a replica in a child process killed
// inside RunScheduledBackup.
package spriver

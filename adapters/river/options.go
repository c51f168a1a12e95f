package spriver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"
)

// The defaults of Options.
const (
	// DefaultTick is how often the leader looks for due schedules unless
	// Options.Tick says otherwise. A slot runs at most this long after its time.
	DefaultTick = 15 * time.Second
	// DefaultWorkers is how many scheduled runs one replica works at once.
	DefaultWorkers = 4
	// DefaultJobTimeout bounds one call of RunScheduledBackup, which starts a
	// backup and records that it did; the backup itself runs on the Service's own
	// runner, not inside the call.
	DefaultJobTimeout = time.Minute
	// DefaultMaxAttempts is how often a run is tried before River gives up on it.
	// With River's backoff (attempt⁴ seconds) five attempts span about six
	// minutes; after that the schedule's next slot is the retry.
	DefaultMaxAttempts = 5
	// DefaultRescueMargin is how much longer than JobTimeout a job may stay
	// running before the leader takes its replica for dead and retries it,
	// unless Options.RescueStuckJobsAfter says otherwise.
	DefaultRescueMargin = 10 * time.Minute
)

// maxSchemaLength is what River accepts: it prefixes its LISTEN/NOTIFY channels
// (at most 63 bytes) with the schema and a dot, and its longest channel name,
// river_leadership, has 16.
const maxSchemaLength = 63 - 1 - len("river_leadership")

// schemaName is what River accepts as Config.Schema; it quotes the name in its
// migrations but not everywhere else.
var schemaName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Options tune a Runner and MigrateStep. The zero value means every documented
// default; give New and MigrateStep the same Options.
type Options struct {
	// Tick is how often the elected leader enqueues the job that looks for due
	// schedules; a slot is enqueued at most about this long after its time.
	// Default DefaultTick. Seconds in production; tests use milliseconds.
	Tick time.Duration
	// Workers is how many scheduled runs this replica works at once. Default
	// DefaultWorkers. The job that looks for due schedules has a worker of its
	// own, so it never waits behind runs.
	Workers int
	// JobTimeout cancels the context of a call of the Scheduler that runs
	// longer; the job then counts a failed attempt. Default DefaultJobTimeout.
	JobTimeout time.Duration
	// MaxAttempts is how many times a run whose outcome could not be recorded
	// is tried, with River's exponential backoff between attempts, before it is
	// discarded. Default DefaultMaxAttempts.
	MaxAttempts int
	// RescueStuckJobsAfter is how long a job may stay running before the
	// leader takes its replica for dead (killed, or cut off from the database)
	// and makes the job available again. Must exceed JobTimeout, so that no
	// live job is rescued. Default JobTimeout + DefaultRescueMargin.
	RescueStuckJobsAfter time.Duration
	// Schema is where River's tables live: letters, digits and underscores, at
	// most 46 of them (River prefixes its notification channels with it).
	// Default empty: the first schema on the connection's search_path. A host
	// that runs River for jobs of its own gives savepoint a schema of its own:
	// River elects one leader per schema, and the leader's periodic jobs and
	// rescues cover only the job kinds its own client knows.
	Schema string
	// Logger receives the Runner's logs and River's, with schedule_id and slot
	// where they concern a run. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Tick == 0 {
		o.Tick = DefaultTick
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.JobTimeout == 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RescueStuckJobsAfter == 0 {
		o.RescueStuckJobsAfter = o.JobTimeout + DefaultRescueMargin
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Validate reports options that cannot work, after defaults are applied.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"Tick", o.Tick}, {"JobTimeout", o.JobTimeout}, {"RescueStuckJobsAfter", o.RescueStuckJobsAfter}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive (zero means the default)", f.name, f.d))
		}
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"Workers", o.Workers}, {"MaxAttempts", o.MaxAttempts}} {
		if f.n < 1 {
			errs = append(errs, fmt.Errorf("%s %d: must be at least 1 (zero means the default)", f.name, f.n))
		}
	}
	if o.JobTimeout > 0 && o.RescueStuckJobsAfter <= o.JobTimeout {
		errs = append(errs, fmt.Errorf("RescueStuckJobsAfter %v must exceed JobTimeout %v, or jobs still running would be rescued and run twice at once",
			o.RescueStuckJobsAfter, o.JobTimeout))
	}
	if o.Schema != "" && (!schemaName.MatchString(o.Schema) || len(o.Schema) > maxSchemaLength) {
		errs = append(errs, fmt.Errorf("Schema %q: must be letters, digits and underscores, not starting with a digit, at most %d of them, as River requires",
			o.Schema, maxSchemaLength))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spriver: invalid options: %w", err)
	}
	return nil
}

package ports

import (
	"context"
	"fmt"
	"time"
)

// Schedule makes backups of one provision at the times a cron expression gives.
// A provision has at most one schedule.
type Schedule struct {
	ID          ScheduleID
	OrderID     OrderID
	ProvisionID ProvisionID
	// Cron is the expression, validated by the service: five fields or a
	// descriptor such as @daily or @every 6h.
	Cron string
	// TimeZone is the IANA name of the zone the expression is read in.
	TimeZone string
	// Enabled is false for a paused schedule, which has no next run.
	Enabled bool
	// NameTemplate names the schedule's backups: {date} and {time} become the
	// slot's date and time in TimeZone.
	NameTemplate string
	// Retention says which of the provision's scheduled backups to keep.
	Retention RetentionPolicy
	// Excludes are gitignore-style patterns of paths the schedule's backups
	// leave out, as a create request's.
	Excludes []string
	// NextRunAt is when the schedule is next due; zero when it is paused.
	NextRunAt time.Time
	// LastRun is the newest run with an outcome (by slot); nil before the first.
	LastRun   *ScheduleRun
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RunOutcome is what became of a schedule's run. The values are the wire strings.
type RunOutcome string

// The outcomes of a run.
const (
	// RunStarted: a backup was created (its own status says how it went).
	RunStarted RunOutcome = "started"
	// RunSkipped: the order was busy (an operation in progress, or fenced), so
	// the slot passed without a backup. A skipped run is not retried.
	RunSkipped RunOutcome = "skipped"
	// RunFailed: the run could not create a backup (everything at the limit is
	// kept, the game server has no sidecar, …); Reason says why.
	RunFailed RunOutcome = "failed"
)

// Valid reports whether o is one of the three outcomes.
func (o RunOutcome) Valid() bool {
	return o == RunStarted || o == RunSkipped || o == RunFailed
}

// ScheduleRun is one slot of a schedule that a replica claimed.
type ScheduleRun struct {
	// Slot is the cron time the run is for; with the schedule it names the run.
	Slot time.Time
	// At is when the run was claimed.
	At time.Time
	// Outcome is empty until the run's outcome is recorded.
	Outcome RunOutcome
	// BackupID is the backup the run created (outcome started).
	BackupID BackupID
	// Reason says, in words a customer can read, why the run was skipped or
	// failed.
	Reason string
}

// MaxRunsKept is how many of a schedule's newest runs a Schedules store keeps
// at least; it may forget older ones.
const MaxRunsKept = 100

// Schedules stores backup schedules and their runs. Like the Repository it
// enforces its invariants itself, so that replicas sharing one store stay
// correct: one schedule per provision, next-run times moved by compare-and-set,
// and each slot of a schedule claimed at most once.
type Schedules interface {
	// Put creates the provision's schedule from s or, if the provision has one,
	// replaces its settings (cron, zone, enabled, template, retention, excludes,
	// next run, updated time), keeping its ID, order, creation time and runs. s.ID names a
	// schedule being created; zero CreatedAt and UpdatedAt mean now. Returns the
	// schedule as stored.
	Put(ctx context.Context, s Schedule) (Schedule, error)

	// Find returns the schedule. Returns ErrNotFound.
	Find(ctx context.Context, id ScheduleID) (Schedule, error)

	// FindByProvision returns the provision's schedule. Returns ErrNotFound.
	FindByProvision(ctx context.Context, provision ProvisionID) (Schedule, error)

	// DeleteByProvision removes the provision's schedule and its runs. Returns
	// ErrNotFound if it has none.
	DeleteByProvision(ctx context.Context, provision ProvisionID) error

	// DeleteByOrder removes the schedules of the order's provisions, and their
	// runs, and returns how many it removed.
	DeleteByOrder(ctx context.Context, order OrderID) (int, error)

	// ListDue returns the enabled schedules whose next run is not after now,
	// earliest first.
	ListDue(ctx context.Context, now time.Time) ([]Schedule, error)

	// Advance sets the schedule's next run to to if it is still from, and
	// reports whether it did: false when another caller moved it first, or the
	// schedule was paused, replaced or deleted.
	Advance(ctx context.Context, id ScheduleID, from, to time.Time) (bool, error)

	// ClaimRun claims the schedule's run for slot, claimed at at, and returns the
	// run as stored and whether this call claimed it. A slot is claimed once:
	// a later call gets the run the first one stored. A slot no newer than one
	// already claimed cannot be claimed either (a run delayed behind a newer one
	// never runs after it): the call gets the newest run instead. Returns
	// ErrNotFound if the schedule is gone.
	ClaimRun(ctx context.Context, id ScheduleID, slot, at time.Time) (run ScheduleRun, claimed bool, err error)

	// FinishRun records run's outcome, backup and reason on the claimed run of
	// run.Slot; the first outcome recorded stays, and recording another is not
	// an error. The newest run with an outcome is the schedule's LastRun. Returns
	// ErrNotFound if no such run was claimed.
	FinishRun(ctx context.Context, id ScheduleID, run ScheduleRun) error

	// ListRuns returns the schedule's newest runs, newest slot first, at most
	// limit of them (and at most MaxRunsKept). An unknown schedule has none.
	ListRuns(ctx context.Context, id ScheduleID, limit int) ([]ScheduleRun, error)
}

// ValidateSchedule applies the rules every Schedules store enforces on a
// schedule it is given: ID, order and provision set, a cron expression and a
// time zone, no negative retention count, and no next run while paused.
func ValidateSchedule(s Schedule) error {
	r := s.Retention
	switch {
	case s.ID.IsZero() || s.OrderID.IsZero() || s.ProvisionID.IsZero():
		return fmt.Errorf("schedule %s: ID, order and provision are required", s.ID)
	case s.Cron == "" || s.TimeZone == "":
		return fmt.Errorf("schedule %s: a cron expression and a time zone are required", s.ID)
	case r.KeepLast < 0 || r.KeepDaily < 0 || r.KeepWeekly < 0 || r.KeepMonthly < 0:
		return fmt.Errorf("schedule %s: negative retention %+v", s.ID, r)
	case !s.Enabled && !s.NextRunAt.IsZero():
		return fmt.Errorf("schedule %s: paused, but with a next run at %v", s.ID, s.NextRunAt)
	}
	return nil
}

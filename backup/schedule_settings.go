package backup

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// DefaultNameTemplate names a schedule's backups unless its settings say
// otherwise.
const DefaultNameTemplate = "Scheduled {date} {time}"

// MaxRetentionCount is the largest count a retention rule may have.
const MaxRetentionCount = 1000

// Bounds on the settings' text, so that hostile input cannot make the parsers
// or the stored rows large.
const (
	maxCronLength     = 100
	maxTimeZoneLength = 64
	maxTemplateLength = 200
)

// ScheduleSettings are what a user chooses for a provision's backup schedule.
type ScheduleSettings struct {
	// Cron is five fields (minute hour day-of-month month day-of-week) or a
	// descriptor such as @daily, @weekly or @every 6h.
	Cron string
	// TimeZone is the IANA name of the zone Cron is read in, such as
	// Europe/Berlin. Empty means UTC.
	TimeZone string
	// Enabled is false to pause the schedule.
	Enabled bool
	// NameTemplate names the backups; see RenderName. Empty means
	// DefaultNameTemplate.
	NameTemplate string
	// Retention says which of the schedule's backups to keep; the zero policy
	// keeps them all (the limit then makes room by rotation).
	Retention ports.RetentionPolicy
	// Excludes are gitignore-style patterns of paths the schedule's backups
	// leave out, as CreateRequest.Excludes.
	Excludes []string
}

// cronSpec is a schedule's parsed expression in its zone.
type cronSpec struct {
	sched cron.Schedule
	loc   *time.Location
}

// parseCron parses a cron expression to be read in the named zone. Errors wrap
// ErrInvalidSchedule and say which field is wrong and why.
func parseCron(expr, zone string) (spec cronSpec, err error) {
	loc, err := loadZone(zone)
	if err != nil {
		return cronSpec{}, err
	}
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return cronSpec{}, fmt.Errorf("%w: a cron expression is required", ErrInvalidSchedule)
	case len(expr) > maxCronLength || !utf8.ValidString(expr):
		return cronSpec{}, fmt.Errorf("%w: cron expression: at most %d characters of text", ErrInvalidSchedule, maxCronLength)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return cronSpec{}, fmt.Errorf("%w: cron expression %q: give the time zone as the schedule's time zone, not in the expression", ErrInvalidSchedule, expr)
	}
	defer func() {
		// The parser is a dependency facing user input; a panic in it must be a
		// refusal, not a crashed request.
		if r := recover(); r != nil {
			spec, err = cronSpec{}, fmt.Errorf("%w: cron expression %q cannot be read", ErrInvalidSchedule, expr)
		}
	}()
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return cronSpec{}, fmt.Errorf("%w: cron expression %q: %v", ErrInvalidSchedule, expr, err)
	}
	if every, ok := strings.CutPrefix(expr, "@every "); ok {
		// The parser rounds what is below a second, negative durations too, up to
		// one second: say so rather than run every second.
		if d, err := time.ParseDuration(every); err == nil && d < time.Second {
			return cronSpec{}, fmt.Errorf("%w: cron expression %q: the interval must be at least 1s", ErrInvalidSchedule, expr)
		}
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return cronSpec{sched: sched, loc: loc}, nil
}

// loadZone loads an IANA zone. The empty name is UTC; "Local" is refused, as it
// would be whatever zone each replica's machine is set to.
func loadZone(name string) (*time.Location, error) {
	switch {
	case name == "" || name == "UTC":
		return time.UTC, nil
	case name == "Local":
		return nil, fmt.Errorf("%w: time zone \"Local\": name the zone, such as Europe/Berlin", ErrInvalidSchedule)
	case len(name) > maxTimeZoneLength || !utf8.ValidString(name):
		return nil, fmt.Errorf("%w: time zone: at most %d characters", ErrInvalidSchedule, maxTimeZoneLength)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: time zone %q is not a known IANA time zone, such as Europe/Berlin", ErrInvalidSchedule, name)
	}
	return loc, nil
}

// next returns the expression's first time after t, or zero if it never comes.
func (c cronSpec) next(t time.Time) time.Time {
	return c.sched.Next(t.In(c.loc)).UTC()
}

// lastSlot returns the latest of the schedule's times that is not after now,
// and not before due (the next run time the schedule had), so that a schedule
// that missed several slots runs the latest once. @every schedules count from
// due; cron schedules have absolute times, which are searched for backwards in
// doubling strides, so that a long outage of a frequent schedule costs a few
// dozen steps rather than one per missed slot.
func (c cronSpec) lastSlot(due, now time.Time) time.Time {
	if every, ok := c.sched.(cron.ConstantDelaySchedule); ok {
		if every.Delay <= 0 || now.Before(due) {
			return due
		}
		return due.Add(now.Sub(due) / every.Delay * every.Delay)
	}
	from := due
	for back := time.Minute; now.Add(-back).After(due); back *= 2 {
		if t := c.next(now.Add(-back)); !t.IsZero() && !t.After(now) {
			from = now.Add(-back)
			break
		}
	}
	slot := due
	for t := c.next(from); !t.IsZero() && !t.After(now); t = c.next(t) {
		slot = t
	}
	if slot.Before(due) {
		return due
	}
	return slot
}

// placeholder matches a {name} in a name template.
var placeholder = regexp.MustCompile(`\{[A-Za-z_]+\}`)

// RenderName renders a schedule's name template for a backup of the slot at,
// with {date} as 2006-01-02 and {time} as 15:04 in at's location, and checks the
// result with NewName. Returns ErrInvalidSchedule for a placeholder it does not
// know, and ErrInvalidName for a name NewName refuses.
func RenderName(template string, at time.Time) (string, error) {
	var unknown string
	name := placeholder.ReplaceAllStringFunc(template, func(p string) string {
		switch p {
		case "{date}":
			return at.Format("2006-01-02")
		case "{time}":
			return at.Format("15:04")
		}
		if unknown == "" {
			unknown = p
		}
		return p
	})
	if unknown != "" {
		return "", fmt.Errorf("%w: name template %q: unknown placeholder %s; use {date} or {time}", ErrInvalidSchedule, template, unknown)
	}
	return NewName(name)
}

// validateSettings checks the settings, fills in their defaults, and returns
// them with the parsed expression. Errors wrap ErrInvalidSchedule, or
// ErrInvalidExcludes for the patterns.
func validateSettings(set ScheduleSettings, now time.Time) (ScheduleSettings, cronSpec, error) {
	spec, err := parseCron(set.Cron, set.TimeZone)
	if err != nil {
		return set, cronSpec{}, err
	}
	set.Cron = strings.TrimSpace(set.Cron)
	set.TimeZone = spec.loc.String()
	if spec.next(now).IsZero() {
		return set, cronSpec{}, fmt.Errorf("%w: cron expression %q: never fires (no such date in the next five years)", ErrInvalidSchedule, set.Cron)
	}
	if strings.TrimSpace(set.NameTemplate) == "" {
		set.NameTemplate = DefaultNameTemplate
	}
	if len(set.NameTemplate) > maxTemplateLength {
		return set, cronSpec{}, fmt.Errorf("%w: name template: at most %d bytes", ErrInvalidSchedule, maxTemplateLength)
	}
	if _, err := RenderName(set.NameTemplate, now.In(spec.loc)); err != nil {
		if errors.Is(err, ErrInvalidSchedule) {
			return set, cronSpec{}, err
		}
		// %v, not %w: the error is about the schedule, and must be answered as such.
		return set, cronSpec{}, fmt.Errorf("%w: name template %q gives a name that is not valid: %v", ErrInvalidSchedule, set.NameTemplate, err)
	}
	r := set.Retention
	for _, rule := range []struct {
		name string
		n    int
	}{{"keep_last", r.KeepLast}, {"keep_daily", r.KeepDaily}, {"keep_weekly", r.KeepWeekly}, {"keep_monthly", r.KeepMonthly}} {
		if rule.n < 0 || rule.n > MaxRetentionCount {
			return set, cronSpec{}, fmt.Errorf("%w: retention %s %d: must be 0 to %d", ErrInvalidSchedule, rule.name, rule.n, MaxRetentionCount)
		}
	}
	if err := checkExcludes(set.Excludes); err != nil {
		return set, cronSpec{}, err
	}
	return set, spec, nil
}

// schedules returns the schedule store, or ErrSchedulesUnavailable.
func (s *Service) schedules() (ports.Schedules, error) {
	if s.deps.Schedules == nil {
		return nil, ErrSchedulesUnavailable
	}
	return s.deps.Schedules, nil
}

// GetSchedule returns the provision's backup schedule, with its next run (zero
// while paused) and the outcome of its last run. It is authorized as the backup
// methods are. Returns ErrSchedulesUnavailable, ErrOrderNotFound,
// ErrUnauthorized, ErrProvisionNotFound, ErrScheduleNotFound, or an error
// wrapping ErrDatabase.
func (s *Service) GetSchedule(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID) (ports.Schedule, error) {
	store, err := s.schedules()
	if err != nil {
		return ports.Schedule{}, err
	}
	_, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return ports.Schedule{}, err
	}
	sc, err := store.FindByProvision(ctx, prov.ID)
	if err != nil {
		return ports.Schedule{}, wrapInfra(ErrDatabase, "loading schedule", s.notFound(err, ErrScheduleNotFound))
	}
	return sc, nil
}

// PutSchedule gives the provision the backup schedule set describes, creating
// it or replacing the one it has (which keeps its ID and runs). An enabled
// schedule's next run is the expression's first time after now; a paused one
// has none. The settings are checked first, then the caller as the backup
// methods check them. Returns ErrSchedulesUnavailable, ErrInvalidSchedule,
// ErrInvalidExcludes, ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound, or an error wrapping
// ErrDatabase.
func (s *Service) PutSchedule(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, set ScheduleSettings) (ports.Schedule, error) {
	store, err := s.schedules()
	if err != nil {
		return ports.Schedule{}, err
	}
	now := s.opts.Now()
	set, spec, err := validateSettings(set, now)
	if err != nil {
		return ports.Schedule{}, err
	}
	order, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return ports.Schedule{}, err
	}
	sc := ports.Schedule{
		ID: ports.NewScheduleID(), OrderID: order.ID, ProvisionID: prov.ID,
		Cron: set.Cron, TimeZone: set.TimeZone, Enabled: set.Enabled, NameTemplate: set.NameTemplate,
		Retention: set.Retention, Excludes: slices.Clone(set.Excludes), CreatedAt: now, UpdatedAt: now,
	}
	if sc.Enabled {
		sc.NextRunAt = spec.next(now)
	}
	stored, err := store.Put(ctx, sc)
	if err != nil {
		return ports.Schedule{}, wrapInfra(ErrDatabase, "storing schedule", err)
	}
	s.log.Info("schedule set", "schedule_id", stored.ID, "order_id", order.ID, "cron", stored.Cron,
		"time_zone", stored.TimeZone, "enabled", stored.Enabled, "next_run_at", stored.NextRunAt)
	return stored, nil
}

// DeleteSchedule removes the provision's backup schedule and its runs; the
// backups it made stay. Returns ErrSchedulesUnavailable, ErrOrderNotFound,
// ErrUnauthorized, ErrProvisionNotFound, ErrScheduleNotFound, or an error
// wrapping ErrDatabase.
func (s *Service) DeleteSchedule(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID) error {
	store, err := s.schedules()
	if err != nil {
		return err
	}
	order, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return err
	}
	if err := store.DeleteByProvision(ctx, prov.ID); err != nil {
		return wrapInfra(ErrDatabase, "deleting schedule", s.notFound(err, ErrScheduleNotFound))
	}
	s.log.Info("schedule deleted", "order_id", order.ID, "provision_id", prov.ID)
	return nil
}

// ListScheduleRuns returns the recent runs of the provision's schedule, newest
// slot first (at most ports.MaxRunsKept); a run still being decided has no
// outcome yet. Returns ErrSchedulesUnavailable, ErrOrderNotFound,
// ErrUnauthorized, ErrProvisionNotFound, ErrScheduleNotFound, or an error
// wrapping ErrDatabase.
func (s *Service) ListScheduleRuns(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID) ([]ports.ScheduleRun, error) {
	sc, err := s.GetSchedule(ctx, user, orderID, provisionID)
	if err != nil {
		return nil, err
	}
	runs, err := s.deps.Schedules.ListRuns(ctx, sc.ID, ports.MaxRunsKept)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "listing schedule runs", err)
	}
	if runs == nil {
		runs = []ports.ScheduleRun{}
	}
	return runs, nil
}

package local

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Schedules is an in-memory ports.Schedules. One mutex guards every method, so
// that a claim and the check that the slot is free happen atomically, as the
// primary key and the schedule's row lock make them in PostgreSQL. A run's
// skipped or failed outcome is recorded in its activity log under the same
// lock (ports.NewRunActivity).
type Schedules struct {
	mu        sync.Mutex
	schedules map[ports.ScheduleID]ports.Schedule // LastRun not kept: derived from runs
	byProv    map[ports.ProvisionID]ports.ScheduleID
	runs      map[ports.ScheduleID][]ports.ScheduleRun // by slot, oldest first
	log       *ActivityLog
}

var _ ports.Schedules = (*Schedules)(nil)

// NewSchedules returns an empty Schedules with an activity log of its own.
func NewSchedules() *Schedules { return NewSchedulesWithLog(NewActivityLog()) }

// NewSchedulesWithLog returns an empty Schedules that records its runs'
// events in log: pass the Repository's (Repository.ActivityLog), so that one
// log holds an order's whole history.
func NewSchedulesWithLog(log *ActivityLog) *Schedules {
	return &Schedules{
		schedules: make(map[ports.ScheduleID]ports.Schedule),
		byProv:    make(map[ports.ProvisionID]ports.ScheduleID),
		runs:      make(map[ports.ScheduleID][]ports.ScheduleRun),
		log:       log,
	}
}

// ActivityLog returns the log the store records its runs' events in.
func (s *Schedules) ActivityLog() *ActivityLog { return s.log }

// Put creates the provision's schedule, or replaces its settings keeping its
// ID, order, creation time and runs. Zero CreatedAt and UpdatedAt mean now.
func (s *Schedules) Put(ctx context.Context, sc ports.Schedule) (ports.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return ports.Schedule{}, fmt.Errorf("local: put schedule: %w", err)
	}
	if err := ports.ValidateSchedule(sc); err != nil {
		return ports.Schedule{}, fmt.Errorf("local: put %w", err)
	}
	now := time.Now()
	if sc.CreatedAt.IsZero() {
		sc.CreatedAt = now
	}
	if sc.UpdatedAt.IsZero() {
		sc.UpdatedAt = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byProv[sc.ProvisionID]; ok {
		cur := s.schedules[id]
		sc.ID, sc.OrderID, sc.CreatedAt = cur.ID, cur.OrderID, cur.CreatedAt
	} else if _, taken := s.schedules[sc.ID]; taken {
		return ports.Schedule{}, fmt.Errorf("local: put schedule: schedule %s already exists for another provision", sc.ID)
	}
	sc.LastRun = nil
	sc.NextRunAt, sc.CreatedAt, sc.UpdatedAt = dbTime(sc.NextRunAt), dbTime(sc.CreatedAt), dbTime(sc.UpdatedAt)
	sc.Excludes = cloneExcludes(sc.Excludes)
	s.schedules[sc.ID] = sc
	s.byProv[sc.ProvisionID] = sc.ID
	return s.withLastRunLocked(sc), nil
}

// Find returns the schedule. Returns ErrNotFound.
func (s *Schedules) Find(ctx context.Context, id ports.ScheduleID) (ports.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return ports.Schedule{}, fmt.Errorf("local: find schedule: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[id]
	if !ok {
		return ports.Schedule{}, fmt.Errorf("local: schedule %s: %w", id, ports.ErrNotFound)
	}
	return s.withLastRunLocked(sc), nil
}

// FindByProvision returns the provision's schedule. Returns ErrNotFound.
func (s *Schedules) FindByProvision(ctx context.Context, provision ports.ProvisionID) (ports.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return ports.Schedule{}, fmt.Errorf("local: find schedule: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byProv[provision]
	if !ok {
		return ports.Schedule{}, fmt.Errorf("local: schedule of provision %s: %w", provision, ports.ErrNotFound)
	}
	return s.withLastRunLocked(s.schedules[id]), nil
}

// DeleteByProvision removes the provision's schedule and its runs. Returns
// ErrNotFound.
func (s *Schedules) DeleteByProvision(ctx context.Context, provision ports.ProvisionID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: delete schedule: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byProv[provision]
	if !ok {
		return fmt.Errorf("local: delete schedule of provision %s: %w", provision, ports.ErrNotFound)
	}
	s.deleteLocked(id)
	return nil
}

// DeleteByOrder removes the order's schedules and their runs.
func (s *Schedules) DeleteByOrder(ctx context.Context, order ports.OrderID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("local: delete schedules: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sc := range s.schedules {
		if sc.OrderID == order {
			s.deleteLocked(id)
			n++
		}
	}
	return n, nil
}

func (s *Schedules) deleteLocked(id ports.ScheduleID) {
	delete(s.byProv, s.schedules[id].ProvisionID)
	delete(s.schedules, id)
	delete(s.runs, id)
}

// ListDue returns the enabled schedules due by now, earliest first (ties by ID,
// as in PostgreSQL).
func (s *Schedules) ListDue(ctx context.Context, now time.Time) ([]ports.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list due schedules: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []ports.Schedule
	for _, sc := range s.schedules {
		if sc.Enabled && !sc.NextRunAt.IsZero() && !sc.NextRunAt.After(now) {
			due = append(due, s.withLastRunLocked(sc))
		}
	}
	slices.SortFunc(due, func(a, b ports.Schedule) int {
		return cmp.Or(a.NextRunAt.Compare(b.NextRunAt), compareIDs(a.ID.UUID(), b.ID.UUID()))
	})
	return due, nil
}

// Advance sets the next run to to if it is still from, and reports whether it
// did.
func (s *Schedules) Advance(ctx context.Context, id ports.ScheduleID, from, to time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("local: advance schedule: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[id]
	if !ok || !sc.Enabled || sc.NextRunAt.IsZero() || !sc.NextRunAt.Equal(dbTime(from)) {
		return false, nil
	}
	sc.NextRunAt = dbTime(to)
	s.schedules[id] = sc
	return true, nil
}

// ClaimRun claims the run for slot unless it, or a newer one, was claimed
// before. Returns ErrNotFound if the schedule is gone.
func (s *Schedules) ClaimRun(ctx context.Context, id ports.ScheduleID, slot, at time.Time) (ports.ScheduleRun, bool, error) {
	if err := ctx.Err(); err != nil {
		return ports.ScheduleRun{}, false, fmt.Errorf("local: claim run: %w", err)
	}
	slot, at = dbTime(slot), dbTime(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.schedules[id]; !ok {
		return ports.ScheduleRun{}, false, fmt.Errorf("local: claim run of schedule %s: %w", id, ports.ErrNotFound)
	}
	runs := s.runs[id]
	if n := len(runs); n > 0 && !runs[n-1].Slot.Before(slot) {
		if i := slices.IndexFunc(runs, func(r ports.ScheduleRun) bool { return r.Slot.Equal(slot) }); i >= 0 {
			return runs[i], false, nil
		}
		return runs[n-1], false, nil
	}
	run := ports.ScheduleRun{Slot: slot, At: at}
	runs = append(runs, run)
	if len(runs) > ports.MaxRunsKept {
		runs = slices.Clone(runs[len(runs)-ports.MaxRunsKept:])
	}
	s.runs[id] = runs
	return run, true, nil
}

// FinishRun records the outcome of the claimed run of run.Slot, unless it has
// one. Returns ErrNotFound.
func (s *Schedules) FinishRun(ctx context.Context, id ports.ScheduleID, run ports.ScheduleRun) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: finish run: %w", err)
	}
	if !run.Outcome.Valid() {
		return fmt.Errorf("local: finish run of schedule %s: invalid outcome %q", id, run.Outcome)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	runs := s.runs[id]
	i := slices.IndexFunc(runs, func(r ports.ScheduleRun) bool { return r.Slot.Equal(dbTime(run.Slot)) })
	if i < 0 {
		return fmt.Errorf("local: finish run %v of schedule %s: %w", run.Slot, id, ports.ErrNotFound)
	}
	if runs[i].Outcome == "" {
		runs[i].Outcome, runs[i].BackupID, runs[i].Reason = run.Outcome, run.BackupID, run.Reason
		if a, ok := ports.NewRunActivity(s.schedules[id], runs[i], time.Now()); ok && !a.OrderID.IsZero() {
			s.log.record(a)
		}
	}
	return nil
}

// ListRuns returns the schedule's newest runs, newest first, at most limit.
func (s *Schedules) ListRuns(ctx context.Context, id ports.ScheduleID, limit int) ([]ports.ScheduleRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list runs: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	runs := slices.Clone(s.runs[id])
	slices.Reverse(runs)
	return runs[:min(len(runs), max(limit, 0), ports.MaxRunsKept)], nil
}

// withLastRunLocked returns sc with its newest finished run.
func (s *Schedules) withLastRunLocked(sc ports.Schedule) ports.Schedule {
	sc.Excludes = cloneExcludes(sc.Excludes) // the caller's to change
	sc.LastRun = nil
	runs := s.runs[sc.ID]
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Outcome != "" {
			r := runs[i]
			sc.LastRun = &r
			break
		}
	}
	return sc
}

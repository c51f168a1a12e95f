package portstest

import (
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// SchedulesHarness describes a ports.Schedules implementation to the contract
// suite.
type SchedulesHarness struct {
	// New returns a store holding no schedules, for one subtest, and the Host
	// whose orders and provisions its schedules may refer to. It registers its
	// own cleanup. Subtests run in parallel, so New must be safe to call
	// concurrently.
	New func(t *testing.T) (ports.Schedules, Host)
}

// RunSchedulesTests runs the Schedules contract suite: every method's
// documented semantics, and races that only a store that claims slots and
// moves next-run times atomically passes. Each behaviour runs in a parallel
// subtest on a store of its own.
func RunSchedulesTests(t *testing.T, h SchedulesHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: SchedulesHarness.New is nil")
	}
	setUp := func(t *testing.T) schedulesSuite {
		t.Parallel()
		store, host := h.New(t)
		return schedulesSuite{t: t, store: store, host: host, tick: new(atomic.Int64)}
	}
	run(t, setUp, []behaviour[schedulesSuite]{
		{"a put schedule is found by ID and by provision with every field", schedulesSuite.putIsFound},
		{"a schedule put without times is stamped with the current time", schedulesSuite.putWithoutTimes},
		{"put replaces the provision's schedule, keeping its ID, order, creation time and runs", schedulesSuite.putReplaces},
		{"excludes round-trip through put and find, in order and exactly, and a replacing put replaces them", schedulesSuite.excludesRoundTrip},
		{"put refuses a schedule without IDs, cron or zone, with negative retention, or paused with a next run", schedulesSuite.putRefusesInvalid},
		{"concurrent puts for one provision leave one schedule", schedulesSuite.racePuts},
		{"finding an unknown schedule or a provision without one reports not found", schedulesSuite.findUnknown},
		{"delete by provision removes the schedule and its runs, and a second delete reports not found", schedulesSuite.deleteByProvision},
		{"delete by order removes the order's schedules and no other", schedulesSuite.deleteByOrder},
		{"due schedules are the enabled ones whose next run has come, earliest first", schedulesSuite.listDue},
		{"advance moves the next run only from the time it still has", schedulesSuite.advance},
		{"advance does not move a paused, replaced or deleted schedule", schedulesSuite.advanceGone},
		{"exactly one of 20 concurrent advances from one time applies", schedulesSuite.raceAdvances},
		{"a slot is claimed once, and a second claim gets the stored run", schedulesSuite.claimOnce},
		{"exactly one of 50 concurrent claims of one slot wins, 5 rounds", schedulesSuite.raceClaims},
		{"a slot older than a claimed one cannot be claimed", schedulesSuite.claimOlderSlot},
		{"claiming a run of an unknown schedule reports not found", schedulesSuite.claimUnknown},
		{"a finished run is the schedule's last run, and its first outcome stays", schedulesSuite.finishRun},
		{"the last run is the newest finished one, not a newer run still unfinished", schedulesSuite.lastRunIsNewestFinished},
		{"finishing a run that was never claimed reports not found, and an invalid outcome is refused", schedulesSuite.finishUnclaimed},
		{"runs are listed newest first, at most the limit", schedulesSuite.listRuns},
		{"at least the newest MaxRunsKept runs are kept, and a pruned slot is not claimed again", schedulesSuite.runsKept},
	})
}

// schedulesSuite is one behaviour's store, host and clock.
type schedulesSuite struct {
	t     *testing.T
	store ports.Schedules
	host  Host
	tick  *atomic.Int64
}

// next returns the suite clock's next reading, a millisecond on each time.
func (s schedulesSuite) next() time.Time {
	return epoch().Add(time.Duration(s.tick.Add(1)) * time.Millisecond)
}

func (s schedulesSuite) putIsFound(t *testing.T) {
	want := s.put(s.newSchedule(s.newServer()))
	if got := s.find(want.ID); !sameSchedule(got, want) {
		t.Errorf("Find:\n got %+v\nwant %+v", got, want)
	}
	got, err := s.store.FindByProvision(t.Context(), want.ProvisionID)
	if err != nil {
		t.Fatalf("FindByProvision: %v", err)
	}
	if !sameSchedule(got, want) {
		t.Errorf("FindByProvision:\n got %+v\nwant %+v", got, want)
	}
}

func (s schedulesSuite) putWithoutTimes(t *testing.T) {
	sc := s.newSchedule(s.newServer())
	sc.CreatedAt, sc.UpdatedAt = time.Time{}, time.Time{}
	got := s.put(sc)
	for name, at := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
		// The store's clock may be another machine's (a database server).
		if d := time.Since(at); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("%s = %v, want about now", name, at)
		}
	}
}

func (s schedulesSuite) putReplaces(t *testing.T) {
	first := s.put(s.newSchedule(s.newServer()))
	s.claim(first.ID, s.next())
	repl := s.newSchedule(server{order: ports.Order{ID: first.OrderID}, prov: ports.Provision{ID: first.ProvisionID}})
	repl.Cron, repl.TimeZone, repl.Enabled, repl.NextRunAt = "@hourly", "Europe/Berlin", false, time.Time{}
	repl.NameTemplate = "Hourly {time}"
	repl.Retention = ports.RetentionPolicy{KeepLast: 3}
	got := s.put(repl)
	want := repl
	want.ID, want.OrderID, want.CreatedAt = first.ID, first.OrderID, first.CreatedAt
	if !sameSchedule(got, want) {
		t.Errorf("Put's answer:\n got %+v\nwant %+v", got, want)
	}
	if found := s.find(first.ID); !sameSchedule(found, want) {
		t.Errorf("after the replacing put:\n got %+v\nwant %+v", found, want)
	}
	if _, err := s.store.Find(t.Context(), repl.ID); !isNotFound(err) {
		t.Errorf("Find by the replacing put's own ID: %v, want not found", err)
	}
	if runs := s.runs(first.ID, 10); len(runs) != 1 {
		t.Errorf("the replaced schedule has %d runs, want its 1", len(runs))
	}
}

func (s schedulesSuite) excludesRoundTrip(t *testing.T) {
	sc := s.newSchedule(s.newServer())
	sc.Excludes = []string{"cache/", "/logs/", "*.tmp", "!keep.tmp", "plugins/Ünïcödé ⛏/", `we\ird "name"`}
	want := sc
	want.Excludes = slices.Clone(sc.Excludes)
	stored := s.put(sc)
	sc.Excludes[0] = "changed by the caller after Put"
	if !slices.Equal(stored.Excludes, want.Excludes) {
		t.Errorf("Put's answer has excludes %q, want %q", stored.Excludes, want.Excludes)
	}
	got, err := s.store.FindByProvision(t.Context(), want.ProvisionID)
	if err != nil {
		t.Fatalf("FindByProvision: %v", err)
	}
	if !slices.Equal(got.Excludes, want.Excludes) || !slices.Equal(s.find(want.ID).Excludes, want.Excludes) {
		t.Errorf("found excludes %q, want %q", got.Excludes, want.Excludes)
	}
	repl := want
	repl.ID = ports.NewScheduleID()
	repl.Excludes = []string{"world/region/"}
	if got := s.find(s.put(repl).ID); !slices.Equal(got.Excludes, repl.Excludes) {
		t.Errorf("after a replacing put: excludes %q, want %q", got.Excludes, repl.Excludes)
	}
	repl.Excludes = nil
	if got := s.find(s.put(repl).ID); len(got.Excludes) != 0 {
		t.Errorf("after a replacing put without excludes: %q, want none", got.Excludes)
	}
}

func (s schedulesSuite) putRefusesInvalid(t *testing.T) {
	srv := s.newServer()
	for _, tc := range []struct {
		name string
		edit func(*ports.Schedule)
	}{
		{"no ID", func(sc *ports.Schedule) { sc.ID = ports.ScheduleID{} }},
		{"no order", func(sc *ports.Schedule) { sc.OrderID = ports.OrderID{} }},
		{"no provision", func(sc *ports.Schedule) { sc.ProvisionID = ports.ProvisionID{} }},
		{"no cron", func(sc *ports.Schedule) { sc.Cron = "" }},
		{"no time zone", func(sc *ports.Schedule) { sc.TimeZone = "" }},
		{"a negative keep_daily", func(sc *ports.Schedule) { sc.Retention.KeepDaily = -1 }},
		{"paused with a next run", func(sc *ports.Schedule) { sc.Enabled = false }},
	} {
		sc := s.newSchedule(srv)
		tc.edit(&sc)
		if _, err := s.store.Put(t.Context(), sc); err == nil {
			t.Errorf("Put with %s succeeded, want an error", tc.name)
		}
	}
	if _, err := s.store.FindByProvision(t.Context(), srv.prov.ID); !isNotFound(err) {
		t.Errorf("after refused puts FindByProvision: %v, want not found", err)
	}
}

func (s schedulesSuite) racePuts(t *testing.T) {
	srv := s.newServer()
	type put struct {
		i  int
		sc ports.Schedule
	}
	stored := make([]ports.Schedule, 20)
	errs := race(20, func(i int) put { return put{i, s.newSchedule(srv)} }, func(p put) error {
		var err error
		stored[p.i], err = s.store.Put(t.Context(), p.sc)
		return err
	})
	if ok, _, other := tally(errs); ok != 20 {
		t.Fatalf("%d of 20 puts succeeded; errors: %v", ok, other)
	}
	one := s.findByProvision(srv.prov.ID)
	for _, got := range stored {
		if got.ID != one.ID {
			t.Errorf("a put answered schedule %s, but the provision's schedule is %s", got.ID, one.ID)
		}
	}
}

func (s schedulesSuite) findUnknown(t *testing.T) {
	_, err := s.store.Find(t.Context(), ports.NewScheduleID())
	wantErr(t, "Find", err, ports.ErrNotFound)
	_, err = s.store.FindByProvision(t.Context(), ports.NewProvisionID())
	wantErr(t, "FindByProvision", err, ports.ErrNotFound)
}

func (s schedulesSuite) deleteByProvision(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	keep := s.put(s.newSchedule(s.newServer()))
	s.claim(sc.ID, s.next())
	if err := s.store.DeleteByProvision(t.Context(), sc.ProvisionID); err != nil {
		t.Fatalf("DeleteByProvision: %v", err)
	}
	_, err := s.store.Find(t.Context(), sc.ID)
	wantErr(t, "Find after the delete", err, ports.ErrNotFound)
	if runs := s.runs(sc.ID, 10); len(runs) != 0 {
		t.Errorf("the deleted schedule still has %d runs", len(runs))
	}
	wantErr(t, "second DeleteByProvision", s.store.DeleteByProvision(t.Context(), sc.ProvisionID), ports.ErrNotFound)
	s.find(keep.ID)
	// A new schedule of the provision starts afresh.
	again := s.put(s.newSchedule(server{order: ports.Order{ID: sc.OrderID}, prov: ports.Provision{ID: sc.ProvisionID}}))
	if again.ID == sc.ID || again.LastRun != nil {
		t.Errorf("a schedule put after the delete is %+v, want a new one", again)
	}
}

func (s schedulesSuite) deleteByOrder(t *testing.T) {
	srv := s.newServer()
	second := server{order: srv.order, prov: s.newProvision(srv.order.ID)}
	a, b := s.put(s.newSchedule(srv)), s.put(s.newSchedule(second))
	other := s.put(s.newSchedule(s.newServer()))
	n, err := s.store.DeleteByOrder(t.Context(), srv.order.ID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteByOrder = %d, %v; want 2", n, err)
	}
	for _, id := range []ports.ScheduleID{a.ID, b.ID} {
		_, err := s.store.Find(t.Context(), id)
		wantErr(t, "Find after DeleteByOrder", err, ports.ErrNotFound)
	}
	s.find(other.ID)
	if n, err := s.store.DeleteByOrder(t.Context(), srv.order.ID); err != nil || n != 0 {
		t.Errorf("second DeleteByOrder = %d, %v; want 0", n, err)
	}
}

func (s schedulesSuite) listDue(t *testing.T) {
	now := epoch().Add(time.Hour)
	at := func(d time.Duration, enabled bool) ports.Schedule {
		sc := s.newSchedule(s.newServer())
		sc.Enabled = enabled
		sc.NextRunAt = time.Time{}
		if enabled {
			sc.NextRunAt = now.Add(d)
		}
		return s.put(sc)
	}
	late := at(-time.Minute, true)
	exact := at(0, true)
	earliest := at(-48*time.Hour, true)
	at(time.Microsecond, true) // not yet
	at(0, false)               // paused
	due, err := s.store.ListDue(t.Context(), now)
	if err != nil {
		t.Fatalf("ListDue: %v", err)
	}
	var got []ports.ScheduleID
	for _, sc := range due {
		got = append(got, sc.ID)
	}
	if want := []ports.ScheduleID{earliest.ID, late.ID, exact.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListDue = %v, want %v", got, want)
	}
}

func (s schedulesSuite) advance(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	to := sc.NextRunAt.Add(24 * time.Hour)
	if ok, err := s.store.Advance(t.Context(), sc.ID, sc.NextRunAt.Add(-time.Second), to); err != nil || ok {
		t.Errorf("Advance from another time = %v, %v; want false", ok, err)
	}
	if got := s.find(sc.ID).NextRunAt; !got.Equal(sc.NextRunAt) {
		t.Errorf("a refused advance moved the next run to %v", got)
	}
	if ok, err := s.store.Advance(t.Context(), sc.ID, sc.NextRunAt, to); err != nil || !ok {
		t.Fatalf("Advance = %v, %v; want true", ok, err)
	}
	if got := s.find(sc.ID).NextRunAt; !got.Equal(to) {
		t.Errorf("NextRunAt = %v, want %v", got, to)
	}
	if ok, err := s.store.Advance(t.Context(), sc.ID, sc.NextRunAt, to.Add(time.Hour)); err != nil || ok {
		t.Errorf("a second Advance from the old time = %v, %v; want false", ok, err)
	}
}

func (s schedulesSuite) advanceGone(t *testing.T) {
	paused := s.put(s.newSchedule(s.newServer()))
	due := paused.NextRunAt
	paused.Enabled, paused.NextRunAt = false, time.Time{}
	s.put(paused)
	replaced := s.put(s.newSchedule(s.newServer()))
	old := replaced.NextRunAt
	replaced.NextRunAt = old.Add(time.Hour)
	s.put(replaced)
	deleted := s.put(s.newSchedule(s.newServer()))
	if err := s.store.DeleteByProvision(t.Context(), deleted.ProvisionID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   ports.ScheduleID
		from time.Time
	}{{"paused", paused.ID, due}, {"replaced", replaced.ID, old}, {"deleted", deleted.ID, deleted.NextRunAt}} {
		if ok, err := s.store.Advance(t.Context(), tc.id, tc.from, tc.from.Add(24*time.Hour)); err != nil || ok {
			t.Errorf("Advance of a %s schedule = %v, %v; want false, nil", tc.name, ok, err)
		}
	}
	if got := s.find(paused.ID); !got.NextRunAt.IsZero() {
		t.Errorf("the paused schedule got a next run %v", got.NextRunAt)
	}
}

func (s schedulesSuite) raceAdvances(t *testing.T) {
	for round := range 5 {
		sc := s.put(s.newSchedule(s.newServer()))
		var won atomic.Int32
		race(20, func(i int) time.Time { return sc.NextRunAt.Add(time.Duration(i+1) * time.Hour) }, func(to time.Time) error {
			ok, err := s.store.Advance(t.Context(), sc.ID, sc.NextRunAt, to)
			if ok {
				won.Add(1)
			}
			if err != nil {
				t.Errorf("Advance: %v", err)
			}
			return err
		})
		if n := won.Load(); n != 1 {
			t.Errorf("round %d: %d advances applied, want 1", round, n)
		}
	}
}

func (s schedulesSuite) claimOnce(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	slot, at := s.next(), s.next()
	run, claimed, err := s.store.ClaimRun(t.Context(), sc.ID, slot, at)
	if err != nil || !claimed {
		t.Fatalf("ClaimRun = %v, %v; want claimed", claimed, err)
	}
	if want := (ports.ScheduleRun{Slot: slot, At: at}); !sameRun(run, want) {
		t.Errorf("ClaimRun returned %+v, want %+v", run, want)
	}
	again, claimed, err := s.store.ClaimRun(t.Context(), sc.ID, slot, s.next())
	if err != nil || claimed {
		t.Fatalf("second ClaimRun = %v, %v; want not claimed", claimed, err)
	}
	if !sameRun(again, run) {
		t.Errorf("second ClaimRun returned %+v, want the first claim %+v", again, run)
	}
	// Another schedule's slot at the same time is its own.
	other := s.put(s.newSchedule(s.newServer()))
	if _, claimed, err := s.store.ClaimRun(t.Context(), other.ID, slot, at); err != nil || !claimed {
		t.Errorf("ClaimRun of another schedule's same slot = %v, %v; want claimed", claimed, err)
	}
}

func (s schedulesSuite) raceClaims(t *testing.T) {
	for round := range 5 {
		sc := s.put(s.newSchedule(s.newServer()))
		slot := s.next()
		var won atomic.Int32
		errs := race(50, func(int) time.Time { return s.next() }, func(at time.Time) error {
			_, claimed, err := s.store.ClaimRun(t.Context(), sc.ID, slot, at)
			if claimed {
				won.Add(1)
			}
			return err
		})
		if ok, _, other := tally(errs); ok != 50 {
			t.Errorf("round %d: %d claims answered without error; errors: %v", round, ok, other)
		}
		if n := won.Load(); n != 1 {
			t.Errorf("round %d: %d claims won, want 1", round, n)
		}
		if runs := s.runs(sc.ID, 10); len(runs) != 1 {
			t.Errorf("round %d: %d runs stored, want 1", round, len(runs))
		}
	}
}

func (s schedulesSuite) claimOlderSlot(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	older, newer := s.next(), s.next()
	newest := s.claim(sc.ID, newer)
	run, claimed, err := s.store.ClaimRun(t.Context(), sc.ID, older, s.next())
	if err != nil || claimed {
		t.Fatalf("ClaimRun of an older slot = %v, %v; want not claimed", claimed, err)
	}
	if !sameRun(run, newest) {
		t.Errorf("ClaimRun of an older slot returned %+v, want the newest run %+v", run, newest)
	}
}

func (s schedulesSuite) claimUnknown(t *testing.T) {
	_, _, err := s.store.ClaimRun(t.Context(), ports.NewScheduleID(), s.next(), s.next())
	wantErr(t, "ClaimRun", err, ports.ErrNotFound)
}

func (s schedulesSuite) finishRun(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	run := s.claim(sc.ID, s.next())
	run.Outcome, run.BackupID = ports.RunStarted, ports.NewBackupID()
	s.finish(sc.ID, run)
	got := s.find(sc.ID).LastRun
	if got == nil || !sameRun(*got, run) {
		t.Fatalf("LastRun = %+v, want %+v", got, run)
	}
	late := run
	late.Outcome, late.BackupID, late.Reason = ports.RunFailed, ports.BackupID{}, "too late"
	s.finish(sc.ID, late)
	if got := s.find(sc.ID).LastRun; got == nil || !sameRun(*got, run) {
		t.Errorf("after a second outcome LastRun = %+v, want the first %+v", got, run)
	}
	if runs := s.runs(sc.ID, 10); len(runs) != 1 || !sameRun(runs[0], run) {
		t.Errorf("ListRuns = %+v, want [%+v]", runs, run)
	}
}

func (s schedulesSuite) lastRunIsNewestFinished(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	first := s.claim(sc.ID, s.next())
	first.Outcome, first.Reason = ports.RunSkipped, "a restore was running"
	s.finish(sc.ID, first)
	pending := s.claim(sc.ID, s.next())
	if got := s.find(sc.ID).LastRun; got == nil || !sameRun(*got, first) {
		t.Errorf("LastRun = %+v, want the finished %+v", got, first)
	}
	runs := s.runs(sc.ID, 10)
	if len(runs) != 2 || !sameRun(runs[0], pending) || runs[0].Outcome != "" {
		t.Errorf("ListRuns = %+v, want the unfinished run first", runs)
	}
	due, err := s.store.ListDue(t.Context(), sc.NextRunAt)
	if err != nil || len(due) != 1 || due[0].LastRun == nil || !sameRun(*due[0].LastRun, first) {
		t.Errorf("ListDue = %+v, %v; want the schedule with its last run", due, err)
	}
}

func (s schedulesSuite) finishUnclaimed(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	run := ports.ScheduleRun{Slot: s.next(), At: s.next(), Outcome: ports.RunFailed, Reason: "never claimed"}
	wantErr(t, "FinishRun", s.store.FinishRun(t.Context(), sc.ID, run), ports.ErrNotFound)
	wantErr(t, "FinishRun of an unknown schedule", s.store.FinishRun(t.Context(), ports.NewScheduleID(), run), ports.ErrNotFound)
	claimed := s.claim(sc.ID, s.next())
	claimed.Outcome = "exploded"
	if err := s.store.FinishRun(t.Context(), sc.ID, claimed); err == nil {
		t.Error("FinishRun with an invalid outcome succeeded")
	}
	if got := s.find(sc.ID).LastRun; got != nil {
		t.Errorf("LastRun = %+v, want none", got)
	}
}

func (s schedulesSuite) listRuns(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	var want []ports.ScheduleRun
	for range 5 {
		want = append([]ports.ScheduleRun{s.claim(sc.ID, s.next())}, want...)
	}
	got := s.runs(sc.ID, 3)
	if len(got) != 3 {
		t.Fatalf("ListRuns(3) returned %d runs", len(got))
	}
	for i := range got {
		if !sameRun(got[i], want[i]) {
			t.Errorf("run %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := s.runs(ports.NewScheduleID(), 3); len(got) != 0 {
		t.Errorf("an unknown schedule has %d runs", len(got))
	}
}

func (s schedulesSuite) runsKept(t *testing.T) {
	sc := s.put(s.newSchedule(s.newServer()))
	first := s.next()
	s.claim(sc.ID, first)
	var last ports.ScheduleRun
	for range ports.MaxRunsKept + 4 {
		last = s.claim(sc.ID, s.next())
	}
	got := s.runs(sc.ID, ports.MaxRunsKept+50)
	if len(got) != ports.MaxRunsKept || !sameRun(got[0], last) {
		t.Errorf("ListRuns returned %d runs, newest %+v; want %d, newest %+v", len(got), got[0], ports.MaxRunsKept, last)
	}
	if _, claimed, err := s.store.ClaimRun(t.Context(), sc.ID, first, s.next()); err != nil || claimed {
		t.Errorf("claiming the oldest slot again = %v, %v; want not claimed", claimed, err)
	}
}

// newServer records an order with its primary provision.
func (s schedulesSuite) newServer() server {
	s.t.Helper()
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	if err := s.host.CreateOrder(s.t.Context(), o); err != nil {
		s.t.Fatalf("host: creating order: %v", err)
	}
	return server{order: o, prov: s.newProvision(o.ID)}
}

func (s schedulesSuite) newProvision(order ports.OrderID) ports.Provision {
	s.t.Helper()
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: order, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	if err := s.host.CreateProvision(s.t.Context(), p); err != nil {
		s.t.Fatalf("host: creating provision: %v", err)
	}
	return p
}

// newSchedule returns an enabled schedule of the server; it is not stored.
func (s schedulesSuite) newSchedule(srv server) ports.Schedule {
	at := s.next()
	return ports.Schedule{
		ID: ports.NewScheduleID(), OrderID: srv.order.ID, ProvisionID: srv.prov.ID,
		Cron: "0 4 * * *", TimeZone: "UTC", Enabled: true, NameTemplate: "Nightly {date}",
		Retention: ports.RetentionPolicy{KeepLast: 2, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 6},
		NextRunAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at,
	}
}

func (s schedulesSuite) put(sc ports.Schedule) ports.Schedule {
	s.t.Helper()
	got, err := s.store.Put(s.t.Context(), sc)
	if err != nil {
		s.t.Fatalf("Put: %v", err)
	}
	return got
}

func (s schedulesSuite) find(id ports.ScheduleID) ports.Schedule {
	s.t.Helper()
	sc, err := s.store.Find(s.t.Context(), id)
	if err != nil {
		s.t.Fatalf("Find %s: %v", id, err)
	}
	return sc
}

func (s schedulesSuite) findByProvision(p ports.ProvisionID) ports.Schedule {
	s.t.Helper()
	sc, err := s.store.FindByProvision(s.t.Context(), p)
	if err != nil {
		s.t.Fatalf("FindByProvision %s: %v", p, err)
	}
	return sc
}

func (s schedulesSuite) claim(id ports.ScheduleID, slot time.Time) ports.ScheduleRun {
	s.t.Helper()
	run, claimed, err := s.store.ClaimRun(s.t.Context(), id, slot, s.next())
	if err != nil || !claimed {
		s.t.Fatalf("ClaimRun(%v) = %v, %v; want claimed", slot, claimed, err)
	}
	return run
}

func (s schedulesSuite) finish(id ports.ScheduleID, run ports.ScheduleRun) {
	s.t.Helper()
	if err := s.store.FinishRun(s.t.Context(), id, run); err != nil {
		s.t.Fatalf("FinishRun: %v", err)
	}
}

func (s schedulesSuite) runs(id ports.ScheduleID, limit int) []ports.ScheduleRun {
	s.t.Helper()
	runs, err := s.store.ListRuns(s.t.Context(), id, limit)
	if err != nil {
		s.t.Fatalf("ListRuns: %v", err)
	}
	return runs
}

func isNotFound(err error) bool { return errors.Is(err, ports.ErrNotFound) }

// sameSchedule compares schedules with times as instants. An empty list of
// excludes equals none.
func sameSchedule(a, b ports.Schedule) bool {
	if !slices.Equal(a.Excludes, b.Excludes) {
		return false
	}
	norm := func(sc ports.Schedule) ports.Schedule {
		sc.Excludes = nil
		sc.NextRunAt, sc.CreatedAt, sc.UpdatedAt = sc.NextRunAt.UTC(), sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
		if sc.LastRun != nil {
			r := runInUTC(*sc.LastRun)
			sc.LastRun = &r
		}
		return sc
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func sameRun(a, b ports.ScheduleRun) bool { return runInUTC(a) == runInUTC(b) }

func runInUTC(r ports.ScheduleRun) ports.ScheduleRun {
	r.Slot, r.At = r.Slot.UTC(), r.At.UTC()
	return r
}

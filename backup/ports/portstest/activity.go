package portstest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ActivityStores are the stores that write one activity log, and the log.
type ActivityStores struct {
	Repository ports.Repository
	Schedules  ports.Schedules
	Log        ports.ActivityLog
}

// ActivityHarness describes a ports.ActivityLog implementation, with the
// Repository and Schedules that write it, to the contract suite.
type ActivityHarness struct {
	// New returns a repository and a schedules store that record their events
	// in the returned log, all three empty, for one subtest, and the Host whose
	// orders, provisions and assets they may refer to. It registers its own
	// cleanup. Subtests run in parallel, so New must be safe to call
	// concurrently.
	New func(t *testing.T) (ActivityStores, Host)
}

// RunActivityTests runs the ActivityLog contract suite, and the outbox rule
// behind it: each change the Repository or the Schedules store makes that is
// an event (ports.BackupChange, a delete, ports.NewRunActivity) is recorded
// exactly once, with the actor the call's context carries, and nothing else
// is. Each behaviour runs in a parallel subtest on stores of its own.
func RunActivityTests(t *testing.T, h ActivityHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: ActivityHarness.New is nil")
	}
	setUp := func(t *testing.T) activitySuite {
		t.Parallel()
		stores, host := h.New(t)
		return activitySuite{
			t: t, stores: stores, host: host, tick: new(atomic.Int64),
			repo: repositorySuite{t: t, repo: stores.Repository, host: host, tick: new(atomic.Int64)},
		}
	}
	run(t, setUp, []behaviour[activitySuite]{
		{"each change of a backup is one event of its type, with its actor and reason, newest first", activitySuite.lifecycle},
		{"a refused change, a heartbeat, a claim, a fence and a lock to the value it has record nothing", activitySuite.noEventWithoutChange},
		{"a change made without an actor is the system's", activitySuite.defaultActor},
		{"a skipped or failed run is one event of the schedule, and a started run or a second outcome none", activitySuite.runs},
		{"the log is paged newest first by the ID before which a page starts", activitySuite.paging},
		{"an order's log holds its own events only", activitySuite.ordersApart},
		{"activity since an ID is oldest first, of every order or of one, at most the limit", activitySuite.since},
		{"the latest ID is the newest event's, and 0 before the first", activitySuite.latest},
		{"50 concurrent changes of 10 orders are 50 events with distinct, growing IDs", activitySuite.concurrent},
	})
}

// activitySuite is one behaviour's stores, host and clock; repo reuses the
// Repository suite's helpers on the same repository.
type activitySuite struct {
	t      *testing.T
	stores ActivityStores
	host   Host
	tick   *atomic.Int64
	repo   repositorySuite
}

// as returns the test's context carrying actor.
func (s activitySuite) as(actor ports.Actor) context.Context {
	return ports.WithActor(s.t.Context(), actor)
}

// want is an event as the suite expects it: what it can predict.
type want struct {
	typ    ports.ActivityType
	backup ports.Backup // OrderID, ProvisionID, ID and Name
	actor  ports.Actor
	reason string
}

func (s activitySuite) lifecycle(t *testing.T) {
	srv := s.repo.newServer()
	alice, sched := ports.UserActor(srv.order.OwnerID), ports.ScheduleActor(ports.NewScheduleID())
	start := time.Now().Add(-time.Minute)

	b := s.repo.newBackup(srv)
	b.Name = "Before the 1.21 update"
	must(t, "Create", s.stores.Repository.Create(s.as(alice), b, defaultLimit))
	ready := b
	ready.Status, ready.CompletedAt, ready.Progress = ports.StatusReady, s.repo.next(), nil
	must(t, "Update to ready", s.stores.Repository.Update(s.as(alice), ready, ports.StatusCreating))
	restoring := ready
	restoring.Status = ports.StatusRestoring
	must(t, "Update to restoring", s.stores.Repository.Update(s.as(sched), restoring, ports.StatusReady))
	must(t, "Update back to ready", s.stores.Repository.Update(s.as(sched), ready, ports.StatusRestoring))
	must(t, "Update to restoring again", s.stores.Repository.Update(s.as(alice), restoring, ports.StatusReady))
	failedRestore := ready
	failedRestore.Error = "the archive is damaged"
	must(t, "Update to ready with an error", s.stores.Repository.Update(s.as(alice), failedRestore, ports.StatusRestoring))
	_, err := s.stores.Repository.SetLocked(s.as(alice), b.ID, true)
	must(t, "SetLocked true", err)
	_, err = s.stores.Repository.SetLocked(s.as(alice), b.ID, false)
	must(t, "SetLocked false", err)
	_, err = s.stores.Repository.ClaimForDelete(s.as(ports.SystemActor), b.ID, false)
	must(t, "ClaimForDelete", err)
	must(t, "Delete", s.stores.Repository.Delete(s.as(ports.SystemActor), b.ID))

	f := s.repo.newBackup(srv)
	must(t, "Create", s.stores.Repository.Create(s.as(sched), f, defaultLimit))
	failed := f
	failed.Status, failed.Error, failed.CompletedAt = ports.StatusFailed, "the game server did not answer", s.repo.next()
	must(t, "Update to failed", s.stores.Repository.Update(s.as(sched), failed, ports.StatusCreating))

	got := s.list(srv.order.ID, 0, 100)
	s.assertEvents(got,
		want{ports.ActivityBackupFailed, f, sched, "the game server did not answer"},
		want{ports.ActivityBackupCreated, f, sched, ""},
		want{ports.ActivityBackupDeleted, b, ports.SystemActor, ""},
		want{ports.ActivityBackupUnlocked, b, alice, ""},
		want{ports.ActivityBackupLocked, b, alice, ""},
		want{ports.ActivityRestoreFailed, b, alice, "the archive is damaged"},
		want{ports.ActivityRestoreStarted, b, alice, ""},
		want{ports.ActivityRestoreFinished, b, sched, ""},
		want{ports.ActivityRestoreStarted, b, sched, ""},
		want{ports.ActivityBackupReady, b, alice, ""},
		want{ports.ActivityBackupCreated, b, alice, ""},
	)
	for _, a := range got {
		if a.At.Before(start) || a.At.After(time.Now().Add(time.Minute)) {
			t.Errorf("event %d (%s) is at %v, not at the time it was recorded", a.ID, a.Type, a.At)
		}
	}
}

func (s activitySuite) noEventWithoutChange(t *testing.T) {
	srv := s.repo.newServer()
	ctx := s.as(ports.UserActor(srv.order.OwnerID))
	b := s.repo.create(srv)
	f := s.repo.fence(s.repo.newServer().order.ID) // another order's: this one's slot stays free

	refused := s.repo.newBackup(srv)
	if err := s.stores.Repository.Create(ctx, refused, defaultLimit); err == nil {
		t.Fatal("a second create while one is running was accepted")
	}
	ready := b
	ready.Status = ports.StatusReady
	if err := s.stores.Repository.Update(ctx, ready, ports.StatusRestoring); err == nil {
		t.Fatal("an update from a status the backup is not in was accepted")
	}
	must(t, "Heartbeat", s.stores.Repository.Heartbeat(ctx, b.ID, ports.StatusCreating, s.repo.next(), &ports.Progress{DoneBytes: 10, TotalBytes: 100, StartedAt: b.CreatedAt}))
	progress := b
	progress.Progress = &ports.Progress{DoneBytes: 20, TotalBytes: 100, StartedAt: b.CreatedAt}
	must(t, "Update in place", s.stores.Repository.Update(ctx, progress, ports.StatusCreating))
	if err := s.stores.Repository.Delete(ctx, b.ID); err == nil {
		t.Fatal("deleting an unclaimed backup was accepted")
	}
	must(t, "Update to ready", s.stores.Repository.Update(ctx, ready, ports.StatusCreating))
	latest := s.latestID()
	_, err := s.stores.Repository.SetLocked(ctx, b.ID, false)
	must(t, "SetLocked to the value it has", err)
	_, err = s.stores.Repository.ClaimForDelete(ctx, b.ID, false)
	must(t, "ClaimForDelete", err)
	if _, err := s.stores.Repository.SetLocked(ctx, b.ID, true); err == nil {
		t.Fatal("locking a claimed backup was accepted")
	}
	must(t, "HeartbeatFence", s.stores.Repository.HeartbeatFence(ctx, f.OrderID, f.ID, s.repo.next()))
	must(t, "ReleaseFence", s.stores.Repository.ReleaseFence(ctx, f.OrderID, f.ID))

	if got := s.latestID(); got != latest {
		t.Errorf("the latest ID moved from %d to %d without a change that is an event", latest, got)
	}
	got := s.list(srv.order.ID, 0, 100)
	s.assertEvents(got,
		want{ports.ActivityBackupReady, b, ports.UserActor(srv.order.OwnerID), ""},
		want{ports.ActivityBackupCreated, b, ports.SystemActor, ""}, // the helper's bare context
	)
}

func (s activitySuite) defaultActor(t *testing.T) {
	srv := s.repo.newServer()
	b := s.repo.create(srv) // the Repository suite's helpers use the bare test context
	s.assertEvents(s.list(srv.order.ID, 0, 10), want{ports.ActivityBackupCreated, b, ports.SystemActor, ""})
}

func (s activitySuite) runs(t *testing.T) {
	srv := s.repo.newServer()
	sch := ports.Schedule{
		ID: ports.NewScheduleID(), OrderID: srv.order.ID, ProvisionID: srv.prov.ID, Cron: "@daily", TimeZone: "UTC",
		Enabled: true, NameTemplate: "Nightly {date}", NextRunAt: s.repo.next(),
	}
	sc, err := s.stores.Schedules.Put(s.t.Context(), sch)
	must(t, "Put", err)
	// The context's actor does not matter: a run is its schedule's.
	ctx := s.as(ports.UserActor(srv.order.OwnerID))
	finish := func(outcome ports.RunOutcome, reason string, backup ports.BackupID) ports.ScheduleRun {
		t.Helper()
		slot := s.repo.next()
		run, claimed, err := s.stores.Schedules.ClaimRun(ctx, sc.ID, slot, slot)
		if err != nil || !claimed {
			t.Fatalf("ClaimRun = %v, %v", claimed, err)
		}
		run.Outcome, run.Reason, run.BackupID = outcome, reason, backup
		must(t, "FinishRun", s.stores.Schedules.FinishRun(ctx, sc.ID, run))
		return run
	}
	finish(ports.RunSkipped, "a backup was being made", ports.BackupID{})
	started := finish(ports.RunStarted, "", ports.NewBackupID())
	failed := finish(ports.RunFailed, "every backup is locked", ports.BackupID{})
	// A second outcome of a run stays unrecorded, and so is not an event either.
	for _, again := range []ports.ScheduleRun{started, failed} {
		again.Outcome, again.Reason = ports.RunSkipped, "too late"
		must(t, "FinishRun again", s.stores.Schedules.FinishRun(ctx, sc.ID, again))
	}

	got := s.list(srv.order.ID, 0, 10)
	actor := ports.ScheduleActor(sc.ID)
	server := ports.Backup{OrderID: srv.order.ID, ProvisionID: srv.prov.ID}
	s.assertEvents(got,
		want{ports.ActivityScheduleRunFailed, server, actor, "every backup is locked"},
		want{ports.ActivityScheduleRunSkipped, server, actor, "a backup was being made"},
	)
}

func (s activitySuite) paging(t *testing.T) {
	srv := s.repo.newServer()
	var ids []ports.ActivityID
	for range 4 {
		s.repo.ready(srv) // two events each
	}
	all := s.list(srv.order.ID, 0, 100)
	if len(all) != 8 {
		t.Fatalf("4 backups made ready are %d events, want 8", len(all))
	}
	for _, a := range all {
		ids = append(ids, a.ID)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("IDs %v are not newest first", ids)
		}
	}
	var paged []ports.ActivityID
	before := ports.ActivityID(0)
	for page := 0; ; page++ {
		got := s.list(srv.order.ID, before, 3)
		if len(got) > 3 {
			t.Fatalf("a page of at most 3 holds %d", len(got))
		}
		for _, a := range got {
			paged = append(paged, a.ID)
		}
		if len(got) < 3 || page > 5 {
			break
		}
		before = got[len(got)-1].ID
	}
	if !slices.Equal(paged, ids) {
		t.Errorf("pages of 3 gave %v, want %v", paged, ids)
	}
	if got := s.list(srv.order.ID, ids[2], 100); len(got) != 5 || got[0].ID != ids[3] {
		t.Errorf("before the third newest: %d events from %v, want 5 from %d", len(got), idsOf(got), ids[3])
	}
	if got := s.list(srv.order.ID, ids[len(ids)-1], 100); len(got) != 0 {
		t.Errorf("before the oldest: %v, want none", idsOf(got))
	}
}

func (s activitySuite) ordersApart(t *testing.T) {
	one, two := s.repo.newServer(), s.repo.newServer()
	b1 := s.repo.create(one)
	b2 := s.repo.create(two)
	s.assertEvents(s.list(one.order.ID, 0, 10), want{ports.ActivityBackupCreated, b1, ports.SystemActor, ""})
	s.assertEvents(s.list(two.order.ID, 0, 10), want{ports.ActivityBackupCreated, b2, ports.SystemActor, ""})
	if got := s.list(ports.NewOrderID(), 0, 10); len(got) != 0 {
		t.Errorf("an unknown order has events %v", idsOf(got))
	}
}

func (s activitySuite) since(t *testing.T) {
	from := s.latestID()
	one, two := s.repo.newServer(), s.repo.newServer()
	s.repo.ready(one)
	s.repo.ready(two)
	s.repo.create(one)
	mine := func(list []ports.Activity) []ports.Activity {
		return slices.DeleteFunc(list, func(a ports.Activity) bool {
			return a.OrderID != one.order.ID && a.OrderID != two.order.ID
		})
	}
	all := mine(s.activitySince(from, ports.OrderID{}, 100))
	if len(all) != 5 {
		t.Fatalf("ActivitySince(%d) returned %d of the test's events, want 5", from, len(all))
	}
	orders := make([]ports.OrderID, len(all))
	for i, a := range all {
		orders[i] = a.OrderID
		if i > 0 && a.ID <= all[i-1].ID {
			t.Errorf("ActivitySince is not oldest first: %v", idsOf(all))
		}
	}
	wantOrders := []ports.OrderID{one.order.ID, one.order.ID, two.order.ID, two.order.ID, one.order.ID}
	if !slices.Equal(orders, wantOrders) {
		t.Errorf("ActivitySince gave the orders' events in the order %v, want %v", orders, wantOrders)
	}
	ofOne := s.activitySince(from, one.order.ID, 100)
	if got := idsOf(ofOne); !slices.Equal(got, []ports.ActivityID{all[0].ID, all[1].ID, all[4].ID}) {
		t.Errorf("ActivitySince of one order: %v, want %v", got, []ports.ActivityID{all[0].ID, all[1].ID, all[4].ID})
	}
	if got := idsOf(s.activitySince(all[1].ID, one.order.ID, 1)); !slices.Equal(got, []ports.ActivityID{all[4].ID}) {
		t.Errorf("ActivitySince(%d) of one order, limit 1: %v, want [%d]", all[1].ID, got, all[4].ID)
	}
	if got := s.activitySince(all[4].ID, ports.OrderID{}, 100); len(mine(got)) != 0 {
		t.Errorf("ActivitySince the newest: %v, want none", idsOf(got))
	}
}

func (s activitySuite) latest(t *testing.T) {
	if got := s.latestID(); got != 0 {
		t.Errorf("LatestActivity of an empty log = %d, want 0", got)
	}
	srv := s.repo.newServer()
	s.repo.ready(srv)
	events := s.list(srv.order.ID, 0, 10)
	if got := s.latestID(); len(events) == 0 || got != events[0].ID {
		t.Errorf("LatestActivity = %d, want the newest event's ID, of %v", got, idsOf(events))
	}
}

func (s activitySuite) concurrent(t *testing.T) {
	from := s.latestID()
	servers := make([]server, 10)
	for i := range servers {
		servers[i] = s.repo.newServer()
	}
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() {
			srv := servers[i%len(servers)]
			b := s.repo.newBackup(srv)
			b.Status = ports.StatusCreating
			// Every create for one order but the first is refused; the refused
			// ones must leave nothing in the log. Locks always apply.
			if err := s.stores.Repository.Create(s.t.Context(), b, defaultLimit); err == nil {
				return
			}
			list, err := s.stores.Repository.ListByOrder(s.t.Context(), srv.order.ID)
			if err != nil || len(list) == 0 {
				errs[i] = fmt.Errorf("ListByOrder: %d backups, %v", len(list), err)
				return
			}
			_, errs[i] = s.stores.Repository.SetLocked(s.t.Context(), list[0].ID, i%2 == 0)
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "a concurrent change", err)
	}
	var want int
	for _, srv := range servers {
		want += len(s.list(srv.order.ID, 0, 100))
	}
	got := slices.DeleteFunc(s.activitySince(from, ports.OrderID{}, 1000), func(a ports.Activity) bool {
		return !slices.ContainsFunc(servers, func(srv server) bool { return srv.order.ID == a.OrderID })
	})
	if len(got) != want {
		t.Fatalf("ActivitySince returned %d events, the orders' logs hold %d", len(got), want)
	}
	if want < 10 {
		t.Errorf("only %d events for 10 orders' creates", want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatalf("IDs do not grow: %v", idsOf(got))
		}
	}
}

func (s activitySuite) list(order ports.OrderID, before ports.ActivityID, limit int) []ports.Activity {
	s.t.Helper()
	list, err := s.stores.Log.ListActivity(s.t.Context(), order, before, limit)
	if err != nil {
		s.t.Fatalf("ListActivity: %v", err)
	}
	return list
}

func (s activitySuite) activitySince(after ports.ActivityID, order ports.OrderID, limit int) []ports.Activity {
	s.t.Helper()
	list, err := s.stores.Log.ActivitySince(s.t.Context(), after, order, limit)
	if err != nil {
		s.t.Fatalf("ActivitySince: %v", err)
	}
	return list
}

func (s activitySuite) latestID() ports.ActivityID {
	s.t.Helper()
	id, err := s.stores.Log.LatestActivity(s.t.Context())
	if err != nil {
		s.t.Fatalf("LatestActivity: %v", err)
	}
	return id
}

// assertEvents checks got against want, newest first, field by field, and
// that the IDs fall newest first.
func (s activitySuite) assertEvents(got []ports.Activity, want ...want) {
	s.t.Helper()
	if len(got) != len(want) {
		types := make([]ports.ActivityType, len(got))
		for i, a := range got {
			types[i] = a.Type
		}
		s.t.Fatalf("the log holds %d events %v, want %d", len(got), types, len(want))
	}
	for i, w := range want {
		a := got[i]
		if i > 0 && a.ID >= got[i-1].ID {
			s.t.Errorf("event %d has ID %d, not below the newer one's %d", i, a.ID, got[i-1].ID)
		}
		if a.Type != w.typ || a.OrderID != w.backup.OrderID || a.ProvisionID != w.backup.ProvisionID ||
			a.BackupID != w.backup.ID || a.BackupName != w.backup.Name || a.Actor != w.actor || a.Reason != w.reason {
			s.t.Errorf("event %d:\n got %s order %s provision %s backup %s %q by %+v, reason %q\nwant %s order %s provision %s backup %s %q by %+v, reason %q",
				i, a.Type, a.OrderID, a.ProvisionID, a.BackupID, a.BackupName, a.Actor, a.Reason,
				w.typ, w.backup.OrderID, w.backup.ProvisionID, w.backup.ID, w.backup.Name, w.actor, w.reason)
		}
		if a.ID <= 0 || a.At.IsZero() {
			s.t.Errorf("event %d (%s) has ID %d and time %v, want both set", i, a.Type, a.ID, a.At)
		}
	}
}

func idsOf(list []ports.Activity) []ports.ActivityID {
	ids := make([]ports.ActivityID, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	return ids
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

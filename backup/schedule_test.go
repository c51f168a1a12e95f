package backup_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// nightly is the settings of a schedule that runs every day at 04:00 UTC.
func nightly() backup.ScheduleSettings {
	return backup.ScheduleSettings{Cron: "0 4 * * *", Enabled: true}
}

// schedule gives the twin's game server a schedule as its owner.
func (tw *twin) schedule(set backup.ScheduleSettings) ports.Schedule {
	tw.t.Helper()
	sc, err := tw.svc.PutSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, set)
	if err != nil {
		tw.t.Fatalf("PutSchedule: %v", err)
	}
	return sc
}

// storedSchedule returns the game server's schedule as the store holds it.
func (tw *twin) storedSchedule() ports.Schedule {
	tw.t.Helper()
	sc, err := tw.schedules.FindByProvision(context.Background(), tw.gameServer.ID)
	if err != nil {
		tw.t.Fatalf("the game server's schedule: %v", err)
	}
	return sc
}

// due returns the runs due now, failing the test on error.
func (tw *twin) due() []backup.ScheduledRun {
	tw.t.Helper()
	runs, err := tw.svc.DueScheduledRuns(context.Background())
	if err != nil {
		tw.t.Fatalf("DueScheduledRuns: %v", err)
	}
	return runs
}

// runDue runs the one due run as the River adapter would: advance, then run.
// It returns the run.
func (tw *twin) runDue() backup.ScheduledRun {
	tw.t.Helper()
	runs := tw.due()
	if len(runs) != 1 {
		tw.t.Fatalf("%d runs due, want 1: %+v", len(runs), runs)
	}
	must(tw.t, tw.svc.AdvanceSchedule(context.Background(), runs[0]))
	must(tw.t, tw.svc.RunScheduledBackup(context.Background(), runs[0]))
	return runs[0]
}

// lastRun returns the schedule's last run, failing the test if it has none.
func (tw *twin) lastRun() ports.ScheduleRun {
	tw.t.Helper()
	sc := tw.storedSchedule()
	if sc.LastRun == nil {
		tw.t.Fatal("the schedule has no last run")
	}
	return *sc.LastRun
}

// recordScheduled writes a ready backup of the game server made by schedule
// (zero: by hand) at the given time.
func (tw *twin) recordScheduled(schedule ports.ScheduleID, at time.Time, locked bool) ports.Backup {
	tw.t.Helper()
	ctx := context.Background()
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: tw.order.ID, ProvisionID: tw.gameServer.ID, Name: "recorded",
		Status: ports.StatusCreating, CreatedAt: at, HeartbeatAt: at, ScheduleID: schedule, Locked: locked}
	must(tw.t, tw.repo.Create(ctx, b, 1000))
	b.Status, b.AssetID, b.CompletedAt = ports.StatusReady, ports.ArchiveAssetID(b.ID), at
	must(tw.t, tw.repo.Update(ctx, b, ports.StatusCreating))
	return tw.stored(b.ID)
}

// backupIDs lists the IDs of the game server's backups, newest first.
func (tw *twin) backupIDs() []ports.BackupID {
	tw.t.Helper()
	list, err := tw.repo.ListByProvision(context.Background(), tw.gameServer.ID)
	must(tw.t, err)
	ids := make([]ports.BackupID, len(list))
	for i, b := range list {
		ids[i] = b.ID
	}
	return ids
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPutSchedule(t *testing.T) {
	t.Run("computes the next run from the clock, in UTC by default, with the default name template", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T10:00:00Z"))
		sc := tw.schedule(nightly())
		if want := at("2026-05-02T04:00:00Z"); !sc.NextRunAt.Equal(want) {
			t.Errorf("NextRunAt = %v, want %v", sc.NextRunAt, want)
		}
		if sc.TimeZone != "UTC" || sc.NameTemplate != backup.DefaultNameTemplate || !sc.Enabled || sc.LastRun != nil {
			t.Errorf("schedule %+v", sc)
		}
	})
	t.Run("a paused schedule has no next run", func(t *testing.T) {
		tw := newTwin(t)
		set := nightly()
		set.Enabled = false
		if sc := tw.schedule(set); !sc.NextRunAt.IsZero() || sc.Enabled {
			t.Errorf("paused schedule %+v", sc)
		}
		if runs := tw.due(); len(runs) != 0 {
			t.Errorf("a paused schedule is due: %+v", runs)
		}
	})
	t.Run("replacing keeps the schedule's ID and moves its next run", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T10:00:00Z"))
		first := tw.schedule(nightly())
		second := tw.schedule(backup.ScheduleSettings{Cron: "@hourly", TimeZone: "Europe/Berlin", Enabled: true,
			NameTemplate: "Hourly {time}", Retention: ports.RetentionPolicy{KeepLast: 5}})
		if second.ID != first.ID || !second.NextRunAt.Equal(at("2026-05-01T11:00:00Z")) || second.Retention.KeepLast != 5 {
			t.Errorf("after replacing: %+v, want ID %s and the next hour", second, first.ID)
		}
	})
	t.Run("a staff user may set the schedule", func(t *testing.T) {
		tw := newTwin(t)
		_, err := tw.svc.PutSchedule(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID, nightly())
		must(t, err)
	})
}

func TestPutScheduleRefusesInvalidSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*backup.ScheduleSettings)
		says string
	}{
		{"a minute out of range", func(s *backup.ScheduleSettings) { s.Cron = "61 * * * *" },
			`cron expression "61 * * * *": end of range (61) above maximum (59): 61`},
		{"too few fields", func(s *backup.ScheduleSettings) { s.Cron = "0 4 * *" }, `cron expression "0 4 * *": expected exactly 5 fields`},
		{"no expression", func(s *backup.ScheduleSettings) { s.Cron = "  " }, "a cron expression is required"},
		{"an unknown descriptor", func(s *backup.ScheduleSettings) { s.Cron = "@fortnightly" }, `cron expression "@fortnightly"`},
		{"a negative interval", func(s *backup.ScheduleSettings) { s.Cron = "@every -1h" }, "the interval must be at least 1s"},
		{"an interval below a second", func(s *backup.ScheduleSettings) { s.Cron = "@every 10ms" }, "the interval must be at least 1s"},
		{"a zone inside the expression", func(s *backup.ScheduleSettings) { s.Cron = "CRON_TZ=Europe/Berlin 0 4 * * *" }, "not in the expression"},
		{"a date that never comes", func(s *backup.ScheduleSettings) { s.Cron = "0 0 30 2 *" }, "never fires"},
		{"an unknown time zone", func(s *backup.ScheduleSettings) { s.TimeZone = "Mars/Olympus_Mons" }, `time zone "Mars/Olympus_Mons" is not a known IANA time zone`},
		{"the machine's local zone", func(s *backup.ScheduleSettings) { s.TimeZone = "Local" }, `time zone "Local"`},
		{"a path for a zone", func(s *backup.ScheduleSettings) { s.TimeZone = "../../etc/passwd" }, "is not a known IANA time zone"},
		{"an unknown placeholder", func(s *backup.ScheduleSettings) { s.NameTemplate = "Nightly {weekday}" }, "unknown placeholder {weekday}"},
		{"a template giving too long a name", func(s *backup.ScheduleSettings) { s.NameTemplate = strings.Repeat("x", 101) }, "gives a name that is not valid"},
		{"a template with a control character", func(s *backup.ScheduleSettings) { s.NameTemplate = "Nightly\x07" }, "gives a name that is not valid"},
		{"a negative retention count", func(s *backup.ScheduleSettings) { s.Retention.KeepDaily = -1 }, "retention keep_daily -1"},
		{"a huge retention count", func(s *backup.ScheduleSettings) { s.Retention.KeepLast = 1_000_000 }, "retention keep_last 1000000"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			tw := newTwin(t)
			set := nightly()
			tc.edit(&set)
			_, err := tw.svc.PutSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, set)
			assertIs(t, err, backup.ErrInvalidSchedule)
			assertNotInfra(t, err)
			if errors.Is(err, backup.ErrInvalidName) {
				t.Errorf("error %v also claims to be an invalid backup name", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if _, err := tw.schedules.FindByProvision(context.Background(), tw.gameServer.ID); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("a refused put stored a schedule (%v)", err)
			}
		})
	}
}

func TestScheduleMethodsRefuse(t *testing.T) {
	calls := map[string]func(tw *twin, r request) (any, error){
		"GetSchedule": func(tw *twin, r request) (any, error) {
			return tw.svc.GetSchedule(context.Background(), r.user, r.order, r.provision)
		},
		"PutSchedule": func(tw *twin, r request) (any, error) {
			return tw.svc.PutSchedule(context.Background(), r.user, r.order, r.provision, nightly())
		},
		"DeleteSchedule": func(tw *twin, r request) (any, error) {
			return nil, tw.svc.DeleteSchedule(context.Background(), r.user, r.order, r.provision)
		},
		"ListScheduleRuns": func(tw *twin, r request) (any, error) {
			return tw.svc.ListScheduleRuns(context.Background(), r.user, r.order, r.provision)
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			prepare := func(tw *twin) request {
				tw.schedule(nightly())
				return tw.request(ports.Backup{})
			}
			cases := authErrorCases()
			if name != "PutSchedule" {
				cases = append(cases, errorCase{name: "reports a game server without a schedule", want: backup.ErrScheduleNotFound,
					setup: func(tw *twin, _ *request) {
						must(t, tw.svc.DeleteSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID))
					}})
			}
			cases = append(cases, errorCase{name: "wraps a failing store as a database error", infra: true, want: backup.ErrDatabase,
				setup: func(tw *twin, _ *request) {
					tw.inject("Schedules.FindByProvision", fault{err: errInfra})
					tw.inject("Schedules.Put", fault{err: errInfra})
					tw.inject("Schedules.DeleteByProvision", fault{err: errInfra})
				}})
			if name == "DeleteSchedule" {
				cases = cases[:len(cases)-1] // DeleteByProvision is the twin's own
			}
			refused(t, cases, prepare, call, nil)
		})
		t.Run(name+" without a schedule store reports schedules unavailable", func(t *testing.T) {
			tw := newTwin(t, func(c *twinConfig) { c.noSchedules = true })
			_, err := call(tw, tw.request(ports.Backup{}))
			assertIs(t, err, backup.ErrSchedulesUnavailable)
		})
	}
	t.Run("the scheduling calls without a schedule store report schedules unavailable", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.noSchedules = true })
		_, err := tw.svc.DueScheduledRuns(context.Background())
		assertIs(t, err, backup.ErrSchedulesUnavailable)
		assertIs(t, tw.svc.AdvanceSchedule(context.Background(), backup.ScheduledRun{}), backup.ErrSchedulesUnavailable)
		assertIs(t, tw.svc.RunScheduledBackup(context.Background(), backup.ScheduledRun{}), backup.ErrSchedulesUnavailable)
	})
}

func TestDeleteSchedule(t *testing.T) {
	tw := newTwin(t)
	sc := tw.schedule(nightly())
	tw.clock.Set(sc.NextRunAt)
	run := tw.runDue()
	made := tw.settled(tw.lastRun().BackupID)
	must(t, tw.svc.DeleteSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID))
	_, err := tw.svc.GetSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID)
	assertIs(t, err, backup.ErrScheduleNotFound)
	tw.stored(made.ID) // the schedule's backups stay
	t.Run("a run of the deleted schedule runs nothing and records nothing", func(t *testing.T) {
		run.Slot = run.Slot.Add(24 * time.Hour)
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		if ids := tw.backupIDs(); len(ids) != 1 {
			t.Errorf("%d backups after a run of a deleted schedule, want 1", len(ids))
		}
	})
}

func TestDueScheduledRuns(t *testing.T) {
	t.Run("after an outage a schedule runs once, for its latest slot, and moves on past now", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T09:30:00Z"))
		sc := tw.schedule(backup.ScheduleSettings{Cron: "@hourly", Enabled: true})
		tw.clock.Set(at("2026-05-01T15:42:00Z")) // 10:00 to 15:00 were missed
		runs := tw.due()
		want := backup.ScheduledRun{ScheduleID: sc.ID, Slot: at("2026-05-01T15:00:00Z"), Due: at("2026-05-01T10:00:00Z")}
		if len(runs) != 1 || runs[0] != want {
			t.Fatalf("due runs %+v, want [%+v]", runs, want)
		}
		must(t, tw.svc.AdvanceSchedule(context.Background(), runs[0]))
		if got := tw.storedSchedule().NextRunAt; !got.Equal(at("2026-05-01T16:00:00Z")) {
			t.Errorf("NextRunAt = %v, want 16:00", got)
		}
		if runs := tw.due(); len(runs) != 0 {
			t.Errorf("still due after advancing: %+v", runs)
		}
		must(t, tw.svc.RunScheduledBackup(context.Background(), runs[0]))
		tw.settled(tw.lastRun().BackupID)
		if n := len(tw.backupIDs()); n != 1 {
			t.Errorf("%d backups after catching up, want 1", n)
		}
	})
	t.Run("an @every schedule catches up on its own beat", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T10:00:00Z"))
		tw.schedule(backup.ScheduleSettings{Cron: "@every 5s", Enabled: true})
		tw.clock.Set(at("2026-05-01T10:00:27Z"))
		runs := tw.due()
		if len(runs) != 1 || !runs[0].Slot.Equal(at("2026-05-01T10:00:25Z")) || !runs[0].Due.Equal(at("2026-05-01T10:00:05Z")) {
			t.Errorf("due runs %+v, want the slot at 10:00:25", runs)
		}
	})
	t.Run("a frequent schedule after a year's outage is caught up in one step", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2025-05-01T10:00:30Z"))
		tw.schedule(backup.ScheduleSettings{Cron: "* * * * *", Enabled: true})
		tw.clock.Set(at("2026-05-01T10:00:30Z"))
		started := time.Now()
		runs := tw.due()
		if len(runs) != 1 || !runs[0].Slot.Equal(at("2026-05-01T10:00:00Z")) {
			t.Errorf("due runs %+v, want the slot at 10:00 a year on", runs)
		}
		if d := time.Since(started); d > 5*time.Second {
			t.Errorf("finding the slot took %v", d)
		}
	})
	t.Run("an advance from a time the schedule no longer has changes nothing", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T09:30:00Z"))
		tw.schedule(backup.ScheduleSettings{Cron: "@hourly", Enabled: true})
		tw.clock.Set(at("2026-05-01T10:00:00Z"))
		run := tw.due()[0]
		tw.clock.Set(at("2026-05-01T10:30:00Z"))
		tw.schedule(backup.ScheduleSettings{Cron: "@daily", Enabled: true}) // replaced meanwhile
		must(t, tw.svc.AdvanceSchedule(context.Background(), run))
		if got := tw.storedSchedule().NextRunAt; !got.Equal(at("2026-05-02T00:00:00Z")) {
			t.Errorf("NextRunAt = %v, want the replacement's midnight", got)
		}
	})
	t.Run("wraps a failing store as a database error", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Schedules.ListDue", fault{err: errInfra})
		_, err := tw.svc.DueScheduledRuns(context.Background())
		assertIs(t, err, backup.ErrDatabase)
		assertIs(t, err, errInfra)
	})
}

func TestScheduleTimeZones(t *testing.T) {
	// Europe/Berlin moves to summer time at 01:00 UTC on 29 March 2026 and back
	// at 01:00 UTC on 25 October 2026: 04:00 in Berlin is 03:00 UTC in winter
	// and 02:00 UTC in summer.
	tw := newTwin(t)
	tw.clock.Set(at("2026-03-27T12:00:00Z"))
	tw.schedule(backup.ScheduleSettings{Cron: "0 4 * * *", TimeZone: "Europe/Berlin", Enabled: true, NameTemplate: "Nightly {date} {time}"})
	var slots []time.Time
	walk := func(from string, days int) {
		tw.clock.Set(at(from))
		for range days {
			next := tw.storedSchedule().NextRunAt
			tw.clock.Set(next.Add(time.Minute))
			run := tw.due()[0]
			must(t, tw.svc.AdvanceSchedule(context.Background(), run))
			slots = append(slots, run.Slot)
		}
	}
	walk("2026-03-27T12:00:00Z", 3)
	if want := []time.Time{at("2026-03-28T03:00:00Z"), at("2026-03-29T02:00:00Z"), at("2026-03-30T02:00:00Z")}; !slices.Equal(slots, want) {
		t.Errorf("slots in March %v, want %v", slots, want)
	}
	tw.schedule(backup.ScheduleSettings{Cron: "0 4 * * *", TimeZone: "Europe/Berlin", Enabled: true}) // recomputes from the clock
	slots = nil
	tw.clock.Set(at("2026-10-24T00:00:00Z"))
	tw.schedule(backup.ScheduleSettings{Cron: "0 4 * * *", TimeZone: "Europe/Berlin", Enabled: true, NameTemplate: "Nightly {date} {time}"})
	walk("2026-10-24T00:00:00Z", 2)
	if want := []time.Time{at("2026-10-24T02:00:00Z"), at("2026-10-25T03:00:00Z")}; !slices.Equal(slots, want) {
		t.Errorf("slots in October %v, want %v", slots, want)
	}
	t.Run("the backup is named in the schedule's zone", func(t *testing.T) {
		tw.clock.Set(at("2026-10-26T03:05:00Z"))
		tw.runDue()
		b := tw.settled(tw.lastRun().BackupID)
		if b.Name != "Nightly 2026-10-26 04:00" {
			t.Errorf("name %q, want Nightly 2026-10-26 04:00", b.Name)
		}
	})
}

func TestRunScheduledBackup(t *testing.T) {
	t.Run("creates a backup made by the schedule and records it as started", func(t *testing.T) {
		tw := newTwin(t)
		tw.clock.Set(at("2026-05-01T03:59:00Z"))
		sc := tw.schedule(nightly())
		tw.clock.Set(at("2026-05-01T04:00:01Z"))
		run := tw.runDue()
		last := tw.lastRun()
		if last.Outcome != ports.RunStarted || !last.Slot.Equal(run.Slot) || last.Reason != "" {
			t.Fatalf("last run %+v, want started for %v", last, run.Slot)
		}
		b := tw.settled(last.BackupID)
		if b.Status != ports.StatusReady || b.ScheduleID != sc.ID || b.Name != "Scheduled 2026-05-01 04:00" {
			t.Errorf("the schedule's backup is %+v", b)
		}
		runs, err := tw.svc.ListScheduleRuns(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID)
		must(t, err)
		if len(runs) != 1 || runs[0] != last {
			t.Errorf("ListScheduleRuns = %+v, want [%+v]", runs, last)
		}
	})
	t.Run("a slot run twice, or by two replicas, makes one backup", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		run := tw.due()[0]
		other := tw.replica()
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		tw.settled(tw.lastRun().BackupID)
		must(t, other.RunScheduledBackup(context.Background(), run))
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		if n := len(tw.backupIDs()); n != 1 {
			t.Errorf("%d backups, want 1", n)
		}
	})
	t.Run("a paused schedule runs nothing and records nothing", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		run := tw.due()[0]
		set := nightly()
		set.Enabled = false
		tw.schedule(set)
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		if n := len(tw.backupIDs()); n != 0 || tw.storedSchedule().LastRun != nil {
			t.Errorf("%d backups and last run %+v after a paused run", n, tw.storedSchedule().LastRun)
		}
	})
	t.Run("a schedule changed since the slot came due runs it with its new name template", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		run := tw.due()[0]
		set := nightly()
		set.NameTemplate = "Renamed {date}"
		tw.schedule(set)
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		if b := tw.settled(tw.lastRun().BackupID); !strings.HasPrefix(b.Name, "Renamed ") {
			t.Errorf("name %q, want the new template's", b.Name)
		}
	})
	t.Run("an order with an operation in progress skips the slot and records why", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		busy := tw.record(ports.StatusCreating)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		last := tw.lastRun()
		if last.Outcome != ports.RunSkipped || !strings.Contains(last.Reason, "already running") || !last.BackupID.IsZero() {
			t.Errorf("last run %+v, want skipped because an operation was running", last)
		}
		if ids := tw.backupIDs(); len(ids) != 1 || ids[0] != busy.ID {
			t.Errorf("backups %v, want only the running one", ids)
		}
	})
	t.Run("a fenced order skips the slot without deleting anything to make room", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxBackupsPerProvision = 2 } })
		sc := tw.schedule(nightly())
		tw.recordScheduled(sc.ID, fixedNow.Add(-2*time.Hour), false)
		tw.recordScheduled(sc.ID, fixedNow.Add(-time.Hour), false)
		fence, err := tw.svc.FenceOrder(context.Background(), tw.order.ID)
		must(t, err)
		defer fence.Release(context.Background())
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		last := tw.lastRun()
		if last.Outcome != ports.RunSkipped || last.Reason != "the server was being reprovisioned" {
			t.Errorf("last run %+v, want skipped while reprovisioning", last)
		}
		if n := len(tw.backupIDs()); n != 2 {
			t.Errorf("%d backups left, want both", n)
		}
	})
	t.Run("at the limit, rotation deletes the oldest backup it may and then creates", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxBackupsPerProvision = 4 } })
		sc := tw.schedule(nightly())
		locked := tw.recordScheduled(sc.ID, fixedNow.Add(-4*time.Hour), true)
		manual := tw.recordScheduled(ports.ScheduleID{}, fixedNow.Add(-3*time.Hour), false)
		oldest := tw.recordScheduled(sc.ID, fixedNow.Add(-2*time.Hour), false)
		newest := tw.recordScheduled(sc.ID, fixedNow.Add(-time.Hour), false)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		last := tw.lastRun()
		if last.Outcome != ports.RunStarted {
			t.Fatalf("last run %+v, want started", last)
		}
		tw.settled(last.BackupID)
		want := []ports.BackupID{last.BackupID, newest.ID, manual.ID, locked.ID}
		if got := tw.backupIDs(); !slices.Equal(got, want) {
			t.Errorf("backups %v, want %v (the oldest unlocked scheduled one, %s, gone)", got, want, oldest.ID)
		}
		if tw.assetExists(oldest.AssetID) {
			t.Error("the rotated-out backup's asset is still recorded")
		}
	})
	t.Run("at the limit with nothing rotation may delete, the run fails and says why", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxBackupsPerProvision = 3 } })
		sc := tw.schedule(nightly())
		tw.recordScheduled(sc.ID, fixedNow.Add(-3*time.Hour), true)
		tw.recordScheduled(sc.ID, fixedNow.Add(-2*time.Hour), true)
		tw.recordScheduled(ports.ScheduleID{}, fixedNow.Add(-time.Hour), false)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		last := tw.lastRun()
		want := "the server holds 3 backups, its limit, and none may be deleted to make room: each is locked, in use, the newest, made by hand, or kept by the retention policy"
		if last.Outcome != ports.RunFailed || last.Reason != want {
			t.Errorf("last run %+v, want failed: %s", last, want)
		}
		if n := len(tw.backupIDs()); n != 3 {
			t.Errorf("%d backups, want the 3 kept", n)
		}
	})
	t.Run("a host that lets retention include manual backups rotates them out too", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) {
			c.opts = func(o *backup.Options) { o.MaxBackupsPerProvision = 2; o.RetentionIncludesManual = true }
		})
		sc := tw.schedule(nightly())
		manual := tw.recordScheduled(ports.ScheduleID{}, fixedNow.Add(-2*time.Hour), false)
		tw.recordScheduled(ports.ScheduleID{}, fixedNow.Add(-time.Hour), false)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		if last := tw.lastRun(); last.Outcome != ports.RunStarted {
			t.Fatalf("last run %+v, want started", last)
		}
		if slices.Contains(tw.backupIDs(), manual.ID) {
			t.Error("the oldest manual backup was kept")
		}
	})
	t.Run("retention deletes what its policy lets go before the backup is made", func(t *testing.T) {
		tw := newTwin(t)
		set := nightly()
		set.Retention = ports.RetentionPolicy{KeepLast: 2}
		sc := tw.schedule(set)
		var made []ports.Backup
		for i := range 4 {
			made = append(made, tw.recordScheduled(sc.ID, fixedNow.Add(-time.Duration(4-i)*time.Hour), false))
		}
		manual := tw.recordScheduled(ports.ScheduleID{}, fixedNow.Add(-5*time.Hour), false)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		last := tw.lastRun()
		tw.settled(last.BackupID)
		want := []ports.BackupID{last.BackupID, made[3].ID, made[2].ID, manual.ID}
		if got := tw.backupIDs(); !slices.Equal(got, want) {
			t.Errorf("backups %v, want %v", got, want)
		}
	})
	t.Run("a game server without a sidecar fails the run", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.withoutSidecar = true })
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		if last := tw.lastRun(); last.Outcome != ports.RunFailed || last.Reason != "the game server has no sidecar to back up its files" {
			t.Errorf("last run %+v", last)
		}
	})
	t.Run("a database failure fails the run without its details", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		tw.inject("Repository.Create", fault{err: errInfra})
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		if last := tw.lastRun(); last.Outcome != ports.RunFailed || last.Reason != "the backup database could not be reached" {
			t.Errorf("last run %+v", last)
		}
	})
	t.Run("a service shutting down claims nothing, so the slot can run elsewhere", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		run := tw.due()[0]
		tw.shutdown()
		assertIs(t, tw.svc.RunScheduledBackup(context.Background(), run), backup.ErrShuttingDown)
		must(t, tw.replica().RunScheduledBackup(context.Background(), run))
		if last := tw.lastRun(); last.Outcome != ports.RunStarted {
			t.Errorf("last run %+v, want started on the other replica", last)
		}
	})
}

func TestRunScheduledBackupRecordsItsOutcome(t *testing.T) {
	tw := newTwin(t)
	sc := tw.schedule(nightly())
	tw.clock.Set(sc.NextRunAt)
	run := tw.due()[0]
	tw.inject("Schedules.FinishRun", fault{err: errInfra})
	err := tw.svc.RunScheduledBackup(context.Background(), run)
	assertIs(t, err, backup.ErrDatabase)
	tw.heal("Schedules.FinishRun")
	made := tw.backupIDs()
	if len(made) != 1 {
		t.Fatalf("%d backups, want the one the run made", len(made))
	}

	t.Run("a retry while the claim is recent asks to be retried later", func(t *testing.T) {
		tw.clock.Set(sc.NextRunAt.Add(time.Second))
		if err := tw.svc.RunScheduledBackup(context.Background(), run); err == nil {
			t.Fatal("the retry returned nil with the slot's outcome unrecorded")
		}
	})
	t.Run("a retry once the claim is stale records the backup the run made", func(t *testing.T) {
		tw.clock.Set(sc.NextRunAt.Add(tw.opts.StaleAfter))
		must(t, tw.svc.RunScheduledBackup(context.Background(), run))
		if last := tw.lastRun(); last.Outcome != ports.RunStarted || last.BackupID != made[0] {
			t.Errorf("last run %+v, want started with %s", last, made[0])
		}
		if n := len(tw.backupIDs()); n != 1 {
			t.Errorf("%d backups after the retry, want 1", n)
		}
	})
}

func TestDeleteOrderBackupsDeletesTheSchedules(t *testing.T) {
	tw := newTwin(t)
	tw.schedule(nightly())
	_, err := tw.svc.DeleteOrderBackups(context.Background(), tw.order.ID)
	must(t, err)
	if _, err := tw.schedules.FindByProvision(context.Background(), tw.gameServer.ID); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("the order's schedule outlived DeleteOrderBackups (%v)", err)
	}
}

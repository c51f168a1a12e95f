package backup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// event is what a test expects of one event: its type, for which backup (zero
// for a schedule's run), by whom, and a part of its reason ("" for none).
type event struct {
	typ    ports.ActivityType
	backup ports.BackupID
	actor  ports.Actor
	reason string
}

// events returns the order's whole log, newest first, as its owner sees it.
func (tw *twin) events() []ports.Activity {
	tw.t.Helper()
	page, err := tw.svc.ListActivity(context.Background(), tw.owner, tw.order.ID, 0, ports.MaxActivityPage)
	if err != nil {
		tw.t.Fatalf("ListActivity: %v", err)
	}
	return page.Items
}

// assertActivity checks the order's log, newest first, against want.
func (tw *twin) assertActivity(want ...event) {
	tw.t.Helper()
	got := tw.events()
	describe := func(list []ports.Activity) string {
		var b strings.Builder
		for _, a := range list {
			fmt.Fprintf(&b, "\n  %s of %s by %s %s%s, reason %q", a.Type, a.BackupID, a.Actor.Kind, a.Actor.UserID, a.Actor.ScheduleID, a.Reason)
		}
		return b.String()
	}
	if len(got) != len(want) {
		tw.t.Fatalf("the log holds %d events, want %d:%s", len(got), len(want), describe(got))
	}
	for i, w := range want {
		a := got[i]
		if a.Type != w.typ || a.BackupID != w.backup || a.Actor != w.actor || a.OrderID != tw.order.ID ||
			a.ProvisionID != tw.gameServer.ID || (w.reason == "") != (a.Reason == "") || !strings.Contains(a.Reason, w.reason) {
			tw.t.Errorf("event %d is %s of %s by %+v, reason %q; want %s of %s by %+v, reason with %q; the log:%s",
				i, a.Type, a.BackupID, a.Actor, a.Reason, w.typ, w.backup, w.actor, w.reason, describe(got))
		}
	}
}

func TestActivityOfUsers(t *testing.T) {
	t.Run("a create that becomes ready is two events of the user who asked", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("Before the update")
		user := ports.UserActor(tw.owner)
		tw.assertActivity(
			event{ports.ActivityBackupReady, b.ID, user, ""},
			event{ports.ActivityBackupCreated, b.ID, user, ""},
		)
		if got := tw.events()[0]; got.BackupName != "Before the update" {
			t.Errorf("the event names the backup %q, want its name", got.BackupName)
		}
	})
	t.Run("a create that fails says why, for the user who asked", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Sidecars.Dial", fault{err: errSidecar})
		b, err := tw.create("doomed")
		must(t, err)
		if tw.settled(b.ID).Status != ports.StatusFailed {
			t.Fatal("the create did not fail")
		}
		user := ports.UserActor(tw.owner)
		tw.assertActivity(
			event{ports.ActivityBackupFailed, b.ID, user, "Backup failed: could not reach the game server's file service"},
			event{ports.ActivityBackupCreated, b.ID, user, ""},
		)
	})
	t.Run("a restore that completes, and one that fails, are the restoring user's", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("base")
		staff := ports.UserActor(tw.admin)
		_, err := tw.svc.RestoreBackup(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID, b.ID)
		must(t, err)
		tw.settled(b.ID)
		tw.inject("Sidecars.Dial", fault{err: errSidecar})
		_, err = tw.restore(b)
		must(t, err)
		if got := tw.settled(b.ID); got.Error == "" {
			t.Fatal("the second restore did not fail")
		}
		user := ports.UserActor(tw.owner)
		tw.assertActivity(
			event{ports.ActivityRestoreFailed, b.ID, user, "Restore failed: could not reach the game server's file service"},
			event{ports.ActivityRestoreStarted, b.ID, user, ""},
			event{ports.ActivityRestoreFinished, b.ID, staff, ""},
			event{ports.ActivityRestoreStarted, b.ID, staff, ""},
			event{ports.ActivityBackupReady, b.ID, user, ""},
			event{ports.ActivityBackupCreated, b.ID, user, ""},
		)
	})
	t.Run("lock, unlock and delete are the user's, a lock to the value it has none, and the events outlive the backup", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("keep")
		ctx := context.Background()
		for _, locked := range []bool{true, true, false} {
			_, err := tw.svc.LockBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID, locked)
			must(t, err)
		}
		must(t, tw.svc.DeleteBackup(ctx, tw.admin, tw.order.ID, tw.gameServer.ID, b.ID))
		user, staff := ports.UserActor(tw.owner), ports.UserActor(tw.admin)
		tw.assertActivity(
			event{ports.ActivityBackupDeleted, b.ID, staff, ""},
			event{ports.ActivityBackupUnlocked, b.ID, user, ""},
			event{ports.ActivityBackupLocked, b.ID, user, ""},
			event{ports.ActivityBackupReady, b.ID, user, ""},
			event{ports.ActivityBackupCreated, b.ID, user, ""},
		)
	})
	t.Run("the host deleting the order's backups is the system's", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("going")
		_, err := tw.svc.LockBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, b.ID, true)
		must(t, err)
		n, err := tw.svc.DeleteOrderBackups(context.Background(), tw.order.ID)
		if err != nil || n != 1 {
			t.Fatalf("DeleteOrderBackups = %d, %v", n, err)
		}
		if got := tw.events()[0]; got.Type != ports.ActivityBackupDeleted || got.Actor != ports.SystemActor {
			t.Errorf("the newest event is %s by %+v, want the delete by the system", got.Type, got.Actor)
		}
	})
}

func TestActivityOfSchedulesAndRecovery(t *testing.T) {
	t.Run("a scheduled backup is the schedule's, and so is what its retention deletes", func(t *testing.T) {
		tw := newTwin(t)
		set := nightly()
		set.Retention = ports.RetentionPolicy{KeepLast: 1}
		sc := tw.schedule(set)
		older := tw.recordScheduled(sc.ID, fixedNow.Add(-2*time.Hour), false)
		newer := tw.recordScheduled(sc.ID, fixedNow.Add(-time.Hour), false)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		made := tw.settled(tw.lastRun().BackupID)
		by := ports.ScheduleActor(sc.ID)
		tw.assertActivity(
			event{ports.ActivityBackupReady, made.ID, by, ""},
			event{ports.ActivityBackupCreated, made.ID, by, ""},
			event{ports.ActivityBackupDeleted, older.ID, by, ""},
			// recordScheduled writes behind the service's back, on no one's behalf.
			event{ports.ActivityBackupReady, newer.ID, ports.SystemActor, ""},
			event{ports.ActivityBackupCreated, newer.ID, ports.SystemActor, ""},
			event{ports.ActivityBackupReady, older.ID, ports.SystemActor, ""},
			event{ports.ActivityBackupCreated, older.ID, ports.SystemActor, ""},
		)
	})
	t.Run("a skipped run is one event of the schedule with its reason", func(t *testing.T) {
		tw := newTwin(t)
		sc := tw.schedule(nightly())
		busy := tw.record(ports.StatusCreating)
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		tw.assertActivity(
			event{ports.ActivityScheduleRunSkipped, ports.BackupID{}, ports.ScheduleActor(sc.ID), "already running"},
			event{ports.ActivityBackupCreated, busy.ID, ports.SystemActor, ""},
		)
	})
	t.Run("a failed run is one event of the schedule with its reason", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.withoutSidecar = true })
		sc := tw.schedule(nightly())
		tw.clock.Set(sc.NextRunAt)
		tw.runDue()
		tw.assertActivity(
			event{ports.ActivityScheduleRunFailed, ports.BackupID{}, ports.ScheduleActor(sc.ID), "no sidecar"},
		)
	})
	t.Run("recovery settling a dead worker's create is the system's", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		tw.recovered(1)
		tw.assertActivity(
			event{ports.ActivityBackupFailed, b.ID, ports.SystemActor, staleReason},
			event{ports.ActivityBackupCreated, b.ID, ports.SystemActor, ""},
		)
	})
	t.Run("recovery settling a dead worker's restore is the system's", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusRestoring)
		tw.recovered(1)
		if got := tw.events()[0]; got.Type != ports.ActivityRestoreFailed || got.Actor != ports.SystemActor ||
			!strings.Contains(got.Reason, staleReason) || got.BackupID != b.ID {
			t.Errorf("the newest event is %s of %s by %+v, reason %q; want the restore failed by the system", got.Type, got.BackupID, got.Actor, got.Reason)
		}
	})
}

func TestListActivity(t *testing.T) {
	ctx := context.Background()
	t.Run("pages newest first, with the cursor of the next page while one may follow", func(t *testing.T) {
		tw := newTwin(t)
		for i := range 3 {
			tw.ready(fmt.Sprintf("backup %d", i))
		}
		all := tw.events()
		if len(all) != 6 {
			t.Fatalf("3 backups made ready are %d events, want 6", len(all))
		}
		var got []ports.ActivityID
		before := ports.ActivityID(0)
		for range 4 {
			page, err := tw.svc.ListActivity(ctx, tw.owner, tw.order.ID, before, 4)
			must(t, err)
			for _, a := range page.Items {
				got = append(got, a.ID)
			}
			if page.NextBefore == 0 {
				break
			}
			if page.NextBefore != page.Items[len(page.Items)-1].ID {
				t.Fatalf("NextBefore %d is not the page's last ID", page.NextBefore)
			}
			before = page.NextBefore
		}
		want := make([]ports.ActivityID, len(all))
		for i, a := range all {
			want[i] = a.ID
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pages of 4 gave %v, want %v", got, want)
		}
	})
	t.Run("without a limit a page holds the default number", func(t *testing.T) {
		tw := newTwin(t)
		for range 26 { // 52 events
			b := tw.record(ports.StatusReady)
			tw.remove(b.ID)
		}
		page, err := tw.svc.ListActivity(ctx, tw.owner, tw.order.ID, 0, 0)
		must(t, err)
		if len(page.Items) != ports.DefaultActivityPage || page.NextBefore == 0 {
			t.Errorf("a page without a limit holds %d events, next %d; want %d and a next page", len(page.Items), page.NextBefore, ports.DefaultActivityPage)
		}
	})
	t.Run("staff see the order's log, and another user does not", func(t *testing.T) {
		tw := newTwin(t)
		tw.ready("x")
		if page, err := tw.svc.ListActivity(ctx, tw.admin, tw.order.ID, 0, 10); err != nil || len(page.Items) != 2 {
			t.Errorf("staff: %d events, %v; want 2", len(page.Items), err)
		}
		_, err := tw.svc.ListActivity(ctx, tw.stranger, tw.order.ID, 0, 10)
		assertIs(t, err, backup.ErrUnauthorized)
		_, err = tw.svc.ListActivity(ctx, tw.owner, ports.NewOrderID(), 0, 10)
		assertIs(t, err, backup.ErrOrderNotFound)
	})
	t.Run("another order's events are not in the log", func(t *testing.T) {
		tw := newTwin(t)
		other, otherGameServer := tw.otherOrder(tw.owner, true)
		tw.recordFor(other.ID, otherGameServer.ID, ports.StatusReady)
		tw.assertActivity()
	})
	t.Run("a limit out of range or a negative cursor is refused", func(t *testing.T) {
		tw := newTwin(t)
		for _, tc := range []struct {
			before ports.ActivityID
			limit  int
		}{{0, -1}, {0, ports.MaxActivityPage + 1}, {-1, 10}} {
			_, err := tw.svc.ListActivity(ctx, tw.owner, tw.order.ID, tc.before, tc.limit)
			assertIs(t, err, backup.ErrInvalidPage)
		}
	})
	t.Run("without an activity log the host offers none", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.noActivity = true })
		_, err := tw.svc.ListActivity(ctx, tw.owner, tw.order.ID, 0, 10)
		assertIs(t, err, backup.ErrActivityUnavailable)
	})
}

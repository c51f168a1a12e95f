package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// lockURL is the backup's lock: PUT sets it, DELETE removes it.
func lockURL(order ports.OrderID, prov ports.ProvisionID, id ports.BackupID) string {
	return backupURL(order, prov, id) + "/lock"
}

// lock calls lock-backup (locked) or unlock-backup as the holder of token and
// returns the backup it answers, failing the test unless it is 200.
func (w *world) lock(token string, id ports.BackupID, locked bool) sphttp.BackupView {
	w.t.Helper()
	method := http.MethodPut
	if !locked {
		method = http.MethodDelete
	}
	rec := w.call(method, lockURL(w.order, w.prov, id), token, nil)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("%s lock: %d %s", method, rec.Code, rec.Body)
	}
	v := decode[sphttp.BackupView](w.t, rec)
	if v.ID != id.String() || v.Locked != locked {
		w.t.Fatalf("%s lock answered %+v, want backup %s with locked %t", method, v, id, locked)
	}
	return v
}

func TestLockOverHTTP(t *testing.T) {
	t.Run("a locked backup is refused with 409 backup_locked, and deleted once unlocked", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "keep me")
		w.lock(aliceToken, b.ID, true)
		w.lock(aliceToken, b.ID, true) // twice is harmless

		p := problem(t, w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), aliceToken, nil),
			http.StatusConflict, sphttp.CodeBackupLocked)
		if p.Detail == "" || p.Instance != "" {
			t.Errorf("a user's mistake should be explained, not logged as a failure: %+v", p)
		}
		got := decode[sphttp.BackupView](t, w.call(http.MethodGet, backupURL(w.order, w.prov, b.ID), aliceToken, nil))
		if !got.Locked || got.Status != "ready" {
			t.Fatalf("after the refused delete the backup is %+v; want it ready and locked", got)
		}
		if dl := w.call(http.MethodGet, assetURL(b.AssetID), aliceToken, nil); dl.Code != http.StatusOK {
			t.Errorf("a locked backup's archive can no longer be downloaded: %d", dl.Code)
		}

		w.lock(aliceToken, b.ID, false)
		w.lock(aliceToken, b.ID, false)
		if rec := w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), aliceToken, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("delete once unlocked: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("the list shows which backups are locked", func(t *testing.T) {
		w := newWorld(t)
		locked, open := w.seedReady(w.order, w.prov, w.alice, "locked"), w.seedReady(w.order, w.prov, w.alice, "open")
		w.lock(aliceToken, locked.ID, true)
		list := decode[sphttp.BackupList](t, w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)).Backups
		for _, v := range list {
			if want := v.ID == locked.ID.String(); v.Locked != want {
				t.Errorf("backup %q listed with locked %t, want %t", v.Name, v.Locked, want)
			}
		}
		if len(list) != 2 || (list[0].ID != open.ID.String() && list[1].ID != open.ID.String()) {
			t.Fatalf("list %+v, want both backups", list)
		}
	})
	t.Run("a ViewAllOrders user may lock and unlock, as they may delete", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "theirs")
		w.lock(adminToken, b.ID, true)
		problem(t, w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), adminToken, nil), http.StatusConflict, sphttp.CodeBackupLocked)
		w.lock(adminToken, b.ID, false)
	})
	t.Run("a backup locked while it is created is ready and locked", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		v := w.create("locked early")
		id := mustBackupID(t, v.ID)
		if got := w.lock(aliceToken, id, true); got.Status != "creating" {
			t.Fatalf("the lock answered status %s, want creating", got.Status)
		}
		release()
		if ready := w.waitFor(w.order, w.prov, v.ID, "ready"); !ready.Locked {
			t.Fatalf("the finished create lost the lock: %+v", ready)
		}
	})
	t.Run("a backup a delete has claimed can no longer be locked: status_conflict", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "half deleted")
		if _, err := w.repo.ClaimForDelete(context.Background(), b.ID, false); err != nil {
			t.Fatal(err)
		}
		problem(t, w.call(http.MethodPut, lockURL(w.order, w.prov, b.ID), aliceToken, nil), http.StatusConflict, sphttp.CodeStatusConflict)
	})
}

func TestNewBackupViewLockAndSchedule(t *testing.T) {
	schedule := ports.NewScheduleID()
	raw, err := json.Marshal(sphttp.NewBackupView(ports.Backup{Status: ports.StatusReady, Locked: true, ScheduleID: schedule}))
	must(t, err)
	var got struct {
		Locked     bool    `json:"locked"`
		ScheduleID *string `json:"schedule_id"`
	}
	must(t, json.Unmarshal(raw, &got))
	if !got.Locked || got.ScheduleID == nil || *got.ScheduleID != schedule.String() {
		t.Errorf("a locked scheduled backup is sent as %s", raw)
	}
	manual := sphttp.NewBackupView(ports.Backup{Status: ports.StatusReady})
	if manual.Locked || manual.ScheduleID != nil {
		t.Errorf("a backup someone asked for is sent with locked %t, schedule_id %v; want false and null", manual.Locked, manual.ScheduleID)
	}
}

package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2/humatest"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func activityURL(order ports.OrderID) string { return "/api/v1/orders/" + order.String() + "/activity" }

func TestActivityOverHTTP(t *testing.T) {
	t.Run("a create, a lock and a delete read back newest first, with their actor", func(t *testing.T) {
		w := newWorld(t)
		created := w.create("Before the update")
		w.waitFor(w.order, w.prov, created.ID, "ready")
		id, err := ports.ParseBackupID(created.ID)
		must(t, err)
		w.lock(aliceToken, id, true)
		w.lock(aliceToken, id, false)
		if rec := w.call(http.MethodDelete, backupURL(w.order, w.prov, id), adminToken, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}

		rec := w.call(http.MethodGet, activityURL(w.order), aliceToken, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("list-activity: %d %s", rec.Code, rec.Body)
		}
		list := decode[sphttp.ActivityList](t, rec)
		var types []string
		for _, a := range list.Items {
			types = append(types, a.Type)
		}
		want := []string{"backup.deleted", "backup.unlocked", "backup.locked", "backup.ready", "backup.created"}
		if strings.Join(types, " ") != strings.Join(want, " ") {
			t.Fatalf("types %v, want %v", types, want)
		}
		if list.NextBefore != nil {
			t.Errorf("next_before = %d on the only page, want null", *list.NextBefore)
		}
		deleted, first := list.Items[0], list.Items[len(list.Items)-1]
		if deleted.Actor != (sphttp.ActorView{Kind: "user", UserID: w.admin.String()}) ||
			first.Actor != (sphttp.ActorView{Kind: "user", UserID: w.alice.String()}) {
			t.Errorf("actors %+v and %+v, want admin's delete and alice's create", deleted.Actor, first.Actor)
		}
		if first.BackupID == nil || *first.BackupID != created.ID || first.BackupName != "Before the update" ||
			first.OrderID != w.order.String() || first.ProvisionID != w.prov.String() || first.At.IsZero() {
			t.Errorf("the create's event is %+v", first)
		}

		// The wire shape: backup_id present, reason absent when empty, the
		// actor's other ID absent.
		var raw struct {
			Items []map[string]json.RawMessage `json:"items"`
		}
		must(t, json.Unmarshal(rec.Body.Bytes(), &raw))
		item := raw.Items[0]
		if _, ok := item["reason"]; ok {
			t.Errorf("an event without a reason has one on the wire: %s", rec.Body)
		}
		if string(item["actor"]) != fmt.Sprintf(`{"kind":"user","user_id":"%s"}`, w.admin) {
			t.Errorf("actor on the wire is %s", item["actor"])
		}
	})
	t.Run("a schedule's skipped run has no backup and says why", func(t *testing.T) {
		w := newWorld(t)
		sc := ports.Schedule{ID: ports.NewScheduleID(), OrderID: w.order, ProvisionID: w.prov, Cron: "@daily",
			TimeZone: "UTC", Enabled: true, NameTemplate: "x", NextRunAt: time.Now().Truncate(time.Second)}
		ctx := t.Context()
		_, err := w.schedules.Put(ctx, sc)
		must(t, err)
		run, _, err := w.schedules.ClaimRun(ctx, sc.ID, sc.NextRunAt, sc.NextRunAt)
		must(t, err)
		run.Outcome, run.Reason = ports.RunSkipped, "a backup or restore was already running for this server"
		must(t, w.schedules.FinishRun(ctx, sc.ID, run))

		rec := w.call(http.MethodGet, activityURL(w.order), aliceToken, nil)
		list := decode[sphttp.ActivityList](t, rec)
		if len(list.Items) != 1 {
			t.Fatalf("%d events, want 1: %s", len(list.Items), rec.Body)
		}
		got := list.Items[0]
		if got.Type != "schedule.run_skipped" || got.BackupID != nil || got.Reason != run.Reason ||
			got.Actor != (sphttp.ActorView{Kind: "schedule", ScheduleID: sc.ID.String()}) {
			t.Errorf("the skipped run is %+v", got)
		}
		if !strings.Contains(rec.Body.String(), `"backup_id":null`) {
			t.Errorf("backup_id should be null on the wire: %s", rec.Body)
		}
	})
	t.Run("pages follow next_before to the oldest event", func(t *testing.T) {
		w := newWorld(t)
		for i := range 3 {
			w.seedReady(w.order, w.prov, w.alice, fmt.Sprintf("b%d", i)) // two events each
		}
		var ids []int64
		url := activityURL(w.order) + "?limit=4"
		for range 3 {
			rec := w.call(http.MethodGet, url, aliceToken, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", url, rec.Code, rec.Body)
			}
			page := decode[sphttp.ActivityList](t, rec)
			for _, a := range page.Items {
				ids = append(ids, a.ID)
			}
			if page.NextBefore == nil {
				break
			}
			url = fmt.Sprintf("%s?limit=4&before=%d", activityURL(w.order), *page.NextBefore)
		}
		if len(ids) != 6 {
			t.Fatalf("the pages held %d events, want 6: %v", len(ids), ids)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("IDs %v are not newest first", ids)
			}
		}
	})
	t.Run("staff may read it, another user may not, and an unknown order is not found", func(t *testing.T) {
		w := newWorld(t)
		w.seedReady(w.order, w.prov, w.alice, "x")
		if rec := w.call(http.MethodGet, activityURL(w.order), adminToken, nil); rec.Code != http.StatusOK ||
			len(decode[sphttp.ActivityList](t, rec).Items) != 2 {
			t.Errorf("staff: %d %s", rec.Code, rec.Body)
		}
		problem(t, w.call(http.MethodGet, activityURL(w.order), bobToken, nil), http.StatusForbidden, sphttp.CodeForbidden)
		problem(t, w.call(http.MethodGet, activityURL(ports.NewOrderID()), aliceToken, nil), http.StatusNotFound, sphttp.CodeNotFound)
		problem(t, w.call(http.MethodGet, activityURL(w.order), "", nil), http.StatusUnauthorized, sphttp.CodeUnauthenticated)
	})
	t.Run("another order's events are not listed", func(t *testing.T) {
		w := newWorld(t)
		w.seedReady(w.otherOrder, w.otherProv, w.alice, "elsewhere")
		list := decode[sphttp.ActivityList](t, w.call(http.MethodGet, activityURL(w.order), aliceToken, nil))
		if len(list.Items) != 0 {
			t.Errorf("the order lists another order's events: %+v", list.Items)
		}
	})
	t.Run("a bad order ID, limit or cursor is 422 invalid_input", func(t *testing.T) {
		w := newWorld(t)
		for _, url := range []string{
			"/api/v1/orders/nope/activity",
			activityURL(w.order) + "?limit=201",
			activityURL(w.order) + "?limit=-1",
			activityURL(w.order) + "?limit=ten",
			activityURL(w.order) + "?before=-5",
		} {
			problem(t, w.call(http.MethodGet, url, aliceToken, nil), http.StatusUnprocessableEntity, sphttp.CodeInvalidInput)
		}
	})
}

func TestActivityRouteWithoutALog(t *testing.T) {
	_, api := humatest.New(quietTB{t})
	w := newWorldWith(t, api, false)
	problem(t, w.call(http.MethodGet, activityURL(w.order), aliceToken, nil), http.StatusNotImplemented, sphttp.CodeActivityUnavailable)
	if strings.Contains(w.logs.String(), "level=ERROR") {
		t.Errorf("a feature the host left out was logged as an error: %s", w.logs)
	}
}

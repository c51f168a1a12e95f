package http_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2/humatest"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func scheduleURL(order ports.OrderID, prov ports.ProvisionID) string {
	return fmt.Sprintf("/api/v1/orders/%s/provisions/%s/schedule", order, prov)
}

// putSchedule sets alice's schedule and returns it.
func (w *world) putSchedule(body any) sphttp.ScheduleView {
	w.t.Helper()
	rec := w.call(http.MethodPut, scheduleURL(w.order, w.prov), aliceToken, body)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("put-schedule: status %d, body %s", rec.Code, rec.Body)
	}
	return decode[sphttp.ScheduleView](w.t, rec)
}

func TestScheduleRoutes(t *testing.T) {
	t.Run("put creates the schedule, and get returns it", func(t *testing.T) {
		w := newWorld(t)
		problem(t, w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil), http.StatusNotFound, sphttp.CodeScheduleNotFound)
		before := time.Now()
		v := w.putSchedule(map[string]any{"cron": "0 4 * * *", "time_zone": "Europe/Berlin",
			"retention": map[string]int{"keep_last": 3, "keep_daily": 7}})
		if _, err := ports.ParseScheduleID(v.ID); err != nil || v.Cron != "0 4 * * *" || v.TimeZone != "Europe/Berlin" ||
			!v.Enabled || v.NameTemplate != backup.DefaultNameTemplate || v.LastRun != nil ||
			v.Retention != (sphttp.RetentionView{KeepLast: 3, KeepDaily: 7}) {
			t.Errorf("put answered %+v", v)
		}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		if n := v.NextRunAt; n == nil || !n.After(before) || n.In(berlin).Hour() != 4 || n.Location() != time.UTC {
			t.Errorf("next_run_at %v, want the next 04:00 in Berlin, in UTC", n)
		}
		rec := w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil)
		if got := decode[sphttp.ScheduleView](t, rec); rec.Code != 200 || got.ID != v.ID || !got.NextRunAt.Equal(*v.NextRunAt) {
			t.Errorf("get answered %d %+v, want %+v", rec.Code, got, v)
		}
		for _, field := range []string{`"next_run_at":`, `"last_run":null`, `"keep_weekly":0`} {
			if !strings.Contains(rec.Body.String(), field) {
				t.Errorf("the body lacks %s: %s", field, rec.Body)
			}
		}
	})
	t.Run("put replaces the schedule, keeping its ID; a paused one has no next run", func(t *testing.T) {
		w := newWorld(t)
		first := w.putSchedule(map[string]any{"cron": "@daily"})
		paused := w.putSchedule(map[string]any{"cron": "@hourly", "enabled": false, "name_template": "Hourly {time}"})
		if paused.ID != first.ID || paused.Enabled || paused.NextRunAt != nil || paused.NameTemplate != "Hourly {time}" || paused.Cron != "@hourly" {
			t.Errorf("after replacing: %+v", paused)
		}
	})
	t.Run("delete removes the schedule", func(t *testing.T) {
		w := newWorld(t)
		w.putSchedule(map[string]any{"cron": "@daily"})
		if rec := w.call(http.MethodDelete, scheduleURL(w.order, w.prov), aliceToken, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		problem(t, w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil), 404, sphttp.CodeScheduleNotFound)
		problem(t, w.call(http.MethodDelete, scheduleURL(w.order, w.prov), aliceToken, nil), 404, sphttp.CodeScheduleNotFound)
		problem(t, w.call(http.MethodGet, scheduleURL(w.order, w.prov)+"/runs", aliceToken, nil), 404, sphttp.CodeScheduleNotFound)
	})
	t.Run("a run's outcome shows as the last run and in the runs", func(t *testing.T) {
		w := newWorld(t)
		v := w.putSchedule(map[string]any{"cron": "@daily", "name_template": "Nightly {date}"})
		id, _ := ports.ParseScheduleID(v.ID)
		slot := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		must(t, w.svc.RunScheduledBackup(context.Background(), backup.ScheduledRun{ScheduleID: id, Slot: slot, Due: slot}))
		got := decode[sphttp.ScheduleView](t, w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil))
		last := got.LastRun
		if last == nil || last.Outcome != "started" || last.BackupID == nil || last.Reason != nil || !last.Slot.Equal(slot) {
			t.Fatalf("last_run %+v", last)
		}
		b := w.waitFor(w.order, w.prov, *last.BackupID, "ready")
		if b.Name != "Nightly 2026-05-01" {
			t.Errorf("the scheduled backup is named %q", b.Name)
		}
		rec := w.call(http.MethodGet, scheduleURL(w.order, w.prov)+"/runs", aliceToken, nil)
		runs := decode[sphttp.ScheduleRunList](t, rec)
		if rec.Code != 200 || len(runs.Runs) != 1 || runs.Runs[0].Outcome != "started" || *runs.Runs[0].BackupID != *last.BackupID {
			t.Errorf("runs: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a skipped run says why", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		defer release()
		w.create("running")
		v := w.putSchedule(map[string]any{"cron": "@daily"})
		id, _ := ports.ParseScheduleID(v.ID)
		must(t, w.svc.RunScheduledBackup(context.Background(), backup.ScheduledRun{ScheduleID: id, Slot: time.Now()}))
		last := decode[sphttp.ScheduleView](t, w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil)).LastRun
		if last == nil || last.Outcome != "skipped" || last.BackupID != nil || last.Reason == nil || *last.Reason == "" {
			t.Errorf("last_run %+v, want skipped with a reason", last)
		}
	})
}

func TestScheduleRoutesRefuse(t *testing.T) {
	w := newWorld(t)
	url := scheduleURL(w.order, w.prov)
	t.Run("an invalid cron expression is 422 invalid_schedule, saying what is wrong", func(t *testing.T) {
		p := problem(t, w.call(http.MethodPut, url, aliceToken, map[string]any{"cron": "61 * * * *"}), 422, sphttp.CodeInvalidSchedule)
		want := `invalid schedule: cron expression "61 * * * *": end of range (61) above maximum (59): 61`
		if p.Detail != want {
			t.Errorf("detail %q, want %q", p.Detail, want)
		}
	})
	for name, body := range map[string]map[string]any{
		"an unknown time zone":  {"cron": "@daily", "time_zone": "Atlantis/Capital"},
		"an unknown template":   {"cron": "@daily", "name_template": "{weekday}"},
		"a date that never is":  {"cron": "0 0 31 2 *"},
		"the local zone":        {"cron": "@daily", "time_zone": "Local"},
		"an expression with TZ": {"cron": "TZ=UTC 0 4 * * *"},
	} {
		t.Run(name+" is 422 invalid_schedule", func(t *testing.T) {
			problem(t, w.call(http.MethodPut, url, aliceToken, body), 422, sphttp.CodeInvalidSchedule)
		})
	}
	for name, body := range map[string]any{
		"no cron":                   map[string]any{"time_zone": "UTC"},
		"an unknown field":          map[string]any{"cron": "@daily", "enabeld": false},
		"an unknown retention":      map[string]any{"cron": "@daily", "retention": map[string]int{"keep_hourly": 3}},
		"a negative retention":      map[string]any{"cron": "@daily", "retention": map[string]int{"keep_last": -1}},
		"a cron expression so long": map[string]any{"cron": strings.Repeat("*", 101)},
		"no body":                   nil,
		"bytes that are not UTF-8":  strings.NewReader("{\"cron\":\"@daily\",\"name_template\":\"\xff\"}"),
	} {
		t.Run(name+" is invalid_input", func(t *testing.T) {
			rec := w.call(http.MethodPut, url, aliceToken, body, "Content-Type: application/json")
			if rec.Code != 400 && rec.Code != 422 {
				t.Fatalf("status %d, want 400 or 422: %s", rec.Code, rec.Body)
			}
			problem(t, rec, rec.Code, sphttp.CodeInvalidInput)
		})
	}
	t.Run("another user is forbidden on every schedule route", func(t *testing.T) {
		w.putSchedule(map[string]any{"cron": "@daily"})
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			problem(t, w.call(m, url, bobToken, map[string]any{"cron": "@hourly"}), 403, sphttp.CodeForbidden)
		}
		problem(t, w.call(http.MethodGet, url+"/runs", bobToken, nil), 403, sphttp.CodeForbidden)
		if v := decode[sphttp.ScheduleView](t, w.call(http.MethodGet, url, aliceToken, nil)); v.Cron != "@daily" {
			t.Errorf("a refused put changed the schedule: %+v", v)
		}
	})
	t.Run("a staff user may set the schedule", func(t *testing.T) {
		if rec := w.call(http.MethodPut, url, adminToken, map[string]any{"cron": "@weekly"}); rec.Code != 200 {
			t.Errorf("put as admin: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a provision that is not the primary game server is not found", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, scheduleURL(w.order, w.secondaryProv), aliceToken, nil), 404, sphttp.CodeNotFound)
		problem(t, w.call(http.MethodPut, scheduleURL(w.order, w.otherProv), aliceToken, map[string]any{"cron": "@daily"}), 404, sphttp.CodeNotFound)
	})
	t.Run("a malformed ID is invalid input", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, "/api/v1/orders/nope/provisions/"+w.prov.String()+"/schedule", aliceToken, nil), 422, sphttp.CodeInvalidInput)
	})
	t.Run("no credentials are 401", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, url, "", nil), 401, sphttp.CodeUnauthenticated)
	})
}

func TestScheduleRoutesWithoutAScheduleStore(t *testing.T) {
	_, api := humatest.New(quietTB{t})
	w := newWorldWith(t, api, false)
	url := scheduleURL(w.order, w.prov)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		t.Run(m+" is 501 schedules_unavailable", func(t *testing.T) {
			problem(t, w.call(m, url, aliceToken, map[string]any{"cron": "@daily"}), 501, sphttp.CodeSchedulesUnavailable)
			if strings.Contains(w.logs.String(), "level=ERROR") {
				t.Errorf("a feature the host left out was logged as an error: %s", w.logs)
			}
		})
	}
}

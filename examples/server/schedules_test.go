package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestSchedulesRunOnceAcrossReplicas runs three example servers on one
// PostgreSQL, one S3 server and one sidecar, as a platform runs replicas, with
// a schedule every 2 s: each slot runs once (one run, at most one backup), a
// replica killed with SIGKILL does not stop the schedule, and whatever it was
// making is settled by the others' recovery.
func TestSchedulesRunOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := gamedata.Generate(ctx, dataDir, gamedata.Options{Size: 2 << 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.PostgresURL(t)
	store := testenv.S3(t, testenv.S3Options{})
	sidecar := e2e.StartSidecar(t, dataDir)
	var replicas []*e2e.Server
	for i := range 3 {
		replicas = append(replicas, e2e.NewServer(t, e2e.ServerOptions{
			DatabaseURL: dbURL, S3: store, Sidecar: sidecar, Token: "replicas-token", Name: fmt.Sprintf("replica %d", i),
			Args: []string{"-schedule-tick", "200ms", "-stale-after", "3s", "-heartbeat-interval", "500ms"},
		}))
	}
	// The first start migrates; the others then start together.
	replicas[0].Start(t)
	for _, r := range replicas[1:] {
		r.Launch(t)
	}
	for _, r := range replicas[1:] {
		r.WaitHealthy(t, time.Minute)
	}
	c, order, prov := replicas[0].Client, replicas[0].Order, replicas[0].Provision
	schedule := "/api/v1/orders/" + order + "/provisions/" + prov + "/schedule"
	c.Must(t, "PUT", schedule, map[string]any{"cron": "@every 2s", "time_zone": "UTC"}, 200, nil)

	runs := func(c *e2e.Client) []sphttp.ScheduleRunView {
		var l sphttp.ScheduleRunList
		c.Must(t, "GET", schedule+"/runs", nil, 200, &l)
		return l.Runs
	}
	waitFor := func(what string, ok func([]sphttp.ScheduleRunView) bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if ok(runs(replicas[1].Client)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; runs: %+v", what, runs(replicas[1].Client))
			}
		}
	}
	startedAfter := func(after time.Time, n int) func([]sphttp.ScheduleRunView) bool {
		return func(rs []sphttp.ScheduleRunView) bool {
			k := 0
			for _, r := range rs {
				if r.Outcome == "started" && r.Slot.After(after) {
					k++
				}
			}
			return k >= n
		}
	}
	waitFor("three scheduled backups", startedAfter(time.Time{}, 3))
	replicas[2].Proc.Kill()
	killed := time.Now()
	waitFor("two scheduled backups after a replica was killed", startedAfter(killed.Add(time.Second), 2))
	c.Must(t, "PUT", schedule, map[string]any{"cron": "@every 2s", "time_zone": "UTC", "enabled": false}, 200, nil)

	// Every backup settles, the killed replica's too (recovered as stale).
	var backups []sphttp.BackupView
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		backups = c.List(t, order, prov)
		if !slices.ContainsFunc(backups, func(b sphttp.BackupView) bool { return b.Status == "creating" || b.Status == "restoring" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backups still running a minute after the schedule was paused: %+v", backups)
		}
	}

	all := runs(c)
	madeBy := map[string]time.Time{} // backup ID → the slot that made it
	for i, r := range all {
		if i > 0 && !r.Slot.Before(all[i-1].Slot) {
			t.Errorf("runs not one per slot, newest first: %v after %v", r.Slot, all[i-1].Slot)
		}
		if r.BackupID == nil {
			continue
		}
		if slot, dup := madeBy[*r.BackupID]; dup {
			t.Errorf("backup %s made by the runs of %v and %v", *r.BackupID, slot, r.Slot)
		}
		madeBy[*r.BackupID] = r.Slot
	}
	scheduled := 0
	for _, b := range backups {
		if b.ScheduleID == nil {
			continue
		}
		scheduled++
		if _, ok := madeBy[b.ID]; !ok {
			t.Errorf("scheduled backup %s (%s) was made by no run: a slot ran twice", b.ID, b.Name)
		}
	}
	if scheduled == 0 {
		t.Fatal("no scheduled backup is listed")
	}
	t.Logf("%d runs, %d scheduled backups listed", len(all), scheduled)
}

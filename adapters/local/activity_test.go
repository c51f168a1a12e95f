package local_test

import (
	"slices"
	"testing"
	"time"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestActivityContract(t *testing.T) {
	portstest.RunActivityTests(t, portstest.ActivityHarness{
		New: func(t *testing.T) (portstest.ActivityStores, portstest.Host) {
			log := local.NewActivityLog()
			return portstest.ActivityStores{
				Repository: local.NewRepositoryWithLog(log),
				Schedules:  local.NewSchedulesWithLog(log),
				Log:        log,
			}, host{local.NewCatalog(), local.NewAssets()}
		},
	})
}

// TestPackageSharesOneActivityLog: the injector's repository and schedules
// write the log it offers as ports.ActivityLog, so a host that wires
// local.Package() sees a schedule's runs beside its backups.
func TestPackageSharesOneActivityLog(t *testing.T) {
	injector := do.New(local.Package())
	repo := do.MustInvoke[ports.Repository](injector)
	schedules := do.MustInvoke[ports.Schedules](injector)
	log := do.MustInvoke[ports.ActivityLog](injector)
	order, prov := ports.NewOrderID(), ports.NewProvisionID()
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: "x", Status: ports.StatusCreating}
	if err := repo.Create(t.Context(), b, 10); err != nil {
		t.Fatal(err)
	}
	sc, err := schedules.Put(t.Context(), ports.Schedule{ID: ports.NewScheduleID(), OrderID: order, ProvisionID: prov,
		Cron: "@daily", TimeZone: "UTC", NameTemplate: "x"})
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := schedules.ClaimRun(t.Context(), sc.ID, b.CreatedAt, b.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	run.Outcome, run.Reason = ports.RunSkipped, "busy"
	if err := schedules.FinishRun(t.Context(), sc.ID, run); err != nil {
		t.Fatal(err)
	}
	got, err := log.ListActivity(t.Context(), order, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Type != ports.ActivityScheduleRunSkipped || got[1].Type != ports.ActivityBackupCreated {
		t.Errorf("the injector's log holds %+v, want the skipped run and the create", got)
	}
}

// TestDeleteOrderActivity: erasing an order's history leaves the other
// orders' events with their IDs, pages and follower positions as they were,
// and hands out no erased ID again.
func TestDeleteOrderActivity(t *testing.T) {
	log := local.NewActivityLog()
	repo := local.NewRepositoryWithLog(log)
	gone, kept := ports.NewOrderID(), ports.NewOrderID()
	create := func(order ports.OrderID) {
		t.Helper()
		b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: ports.NewProvisionID(), Name: "x", Status: ports.StatusCreating}
		if err := repo.Create(t.Context(), b, 10); err != nil {
			t.Fatal(err)
		}
		b.Status, b.Error, b.CompletedAt = ports.StatusFailed, "no room", time.Now()
		if err := repo.Update(t.Context(), b, ports.StatusCreating); err != nil {
			t.Fatal(err)
		}
	}
	// Two events each: created and failed.
	create(gone) // 1, 2
	create(kept) // 3, 4
	create(gone) // 5, 6
	create(kept) // 7, 8

	if n, err := log.DeleteOrderActivity(t.Context(), gone); err != nil || n != 4 {
		t.Fatalf("DeleteOrderActivity = %d, %v; want its 4 events", n, err)
	}
	ids := func(list []ports.Activity, err error) []ports.ActivityID {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []ports.ActivityID{}
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	for _, c := range []struct {
		name      string
		got, want []ports.ActivityID
	}{
		{"the erased order's log", ids(log.ListActivity(t.Context(), gone, 0, 10)), []ports.ActivityID{}},
		{"the other order's log", ids(log.ListActivity(t.Context(), kept, 0, 10)), []ports.ActivityID{8, 7, 4, 3}},
		{"its page before 7", ids(log.ListActivity(t.Context(), kept, 7, 10)), []ports.ActivityID{4, 3}},
		{"its page before 6 (an erased ID)", ids(log.ListActivity(t.Context(), kept, 6, 10)), []ports.ActivityID{4, 3}},
		{"every order since 0", ids(log.ActivitySince(t.Context(), 0, ports.OrderID{}, 10)), []ports.ActivityID{3, 4, 7, 8}},
		{"every order since 4", ids(log.ActivitySince(t.Context(), 4, ports.OrderID{}, 10)), []ports.ActivityID{7, 8}},
		{"every order since 5 (an erased ID)", ids(log.ActivitySince(t.Context(), 5, ports.OrderID{}, 10)), []ports.ActivityID{7, 8}},
		{"the erased order since 0", ids(log.ActivitySince(t.Context(), 0, gone, 10)), []ports.ActivityID{}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: IDs %v, want %v", c.name, c.got, c.want)
		}
	}
	create(gone)
	if got := ids(log.ListActivity(t.Context(), gone, 0, 10)); !slices.Equal(got, []ports.ActivityID{10, 9}) {
		t.Errorf("events after the erasure have IDs %v, want [10 9]: IDs are never reused", got)
	}
	if latest, err := log.LatestActivity(t.Context()); err != nil || latest != 10 {
		t.Errorf("LatestActivity = %d, %v; want 10", latest, err)
	}
}

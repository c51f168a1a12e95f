package local_test

import (
	"testing"

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

package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestSchedulesContract(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		portstest.RunSchedulesTests(t, portstest.SchedulesHarness{
			New: func(t *testing.T) (ports.Schedules, portstest.Host) {
				pool, layout := migrated(t)
				return postgres.NewSchedules(pool, layout), host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
			},
		})
	})
}

// TestSchedulesGoWithTheirProvision: in the default layout a schedule and its
// runs are deleted with its provision, and with its order.
func TestSchedulesGoWithTheirProvision(t *testing.T) {
	t.Parallel()
	pool := standalone(t)
	store := postgres.NewSchedules(pool, postgres.Layout{})
	cat := postgres.NewCatalog(pool)
	for _, gone := range []string{"provisions", "orders"} {
		t.Run("when its "+gone+" row is deleted", func(t *testing.T) {
			order, prov := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}, ports.NewProvisionID()
			must(t, cat.CreateOrder(t.Context(), order))
			must(t, cat.CreateProvision(t.Context(), ports.Provision{ID: prov, OrderID: order.ID, Kind: ports.KindDeployment, Primary: true}))
			sc, err := store.Put(t.Context(), ports.Schedule{ID: ports.NewScheduleID(), OrderID: order.ID, ProvisionID: prov,
				Cron: "@daily", TimeZone: "UTC", NameTemplate: "x"})
			must(t, err)
			_, _, err = store.ClaimRun(t.Context(), sc.ID, time.Now(), time.Now())
			must(t, err)
			id := order.ID.String()
			if gone == "provisions" {
				id = prov.String()
			}
			exec(t, pool, `DELETE FROM `+gone+` WHERE id = $1`, id)
			if _, err := store.FindByProvision(t.Context(), prov); err == nil {
				t.Error("the schedule outlived its " + gone + " row")
			}
			var runs int
			must(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM backup_schedule_runs WHERE schedule_id = $1`, sc.ID).Scan(&runs))
			if runs != 0 {
				t.Errorf("%d runs outlived their schedule", runs)
			}
		})
	}
}

// TestFinishRunOnOneConnection: FinishRun of a run that was never claimed
// answers ErrNotFound from a pool of one connection. It asks whether the run
// exists on the connection its transaction holds; a second connection would
// never come, and a pool exhausted by such calls would hang them all.
func TestFinishRunOnOneConnection(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	if err := postgres.MigrateStandalone(t.Context(), openPool(t, url), postgres.Layout{}); err != nil {
		t.Fatalf("MigrateStandalone: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	must(t, err)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	must(t, err)
	t.Cleanup(pool.Close)

	// The bound only turns a hang into a failure; the call takes milliseconds.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	run := ports.ScheduleRun{Slot: time.Now().UTC().Truncate(time.Minute), Outcome: ports.RunSkipped, Reason: "busy"}
	err = postgres.NewSchedules(pool, postgres.Layout{}).FinishRun(ctx, ports.NewScheduleID(), run)
	if !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("FinishRun of an unclaimed run on a pool of one connection = %v; want ErrNotFound", err)
	}
}

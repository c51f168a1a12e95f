package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestActivityContract(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		portstest.RunActivityTests(t, portstest.ActivityHarness{
			New: func(t *testing.T) (portstest.ActivityStores, portstest.Host) {
				pool, layout := migrated(t)
				return portstest.ActivityStores{
					Repository: postgres.NewRepository(pool, layout),
					Schedules:  postgres.NewSchedules(pool, layout),
					Log:        postgres.NewActivityLog(pool, layout),
				}, host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
			},
		})
	})
}

package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestActivityContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		layout func(t *testing.T, pool *pgxpool.Pool) postgres.Layout
	}{
		{"in the default layout", func(*testing.T, *pgxpool.Pool) postgres.Layout { return postgres.Layout{} }},
		{"in a schema of its own", func(t *testing.T, pool *pgxpool.Pool) postgres.Layout {
			return postgres.Layout{Schema: ownSchema(t, pool)}
		}},
		{"without foreign keys", func(*testing.T, *pgxpool.Pool) postgres.Layout {
			return postgres.Layout{NoForeignKeys: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			portstest.RunActivityTests(t, portstest.ActivityHarness{
				New: func(t *testing.T) (portstest.ActivityStores, portstest.Host) {
					pool := testenv.Postgres(t)
					layout := tc.layout(t, pool)
					if err := postgres.MigrateStandalone(t.Context(), pool, layout); err != nil {
						t.Fatalf("MigrateStandalone: %v", err)
					}
					return portstest.ActivityStores{
						Repository: postgres.NewRepository(pool, layout),
						Schedules:  postgres.NewSchedules(pool, layout),
						Log:        postgres.NewActivityLog(pool, layout),
					}, host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
				},
			})
		})
	}
}

package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestRepositoryContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// layout prepares the host's side of a fresh test schema and returns the
		// layout to migrate.
		layout func(t *testing.T, pool *pgxpool.Pool) postgres.Layout
	}{
		{"in the default layout", func(*testing.T, *pgxpool.Pool) postgres.Layout { return postgres.Layout{} }},
		{"in a schema of its own beside the host's backups table", func(t *testing.T, pool *pgxpool.Pool) postgres.Layout {
			// Any statement that reaches this table instead of savepoint's fails on
			// its columns.
			exec(t, pool, `CREATE TABLE backups (id serial PRIMARY KEY, server text NOT NULL);
				INSERT INTO backups (server) VALUES ('mc-1')`)
			return postgres.Layout{Schema: ownSchema(t, pool)}
		}},
		{"without foreign keys", func(*testing.T, *pgxpool.Pool) postgres.Layout {
			return postgres.Layout{NoForeignKeys: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			portstest.RunRepositoryTests(t, portstest.RepositoryHarness{
				New: func(t *testing.T) (ports.Repository, portstest.Host) {
					pool := testenv.Postgres(t)
					layout := tc.layout(t, pool)
					if err := postgres.MigrateStandalone(t.Context(), pool, layout); err != nil {
						t.Fatalf("MigrateStandalone: %v", err)
					}
					return postgres.NewRepository(pool, layout), host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
				},
			})
		})
	}
}

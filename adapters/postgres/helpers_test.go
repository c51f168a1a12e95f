package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// host is the standalone host platform: the catalog's orders and provisions and
// the assets the backups refer to.
type host struct {
	*postgres.Catalog
	*postgres.Assets
}

// standalone returns a pool on a fresh schema holding the standalone tables.
func standalone(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool := testenv.Postgres(tb)
	if err := postgres.MigrateStandalone(tb.Context(), pool, postgres.Layout{}); err != nil {
		tb.Fatalf("MigrateStandalone: %v", err)
	}
	return pool
}

// ownSchema returns a name for a schema of savepoint's own beside the test's
// schema (which stands for the host's), and drops that schema when the test ends.
// The name needs quoting, so that a statement that fails to quote it fails.
func ownSchema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	return extraSchema(tb, pool, " SP")
}

// extraSchema returns the test schema's name with suffix, for a schema that
// Migrate is to create, and drops that schema when the test ends.
func extraSchema(tb testing.TB, pool *pgxpool.Pool, suffix string) string {
	tb.Helper()
	var name string
	if err := pool.QueryRow(tb.Context(), `SELECT current_schema() || $1`, suffix).Scan(&name); err != nil {
		tb.Fatalf("naming a schema: %v", err)
	}
	if len(name) > 63 {
		tb.Fatalf("schema name %q is longer than PostgreSQL keeps", name)
	}
	// Registered after the pool's own cleanup, so it runs while the pool is open.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// forEachLayout runs a contract suite in a parallel subtest per way a host may
// lay savepoint's tables out. The suite gets migrated, which returns a fresh
// database migrated in that layout.
func forEachLayout(t *testing.T, suite func(t *testing.T, migrated func(t *testing.T) (*pgxpool.Pool, postgres.Layout))) {
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
			suite(t, func(t *testing.T) (*pgxpool.Pool, postgres.Layout) {
				pool := testenv.Postgres(t)
				layout := tc.layout(t, pool)
				if err := postgres.MigrateStandalone(t.Context(), pool, layout); err != nil {
					t.Fatalf("MigrateStandalone: %v", err)
				}
				return pool, layout
			})
		})
	}
}

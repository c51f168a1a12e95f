package postgres_test

import (
	"testing"

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
	if err := postgres.MigrateStandalone(tb.Context(), pool); err != nil {
		tb.Fatalf("MigrateStandalone: %v", err)
	}
	return pool
}

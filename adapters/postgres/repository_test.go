package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestRepositoryContract(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		portstest.RunRepositoryTests(t, portstest.RepositoryHarness{
			New: func(t *testing.T) (ports.Repository, portstest.Host) {
				pool, layout := migrated(t)
				return postgres.NewRepository(pool, layout), host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
			},
		})
	})
}

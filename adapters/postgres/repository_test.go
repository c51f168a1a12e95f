package postgres_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestRepositoryContract(t *testing.T) {
	t.Parallel()
	portstest.RunRepositoryTests(t, portstest.RepositoryHarness{
		New: func(t *testing.T) (ports.Repository, portstest.Host) {
			pool := standalone(t)
			return postgres.NewRepository(pool), host{postgres.NewCatalog(pool), postgres.NewAssets(pool)}
		},
	})
}

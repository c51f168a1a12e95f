package postgres_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestCatalogContract(t *testing.T) {
	t.Parallel()
	portstest.RunCatalogTests(t, portstest.CatalogHarness{
		New: func(t *testing.T) portstest.Catalog { return postgres.NewCatalog(standalone(t)) },
	})
}

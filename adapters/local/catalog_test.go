package local_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestCatalogContract(t *testing.T) {
	portstest.RunCatalogTests(t, portstest.CatalogHarness{
		New: func(*testing.T) portstest.Catalog { return local.NewCatalog() },
	})
}

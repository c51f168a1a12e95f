package local_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

// host is the in-memory host platform: the catalog's orders and provisions and the
// assets the backups refer to.
type host struct {
	*local.Catalog
	*local.Assets
}

func TestRepositoryContract(t *testing.T) {
	portstest.RunRepositoryTests(t, portstest.RepositoryHarness{
		New: func(t *testing.T) (ports.Repository, portstest.Host) {
			return local.NewRepository(), host{local.NewCatalog(), local.NewAssets()}
		},
	})
}

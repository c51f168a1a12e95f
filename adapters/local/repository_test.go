package local_test

import (
	"testing"
	"time"

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

func TestRepositoryKeepsTimesAsPostgreSQLDoes(t *testing.T) {
	repo := local.NewRepository()
	// Nanoseconds and a zone: PostgreSQL keeps neither, and code tested against the
	// memory twin should not come to depend on them.
	at := time.Date(2026, time.January, 2, 3, 4, 5, 123_456_789, time.FixedZone("CEST", 2*60*60))
	b := ports.Backup{
		ID: ports.NewBackupID(), OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		Name: "precise", Status: ports.StatusCreating, CreatedAt: at, HeartbeatAt: at,
	}
	if err := repo.Create(t.Context(), b, 10); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := repo.Find(t.Context(), b.ID)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	want := time.Date(2026, time.January, 2, 1, 4, 5, 123_456_000, time.UTC)
	for name, got := range map[string]time.Time{"CreatedAt": got.CreatedAt, "HeartbeatAt": got.HeartbeatAt} {
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

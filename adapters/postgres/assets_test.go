package postgres_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestAssetsContract(t *testing.T) {
	t.Parallel()
	portstest.RunAssetsTests(t, portstest.AssetsHarness{
		New: func(t *testing.T) ports.Assets { return postgres.NewAssets(standalone(t), postgres.Layout{}) },
	})
}

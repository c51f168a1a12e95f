package local_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestAssetsContract(t *testing.T) {
	portstest.RunAssetsTests(t, portstest.AssetsHarness{
		New: func(*testing.T) ports.Assets { return local.NewAssets() },
	})
}

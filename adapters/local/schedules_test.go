package local_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestSchedulesContract(t *testing.T) {
	portstest.RunSchedulesTests(t, portstest.SchedulesHarness{
		New: func(t *testing.T) (ports.Schedules, portstest.Host) {
			return local.NewSchedules(), host{local.NewCatalog(), local.NewAssets()}
		},
	})
}

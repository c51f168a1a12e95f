package local_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestWebhookCursorsContract(t *testing.T) {
	portstest.RunWebhookCursorsTests(t, portstest.WebhookCursorsHarness{
		New: func(*testing.T) ports.WebhookCursors { return local.NewWebhookCursors() },
	})
}

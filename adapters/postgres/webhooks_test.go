package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestWebhookCursorsContract(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		portstest.RunWebhookCursorsTests(t, portstest.WebhookCursorsHarness{
			New: func(t *testing.T) ports.WebhookCursors {
				pool, layout := migrated(t)
				return postgres.NewWebhookCursors(pool, layout)
			},
		})
	})
}

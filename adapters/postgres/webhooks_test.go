package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestWebhookCursorsContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		layout func(t *testing.T, pool *pgxpool.Pool) postgres.Layout
	}{
		{"in the default layout", func(*testing.T, *pgxpool.Pool) postgres.Layout { return postgres.Layout{} }},
		{"in a schema of its own", func(t *testing.T, pool *pgxpool.Pool) postgres.Layout {
			return postgres.Layout{Schema: ownSchema(t, pool)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			portstest.RunWebhookCursorsTests(t, portstest.WebhookCursorsHarness{
				New: func(t *testing.T) ports.WebhookCursors {
					pool := testenv.Postgres(t)
					layout := tc.layout(t, pool)
					if err := postgres.MigrateStandalone(t.Context(), pool, layout); err != nil {
						t.Fatalf("MigrateStandalone: %v", err)
					}
					return postgres.NewWebhookCursors(pool, layout)
				},
			})
		})
	}
}

package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("opens, migrates as configured, and reports health until shut down", func(t *testing.T) {
		t.Parallel()
		pool, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Standalone: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(pool.Close)
		catalog := postgres.NewCatalog(pool)
		if err := catalog.CreateOrder(t.Context(), ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}); err != nil {
			t.Fatalf("using the standalone tables: %v", err)
		}
		if err := pool.HealthCheck(t.Context()); err != nil {
			t.Errorf("HealthCheck: %v", err)
		}
		if err := pool.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := pool.HealthCheck(t.Context()); err == nil {
			t.Error("HealthCheck after Shutdown succeeded")
		}
	})

	t.Run("on a database without the host tables, fails with the migration's advice", func(t *testing.T) {
		t.Parallel()
		_, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t)})
		if err == nil || !strings.Contains(err.Error(), "MigrateStandalone") {
			t.Fatalf("Open: %v, want the migration's error", err)
		}
	})

	t.Run("with SkipMigrations leaves the schema alone", func(t *testing.T) {
		t.Parallel()
		pool, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), SkipMigrations: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(pool.Close)
		var tables int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("the schema holds %d tables (%v), want none", tables, err)
		}
	})

	t.Run("refuses a malformed URL", func(t *testing.T) {
		t.Parallel()
		for _, url := range []string{"", "postgres://[::1", "host=127.0.0.1 port=notaport"} {
			if _, err := postgres.Open(t.Context(), postgres.Config{URL: url}); err == nil {
				t.Errorf("Open(%q) succeeded", url)
			}
		}
	})

	t.Run("an unreachable server is a database error", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		// Port 1 on loopback: nothing listens there, so the connection is refused.
		_, err := postgres.Open(ctx, postgres.Config{URL: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"})
		if !errors.Is(err, ports.ErrDatabase) {
			t.Fatalf("Open: %v, want ErrDatabase", err)
		}
	})

	t.Run("shutdown gives up when its context ends while a connection is in use", func(t *testing.T) {
		t.Parallel()
		pool, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), SkipMigrations: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		conn, err := pool.Acquire(t.Context())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := pool.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown with a connection in use: %v, want DeadlineExceeded", err)
		}
		conn.Release() // lets the background close finish before the schema is dropped
		if err := pool.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown once the connection is back: %v", err)
		}
	})
}

// TestOpenWithLayout: Open migrates savepoint's tables into the configured
// layout, and the standalone host tables into the search path.
func TestOpenWithLayout(t *testing.T) {
	t.Parallel()
	url, layout := withOwnSchema(t)
	pool, err := postgres.Open(t.Context(), postgres.Config{URL: url, Standalone: true, Layout: layout})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(pool.Close)
	var backups, orders string
	must(t, pool.QueryRow(t.Context(), `SELECT to_regclass($1)::text, to_regclass('orders')::text`,
		pgx.Identifier{layout.Schema, "backups"}.Sanitize()).Scan(&backups, &orders))
	if backups == "" || orders != "orders" {
		t.Errorf("after Open: backups is %q, orders %q; want savepoint's table in %s and the host's in the search path", backups, orders, layout.Schema)
	}
}

func TestPackage(t *testing.T) {
	t.Parallel()
	// In a schema of its own, so that a repository or assets store given any
	// other layout finds no tables.
	url, layout := withOwnSchema(t)
	injector := do.New(postgres.Package(postgres.Config{URL: url, Standalone: true, Layout: layout}))

	catalog := do.MustInvoke[*postgres.Catalog](injector)
	assets := do.MustInvoke[*postgres.Assets](injector)
	repo := do.MustInvoke[*postgres.Repository](injector)
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	must(t, catalog.CreateOrder(t.Context(), o))
	must(t, catalog.CreateProvision(t.Context(), p))
	must(t, assets.CreateAsset(t.Context(), ports.Asset{ID: ports.NewAssetID(), OwnerID: o.OwnerID, Key: "k"}))
	must(t, repo.Create(t.Context(), ports.Backup{ID: ports.NewBackupID(), OrderID: o.ID, ProvisionID: p.ID, Name: "via do", Status: ports.StatusCreating}, 10))

	for name, err := range injector.HealthCheckWithContext(t.Context()) {
		if err != nil {
			t.Errorf("health check of %s: %v", name, err)
		}
	}
	if report := injector.ShutdownWithContext(t.Context()); !report.Succeed {
		t.Fatalf("Shutdown: %v", report)
	}
	if _, err := repo.CountByProvision(t.Context(), p.ID); err == nil {
		t.Error("the repository still works after the injector shut the pool down")
	}
}

// withOwnSchema returns a connection string on a fresh test schema, and a Layout
// that puts savepoint's tables in a schema beside it, dropped when the test ends.
func withOwnSchema(t *testing.T) (string, postgres.Layout) {
	t.Helper()
	url := testenv.PostgresURL(t)
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return url, postgres.Layout{Schema: ownSchema(t, pool)}
}

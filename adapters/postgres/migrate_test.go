package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestMigrate(t *testing.T) {
	t.Parallel()

	// The schema a single MigrateStandalone on an empty schema produces; every
	// other way of getting there must end with exactly this.
	reference := schemaOf(t, standalone(t))

	t.Run("the schema holds the invariants' constraints and indexes", func(t *testing.T) {
		t.Parallel()
		for _, want := range []string{
			"index backups_one_active_per_order: CREATE UNIQUE INDEX backups_one_active_per_order ON backups USING btree (order_id) WHERE (status = ANY (ARRAY['creating'::text, 'restoring'::text]))",
			"index backups_provision_created_idx: CREATE INDEX backups_provision_created_idx ON backups USING btree (provision_id, created_at DESC, id DESC)",
			"constraint backups.backups_order_id_fkey: FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE",
			"constraint backups.backups_provision_id_fkey: FOREIGN KEY (provision_id) REFERENCES provisions(id) ON DELETE RESTRICT",
			"constraint backups.backups_asset_id_fkey: FOREIGN KEY (asset_id) REFERENCES assets(id) ON DELETE SET NULL",
			"constraint backups.backups_status_check: CHECK ((status = ANY (ARRAY['creating'::text, 'ready'::text, 'failed'::text, 'restoring'::text])))",
			"constraint backups.backups_deleting_check: CHECK (((NOT deleting) OR (status = ANY (ARRAY['ready'::text, 'failed'::text]))))",
			"migration backups 1 0001_backups.sql",
			"migration host 1 0001_host_tables.sql",
		} {
			if !strings.Contains(reference, want+"\n") {
				t.Errorf("schema lacks %q; it is:\n%s", want, reference)
			}
		}
	})

	t.Run("running it twice changes nothing", func(t *testing.T) {
		t.Parallel()
		pool := standalone(t)
		if err := postgres.MigrateStandalone(t.Context(), pool); err != nil {
			t.Fatalf("second MigrateStandalone: %v", err)
		}
		if err := postgres.Migrate(t.Context(), pool); err != nil {
			t.Fatalf("Migrate after MigrateStandalone: %v", err)
		}
		assertSchema(t, pool, reference)
	})

	t.Run("five replicas migrating at once leave one correct schema", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		errs := make([]error, 5)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = postgres.MigrateStandalone(t.Context(), pool)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		assertSchema(t, pool, reference)
	})

	t.Run("a host's own tables are used, and only the backups schema is added", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		exec(t, pool, `
			CREATE TABLE orders (id uuid PRIMARY KEY, customer text NOT NULL, plan text);
			CREATE TABLE provisions (id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES orders, image text);
			CREATE TABLE assets (id uuid PRIMARY KEY, path text NOT NULL)`)
		for range 2 {
			if err := postgres.Migrate(t.Context(), pool); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		got := schemaOf(t, pool)
		if strings.Contains(got, "migration host") || strings.Contains(got, "user_permissions") {
			t.Errorf("Migrate applied the standalone host tables:\n%s", got)
		}
		if !strings.Contains(got, "migration backups 1 0001_backups.sql\n") {
			t.Errorf("Migrate did not record the backups migration:\n%s", got)
		}

		order, prov := ports.NewOrderID(), ports.NewProvisionID()
		exec(t, pool, `INSERT INTO orders (id, customer) VALUES ($1, 'acme')`, order)
		exec(t, pool, `INSERT INTO provisions (id, order_id, image) VALUES ($1, $2, 'minecraft')`, prov, order)
		repo := postgres.NewRepository(pool)
		b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: "on the host's tables", Status: ports.StatusCreating}
		if err := repo.Create(t.Context(), b, 10); err != nil {
			t.Fatalf("Create on the host's tables: %v", err)
		}
	})

	t.Run("without the host's tables it fails, names the way out, and applies nothing", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		err := postgres.Migrate(t.Context(), pool)
		if err == nil || !strings.Contains(err.Error(), "MigrateStandalone") || !errors.Is(err, ports.ErrDatabase) {
			t.Fatalf("Migrate without host tables: %v; want an ErrDatabase naming MigrateStandalone", err)
		}
		if got := schemaOf(t, pool); got != "" {
			t.Errorf("a failed migration left objects behind:\n%s", got)
		}
	})

	t.Run("a cancelled context applies nothing", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := postgres.MigrateStandalone(ctx, pool); err == nil {
			t.Fatal("MigrateStandalone with a cancelled context succeeded")
		}
		if got := schemaOf(t, pool); got != "" {
			t.Errorf("a cancelled migration left objects behind:\n%s", got)
		}
	})
}

func assertSchema(t *testing.T, pool *pgxpool.Pool, want string) {
	t.Helper()
	if got := schemaOf(t, pool); got != want {
		t.Errorf("schema differs from a single migration's:\n got:\n%s\nwant:\n%s", got, want)
	}
}

// schemaOf describes the current schema — columns, indexes, constraints and
// applied migrations, one per line, sorted, without the schema's own name — so
// that two schemas can be compared as strings.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		SELECT format('column %s.%s %s %s default %s', table_name, column_name, data_type,
			CASE is_nullable WHEN 'YES' THEN 'null' ELSE 'not null' END, coalesce(column_default, '-'))
		FROM information_schema.columns WHERE table_schema = current_schema()
		UNION ALL
		SELECT format('index %s: %s', indexname, replace(indexdef, current_schema() || '.', ''))
		FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL
		SELECT format('constraint %s.%s: %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
		FROM pg_constraint c WHERE c.connamespace = current_schema()::regnamespace
		ORDER BY 1`)
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("reading the schema: %v", err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	var tracked bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass('savepoint_migrations') IS NOT NULL`).Scan(&tracked); err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	if tracked {
		rows, err := pool.Query(t.Context(), `SELECT set_name, version, name FROM savepoint_migrations ORDER BY 1, 2`)
		if err != nil {
			t.Fatalf("reading savepoint_migrations: %v", err)
		}
		for rows.Next() {
			var set, name string
			var version int
			if err := rows.Scan(&set, &version, &name); err != nil {
				t.Fatalf("reading savepoint_migrations: %v", err)
			}
			fmt.Fprintf(&b, "migration %s %d %s\n", set, version, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("reading savepoint_migrations: %v", err)
		}
	}
	return b.String()
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestLayoutOwnSchema: savepoint's tables go to a schema of their own, beside
// a host's backups table, which stays as it was.
func TestLayoutOwnSchema(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	exec(t, pool, `
		CREATE TABLE orders (id uuid PRIMARY KEY);
		CREATE TABLE provisions (id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES orders);
		CREATE TABLE backups (id serial PRIMARY KEY, server text NOT NULL);
		INSERT INTO backups (server) VALUES ('mc-1')`)
	host := schemaOf(t, pool)
	layout := postgres.Layout{Schema: ownSchema(t, pool)}
	for range 2 {
		if err := postgres.Migrate(t.Context(), pool, layout); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	assertSchema(t, pool, host)
	own := schemaIn(t, pool, layout.Schema)
	for _, want := range []string{
		"constraint backups.backups_order_id_fkey: FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE",
		"constraint backups.backups_provision_id_fkey: FOREIGN KEY (provision_id) REFERENCES provisions(id) ON DELETE RESTRICT",
		"constraint backup_assets.backup_assets_pkey: PRIMARY KEY (id)",
		"constraint backup_fences.backup_fences_pkey: PRIMARY KEY (order_id)",
		"migration backups 2 0002_assets_fences_skipped.sql",
		"migration backups 3 0003_progress.sql",
		"migration backups 4 0004_locks.sql",
	} {
		if !strings.Contains(own, want+"\n") {
			t.Errorf("savepoint's schema lacks %q; it is:\n%s", want, own)
		}
	}
	finishBackupOnHost(t, pool, layout)
	var hosts int
	must(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM backups`).Scan(&hosts))
	if hosts != 1 {
		t.Errorf("the host's backups table holds %d rows, want its 1", hosts)
	}
}

// TestLayoutNamingTheSearchPathSchema: a Layout that names the schema the zero
// Layout uses, and the default host tables, migrates to the same schema (through
// the qualified, quoted statements instead of the bare ones).
func TestLayoutNamingTheSearchPathSchema(t *testing.T) {
	t.Parallel()
	reference := schemaOf(t, standalone(t))
	pool := testenv.Postgres(t)
	var schema string
	must(t, pool.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema))
	explicit := postgres.Layout{Schema: schema, Orders: "orders", Provisions: "provisions"}
	if err := postgres.MigrateStandalone(t.Context(), pool, explicit); err != nil {
		t.Fatalf("MigrateStandalone: %v", err)
	}
	assertSchema(t, pool, reference)
}

// TestLayoutNoForeignKeys: without foreign keys none is created, and no host
// table is needed.
func TestLayoutNoForeignKeys(t *testing.T) {
	t.Parallel()
	for name, migrate := range map[string]func(context.Context, postgres.DB, postgres.Layout, ...postgres.MigrateStep) error{
		"Migrate": postgres.Migrate, "MigrateStandalone": postgres.MigrateStandalone,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := testenv.Postgres(t)
			layout := postgres.Layout{Schema: ownSchema(t, pool), NoForeignKeys: true}
			if err := migrate(t.Context(), pool, layout); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := schemaIn(t, pool, layout.Schema); strings.Contains(got, "FOREIGN KEY") {
				t.Errorf("savepoint's tables have foreign keys:\n%s", got)
			}
			var fkeys int
			must(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_constraint c
				JOIN pg_namespace n ON n.oid = c.connamespace
				WHERE c.contype = 'f' AND n.nspname = $1`, layout.Schema).Scan(&fkeys))
			if fkeys != 0 {
				t.Errorf("pg_constraint holds %d foreign keys in savepoint's schema, want none", fkeys)
			}
			b := ports.Backup{ID: ports.NewBackupID(), OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(), Name: "unknown to the host", Status: ports.StatusCreating}
			must(t, postgres.NewRepository(pool, layout).Create(t.Context(), b, 10))
		})
	}
}

// TestLayoutHostTables: host tables named in the Layout get the foreign keys.
func TestLayoutHostTables(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	var schema string
	must(t, pool.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema))
	exec(t, pool, `
		CREATE TABLE "Shop Orders" (id uuid PRIMARY KEY);
		CREATE TABLE shop_provisions (id uuid PRIMARY KEY, order_id uuid NOT NULL)`)
	layout := postgres.Layout{
		Orders: `"Shop Orders"`,
		// Qualified, and unquoted upper case folds as in SQL.
		Provisions: pgx.Identifier{schema}.Sanitize() + ".SHOP_PROVISIONS",
	}
	if err := postgres.Migrate(t.Context(), pool, layout); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	rows, err := pool.Query(t.Context(), `SELECT c.conname || ' -> ' || c.confrelid::regclass::text FROM pg_constraint c
		WHERE c.conrelid = 'backups'::regclass AND c.contype = 'f' ORDER BY 1`)
	must(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	must(t, err)
	if want := []string{`backups_order_id_fkey -> "Shop Orders"`, `backups_provision_id_fkey -> shop_provisions`}; !slices.Equal(got, want) {
		t.Errorf("foreign keys %q, want %q", got, want)
	}
	order, prov := ports.NewOrderID(), ports.NewProvisionID()
	exec(t, pool, `INSERT INTO "Shop Orders" VALUES ($1)`, order)
	exec(t, pool, `INSERT INTO shop_provisions VALUES ($1, $2)`, prov, order)
	repo := postgres.NewRepository(pool, layout)
	must(t, repo.Create(t.Context(), ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: "x", Status: ports.StatusCreating}, 10))
	exec(t, pool, `DELETE FROM "Shop Orders" WHERE id = $1`, order)
	if n, err := repo.CountByProvision(t.Context(), prov); err != nil || n != 0 {
		t.Errorf("after deleting the order the provision holds %d backups (%v), want 0", n, err)
	}
}

// TestLayoutRefusesNonNames: a host table that is not a name is refused, and
// nothing is applied.
func TestLayoutRefusesNonNames(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	exec(t, pool, `CREATE TABLE orders (id uuid PRIMARY KEY); CREATE TABLE provisions (id uuid PRIMARY KEY)`)
	before := schemaOf(t, pool)
	err := postgres.Migrate(t.Context(), pool, postgres.Layout{Orders: "orders (id); DROP TABLE provisions; --"})
	if err == nil || !strings.Contains(err.Error(), "Layout.Orders") {
		t.Fatalf("Migrate: %v, want an error naming Layout.Orders", err)
	}
	assertSchema(t, pool, before)
}

// TestMigrateLockPerSchema: a migration under way in one schema does not hold
// up another.
func TestMigrateLockPerSchema(t *testing.T) {
	t.Parallel()
	pool := testenv.Postgres(t)
	busy := postgres.Layout{Schema: extraSchema(t, pool, " busy"), NoForeignKeys: true}
	free := postgres.Layout{Schema: extraSchema(t, pool, " free"), NoForeignKeys: true}
	release := holdMigrationLock(t, pool, busy.Schema)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := postgres.Migrate(ctx, pool, free); err != nil {
		t.Fatalf("Migrate in another schema while one migrates: %v", err)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancelShort()
	started := time.Now()
	if err := postgres.Migrate(short, pool, busy); err == nil || time.Since(started) < 250*time.Millisecond {
		t.Fatalf("Migrate in the schema under way returned %v after %v, want it to wait until its deadline", err, time.Since(started))
	}
	release()
	if err := postgres.Migrate(t.Context(), pool, busy); err != nil {
		t.Fatalf("Migrate once the other migration is done: %v", err)
	}
}

// holdMigrationLock takes the lock a migration of schema holds, on a connection
// of its own, until release is called (or the test ends).
func holdMigrationLock(t *testing.T, pool *pgxpool.Pool, schema string) (release func()) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	must(t, err)
	if _, err := tx.Exec(t.Context(), `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.migrate:' || $1, 0))`, schema); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = tx.Rollback(context.Background()) }
	t.Cleanup(release)
	return release
}

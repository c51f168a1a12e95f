package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
			"index backups_asset_id_idx: CREATE INDEX backups_asset_id_idx ON backups USING btree (asset_id) WHERE (asset_id IS NOT NULL)",
			"constraint backups.backups_order_id_fkey: FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE",
			"constraint backups.backups_provision_id_fkey: FOREIGN KEY (provision_id) REFERENCES provisions(id) ON DELETE RESTRICT",
			"constraint backups.backups_status_check: CHECK ((status = ANY (ARRAY['creating'::text, 'ready'::text, 'failed'::text, 'restoring'::text])))",
			"constraint backups.backups_deleting_check: CHECK (((NOT deleting) OR (status = ANY (ARRAY['ready'::text, 'failed'::text]))))",
			"constraint backups.backups_skipped_check: CHECK ((jsonb_typeof(skipped) = 'array'::text))",
			"constraint backup_fences.backup_fences_pkey: PRIMARY KEY (order_id)",
			"constraint backup_assets.backup_assets_pkey: PRIMARY KEY (id)",
			"column provisions #7 has_sidecar boolean not null default false",
			"migration backups 1 0001_backups.sql",
			"migration backups 2 0002_assets_fences_skipped.sql",
			"migration backups 3 0003_progress.sql",
			"migration backups 4 0004_locks.sql",
			"column backups #20 locked boolean not null default false",
			"column backups #21 schedule_id uuid null default -",
			"migration backups 5 0005_schedules.sql",
			"migration backups 6 0006_excludes_quiesce.sql",
			"column backups #22 excludes ARRAY not null default '{}'::text[]",
			"column backups #23 quiesce_method text null default -",
			"column backups #24 quiesce_paused_ms bigint not null default 0",
			"column backups #25 quiesce_warning text null default -",
			"constraint backups.backups_quiesce_paused_ms_check: CHECK ((quiesce_paused_ms >= 0))",
			"column backup_schedules #15 excludes ARRAY not null default '{}'::text[]",
			"constraint backup_schedules.backup_schedules_one_per_provision: UNIQUE (provision_id)",
			"constraint backup_schedules.backup_schedules_order_id_fkey: FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE",
			"constraint backup_schedules.backup_schedules_provision_id_fkey: FOREIGN KEY (provision_id) REFERENCES provisions(id) ON DELETE CASCADE",
			"constraint backup_schedule_runs.backup_schedule_runs_pkey: PRIMARY KEY (schedule_id, slot)",
			"constraint backup_schedule_runs.backup_schedule_runs_schedule_id_fkey: FOREIGN KEY (schedule_id) REFERENCES backup_schedules(id) ON DELETE CASCADE",
			"constraint backups.backups_progress_check: CHECK ((((progress_started_at IS NULL) AND (progress_done_bytes IS NULL) AND (progress_total_bytes IS NULL)) OR ((progress_started_at IS NOT NULL) AND (progress_done_bytes >= 0) AND (progress_total_bytes >= 0))))",
			"migration backups 7 0007_activity.sql",
			"index activity_order_id_idx: CREATE INDEX activity_order_id_idx ON activity USING btree (order_id, id DESC)",
			"migration host 1 0001_host_tables.sql",
			"migration host 2 0002_provisions_has_sidecar.sql",
		} {
			if !strings.Contains(reference, want+"\n") {
				t.Errorf("schema lacks %q; it is:\n%s", want, reference)
			}
		}
		// Backups refer to no assets table, and the standalone one has moved;
		// the activity log refers to nothing, so that it outlives its orders.
		for _, unwanted := range []string{"backups_asset_id_fkey", "column assets ", "activity_order_id_fkey"} {
			if strings.Contains(reference, unwanted) {
				t.Errorf("schema holds %q; it is:\n%s", unwanted, reference)
			}
		}
	})

	t.Run("running it twice changes nothing", func(t *testing.T) {
		t.Parallel()
		pool := standalone(t)
		if err := postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}); err != nil {
			t.Fatalf("second MigrateStandalone: %v", err)
		}
		if err := postgres.Migrate(t.Context(), pool, postgres.Layout{}); err != nil {
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
				errs[i] = postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{})
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

	t.Run("without the host's tables it fails, names the ways out, and applies nothing", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		err := postgres.Migrate(t.Context(), pool, postgres.Layout{})
		if err == nil || !strings.Contains(err.Error(), "MigrateStandalone") || !strings.Contains(err.Error(), "NoForeignKeys") || !errors.Is(err, ports.ErrDatabase) {
			t.Fatalf("Migrate without host tables: %v; want an ErrDatabase naming MigrateStandalone and NoForeignKeys", err)
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
		if err := postgres.MigrateStandalone(ctx, pool, postgres.Layout{}); err == nil {
			t.Fatal("MigrateStandalone with a cancelled context succeeded")
		}
		if got := schemaOf(t, pool); got != "" {
			t.Errorf("a cancelled migration left objects behind:\n%s", got)
		}
	})
}

// TestMigrateFromVersion1 upgrades a standalone database set up by version 1:
// it ends with the schema a fresh one gets, and keeps its assets.
func TestMigrateFromVersion1(t *testing.T) {
	t.Parallel()
	reference := schemaOf(t, standalone(t))
	for _, tc := range []struct {
		name    string
		migrate func(context.Context, postgres.DB, postgres.Layout, ...postgres.MigrateStep) error
	}{
		{"with MigrateStandalone", postgres.MigrateStandalone},
		// Migrate alone still moves the assets: the host set is recorded, so the
		// assets table is the standalone one.
		{"with Migrate", postgres.Migrate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := testenv.Postgres(t)
			migrateV1(t, pool, true)
			old := fillV1(t, pool)
			if err := tc.migrate(t.Context(), pool, postgres.Layout{}); err != nil {
				t.Fatalf("upgrading: %v", err)
			}
			if tc.name == "with MigrateStandalone" {
				assertSchema(t, pool, reference)
			}
			old.assertKept(t, pool)
		})
	}
}

// TestMigrateBesideHostTables embeds savepoint the documented way (Migrate,
// NewAssets, NewRepository) in a host whose own tables differ from the
// standalone ones, and follows a backup from creation to its recorded archive.
func TestMigrateBesideHostTables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, assets string }{
		{"an assets table of another shape", `
			CREATE TABLE assets (id uuid PRIMARY KEY, path text NOT NULL, uploaded_by text NOT NULL, mime text);
			INSERT INTO assets VALUES ('7d3c3f4e-0000-4000-8000-000000000001', '/uploads/logo.png', 'admin', 'image/png')`},
		{"an assets table keyed by text", `
			CREATE TABLE assets (id text PRIMARY KEY, path text NOT NULL);
			INSERT INTO assets VALUES ('logo', '/uploads/logo.png')`},
		{"no assets table", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool := testenv.Postgres(t)
			exec(t, pool, `
				CREATE TABLE orders (id uuid PRIMARY KEY, customer text, plan text);
				CREATE TABLE provisions (id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES orders, image text)`)
			if tc.assets != "" {
				exec(t, pool, tc.assets)
			}
			for range 2 {
				if err := postgres.Migrate(t.Context(), pool, postgres.Layout{}); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			got := schemaOf(t, pool)
			if strings.Contains(got, "migration host") || strings.Contains(got, "user_permissions") {
				t.Errorf("Migrate applied the standalone host tables:\n%s", got)
			}
			finishBackupOnHost(t, pool, postgres.Layout{})
			if tc.assets != "" {
				var n int
				must(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM assets WHERE path = '/uploads/logo.png'`).Scan(&n))
				if n != 1 || strings.Contains(got, "backups_asset_id_fkey") {
					t.Errorf("the host's assets table holds %d of its 1 row, or backups still refer to it:\n%s", n, got)
				}
			}
		})
	}

	t.Run("a host database migrated by version 1 upgrades, its assets table left alone", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		exec(t, pool, `
			CREATE TABLE orders (id uuid PRIMARY KEY, customer text);
			CREATE TABLE provisions (id uuid PRIMARY KEY, order_id uuid NOT NULL REFERENCES orders);
			CREATE TABLE assets (id uuid PRIMARY KEY, path text NOT NULL, uploaded_by text NOT NULL, mime text);
			INSERT INTO assets VALUES ('7d3c3f4e-0000-4000-8000-000000000001', '/uploads/logo.png', 'admin', 'image/png')`)
		migrateV1(t, pool, false)
		if err := postgres.Migrate(t.Context(), pool, postgres.Layout{}); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		var path string
		must(t, pool.QueryRow(t.Context(), `SELECT path FROM assets`).Scan(&path))
		if got := schemaOf(t, pool); strings.Contains(got, "backups_asset_id_fkey") || !strings.Contains(got, "column backup_assets ") {
			t.Errorf("after the upgrade backups refer to the host's assets, or savepoint has none of its own:\n%s", got)
		}
		finishBackupOnHost(t, pool, postgres.Layout{})
	})
}

// finishBackupOnHost creates an order and a provision in the host's tables, and
// takes a backup through the repository to ready with its archive recorded by
// Assets, as the service does.
func finishBackupOnHost(t *testing.T, pool *pgxpool.Pool, layout postgres.Layout) {
	t.Helper()
	ctx := t.Context()
	order, prov := ports.NewOrderID(), ports.NewProvisionID()
	exec(t, pool, `INSERT INTO orders (id) VALUES ($1)`, order)
	exec(t, pool, `INSERT INTO provisions (id, order_id) VALUES ($1, $2)`, prov, order)
	repo, assets := postgres.NewRepository(pool, layout), postgres.NewAssets(pool, layout)
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: "on the host's tables", Status: ports.StatusCreating}
	must(t, repo.Create(ctx, b, 10))
	a := ports.Asset{
		ID: ports.ArchiveAssetID(b.ID), OwnerID: ports.NewUserID(), Key: "backups/" + b.ID.String() + ".tar.gz",
		FileName: "archive.tar.gz", ContentType: "application/gzip", SizeBytes: 42, SHA256: "abc",
	}
	if err := assets.CreateAsset(ctx, a); err != nil {
		t.Fatalf("recording the archive: %v", err)
	}
	ready := b
	ready.Status, ready.AssetID, ready.SizeBytes, ready.SHA256, ready.CompletedAt = ports.StatusReady, a.ID, a.SizeBytes, a.SHA256, time.Now()
	must(t, repo.Update(ctx, ready, ports.StatusCreating))
	got, err := repo.FindByAsset(ctx, a.ID)
	if err != nil || got.ID != b.ID || got.Status != ports.StatusReady {
		t.Fatalf("FindByAsset = %+v, %v; want the ready backup", got, err)
	}
	if stored, err := assets.GetAsset(ctx, a.ID); err != nil || stored.Key != a.Key {
		t.Fatalf("GetAsset = %+v, %v", stored, err)
	}
}

// migrateV1 sets the test's schema up as version 1 of this package did, from the
// SQL it ran (testdata/v1): with the standalone host tables, or on the host's.
func migrateV1(t *testing.T, pool *pgxpool.Pool, standalone bool) {
	t.Helper()
	exec(t, pool, `CREATE TABLE savepoint_migrations (
		set_name   text NOT NULL,
		version    integer NOT NULL,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (set_name, version)
	)`)
	files := []struct{ set, name string }{{"backups", "0001_backups.sql"}}
	if standalone {
		files = append([]struct{ set, name string }{{"host", "0001_host_tables.sql"}}, files...)
	}
	for _, f := range files {
		sql, err := os.ReadFile("testdata/v1/" + f.set + "/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, pool, string(sql))
		exec(t, pool, `INSERT INTO savepoint_migrations (set_name, version, name) VALUES ($1, 1, $2)`, f.set, f.name)
	}
}

// v1Rows are rows written to a version 1 standalone schema.
type v1Rows struct {
	backup         ports.BackupID
	archive, other ports.Asset
}

func fillV1(t *testing.T, pool *pgxpool.Pool) v1Rows {
	t.Helper()
	order, prov, backup := ports.NewOrderID(), ports.NewProvisionID(), ports.NewBackupID()
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	rows := v1Rows{backup: backup}
	for i, a := range []*ports.Asset{&rows.archive, &rows.other} {
		*a = ports.Asset{
			ID: ports.NewAssetID(), OwnerID: ports.NewUserID(), Key: fmt.Sprintf("backups/%d.tar.gz", i),
			FileName: "Backup ⛏.tar.gz", ContentType: "application/gzip", SizeBytes: 1 << 40, SHA256: "ff00", CreatedAt: at,
		}
		exec(t, pool, `INSERT INTO assets (id, owner_id, key, file_name, content_type, size_bytes, sha256, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, a.OwnerID, a.Key, a.FileName, a.ContentType, a.SizeBytes, a.SHA256, a.CreatedAt)
	}
	exec(t, pool, `INSERT INTO orders (id, owner_id) VALUES ($1, $2)`, order, rows.archive.OwnerID)
	exec(t, pool, `INSERT INTO provisions (id, order_id, kind, is_primary, role) VALUES ($1, $2, 'deployment', true, 'game_server')`, prov, order)
	exec(t, pool, `INSERT INTO backups (id, order_id, provision_id, name, status, asset_id, size_bytes, sha256, completed_at)
		VALUES ($1, $2, $3, 'before the upgrade', 'ready', $4, $5, $6, now())`, backup, order, prov, rows.archive.ID, rows.archive.SizeBytes, rows.archive.SHA256)
	return rows
}

// assertKept checks that the upgrade moved every asset to savepoint's table and
// kept the backup whole, and that the old assets table is gone.
func (v v1Rows) assertKept(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	assets := postgres.NewAssets(pool, postgres.Layout{})
	for _, want := range []ports.Asset{v.archive, v.other} {
		if got, err := assets.GetAsset(t.Context(), want.ID); err != nil || got != want {
			t.Errorf("after the upgrade GetAsset = %+v, %v;\nwant %+v", got, err, want)
		}
	}
	b, err := postgres.NewRepository(pool, postgres.Layout{}).FindByAsset(t.Context(), v.archive.ID)
	if err != nil || b.ID != v.backup || b.SizeBytes != v.archive.SizeBytes || len(b.Skipped) != 0 || b.SkippedCount != 0 {
		t.Errorf("after the upgrade FindByAsset = %+v, %v", b, err)
	}
	var gone bool
	must(t, pool.QueryRow(t.Context(), `SELECT to_regclass('assets') IS NULL`).Scan(&gone))
	if !gone {
		t.Error("the standalone assets table is still there")
	}
}

func assertSchema(t *testing.T, pool *pgxpool.Pool, want string) {
	t.Helper()
	if got := schemaOf(t, pool); got != want {
		t.Errorf("schema differs from a single migration's:\n got:\n%s\nwant:\n%s", got, want)
	}
}

// schemaOf describes the current schema; see schemaIn.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	return schemaIn(t, pool, "")
}

// schemaIn describes a schema (the current one if schema is empty) — columns in
// their order, indexes, constraints and applied migrations, one per line,
// sorted, without the schema's own name — so that two schemas can be compared as
// strings.
func schemaIn(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `
		WITH s AS (SELECT coalesce(nullif($1, ''), current_schema()) AS name)
		SELECT format('column %s #%s %s %s %s default %s', table_name, ordinal_position, column_name, data_type,
			CASE is_nullable WHEN 'YES' THEN 'null' ELSE 'not null' END, coalesce(column_default, '-'))
		FROM information_schema.columns, s WHERE table_schema = s.name
		UNION ALL
		SELECT format('index %s: %s', indexname, replace(indexdef, quote_ident(s.name) || '.', ''))
		FROM pg_indexes, s WHERE schemaname = s.name
		UNION ALL
		SELECT format('constraint %s.%s: %s', r.relname, c.conname, pg_get_constraintdef(c.oid))
		FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = c.connamespace, s
		WHERE n.nspname = s.name
		UNION ALL
		SELECT format('function %s', p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, s
		WHERE n.nspname = s.name
		ORDER BY 1`, schema)
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	var migrations string
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(quote_ident(nullif($1, '')) || '.', '') || 'savepoint_migrations'`, schema).Scan(&migrations); err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	var tracked bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, migrations).Scan(&tracked); err != nil {
		t.Fatalf("reading the schema: %v", err)
	}
	if tracked {
		rows, err := pool.Query(t.Context(), `SELECT format('migration %s %s %s', set_name, version, name) FROM `+migrations+` ORDER BY set_name, version`)
		if err != nil {
			t.Fatalf("reading savepoint_migrations: %v", err)
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("reading savepoint_migrations: %v", err)
		}
		lines = append(lines, applied...)
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

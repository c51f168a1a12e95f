package spriver_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	spriver "github.com/savepoint-dev/savepoint/adapters/river"
)

func TestMigrateStep(t *testing.T) {
	t.Parallel()

	t.Run("a host that passes no step gets no River tables, and Start says what is missing", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		if err := postgres.MigrateStandalone(t.Context(), e.db, postgres.Layout{}); err != nil {
			t.Fatalf("MigrateStandalone: %v", err)
		}
		if got := e.riverTables(""); len(got) != 0 {
			t.Errorf("River tables without the step: %q", got)
		}
		r, err := spriver.New(e.db, &fakeScheduler{db: e.db}, e.opts("r0"))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "MigrateStep") {
			t.Fatalf("Start on unmigrated tables = %v, want an error naming MigrateStep", err)
		}
	})

	t.Run("the step migrates River's tables once, however often it runs", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		for range 2 {
			if err := postgres.MigrateStandalone(t.Context(), e.db, postgres.Layout{}, spriver.MigrateStep(e.db, e.opts(""))); err != nil {
				t.Fatalf("MigrateStandalone: %v", err)
			}
		}
		e.assertRiverMigrated(e.schema)
		if got := e.riverTables(""); len(got) != 0 {
			t.Errorf("River tables outside Options.Schema: %q", got)
		}
	})

	t.Run("replicas migrating at once take turns, and River's tables are migrated once", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		const replicas = 4
		errs := make([]error, replicas)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range replicas {
			pool := e.pool(2)
			wg.Go(func() {
				<-start
				errs[i] = postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, spriver.MigrateStep(pool, e.opts("")))
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		e.assertRiverMigrated(e.schema)
	})

	t.Run("River's tables may go in the connection's schema", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		opts := e.opts("")
		opts.Schema = ""
		if err := postgres.MigrateStandalone(t.Context(), e.db, postgres.Layout{}, spriver.MigrateStep(e.db, opts)); err != nil {
			t.Fatalf("MigrateStandalone: %v", err)
		}
		e.assertRiverMigrated("")
	})

	t.Run("River's tables may share the schema savepoint's migrations create", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		// The schema does not exist yet: Migrate creates it, and River's
		// migrations, on other connections, must find it committed.
		layout := postgres.Layout{Schema: e.schema, NoForeignKeys: true}
		if err := postgres.Migrate(t.Context(), e.db, layout, spriver.MigrateStep(e.db, e.opts(""))); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		e.assertRiverMigrated(e.schema)
	})

	t.Run("a pool of one connection is refused rather than waited on forever", func(t *testing.T) {
		t.Parallel()
		e := bareEnv(t)
		pool := e.pool(1)
		err := postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, spriver.MigrateStep(pool, e.opts("")))
		if err == nil || !strings.Contains(err.Error(), "another") {
			t.Fatalf("MigrateStandalone on one connection = %v, want an error asking for another", err)
		}
	})
}

// riverTables lists River's tables in schema (the connection's if empty).
func (e *env) riverTables(schema string) []string {
	e.t.Helper()
	rows, err := e.db.Query(e.t.Context(), `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = coalesce(nullif($1, ''), current_schema()) AND table_name LIKE 'river%' ORDER BY 1`, schema)
	if err != nil {
		e.t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return tables
}

// assertRiverMigrated checks that schema holds River's tables with every
// version of River's migrations recorded once.
func (e *env) assertRiverMigrated(schema string) {
	e.t.Helper()
	migrator, err := rivermigrate.New(riverpgxv5.New(e.db), &rivermigrate.Config{Schema: schema, Logger: e.opts("").Logger})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := migrator.Validate(e.t.Context(), nil)
	if err != nil || !res.OK {
		e.t.Fatalf("River's migrations in %q: %+v, %v", schema, res, err)
	}
	var versions, distinct int
	e.scan(`SELECT count(*), count(DISTINCT version) FROM `+qualified(schema, "river_migration"), nil, &versions, &distinct)
	if all := len(migrator.AllVersions()); versions != all || distinct != all {
		e.t.Errorf("river_migration records %d versions (%d distinct), want each of %d once", versions, distinct, all)
	}
	for _, table := range []string{"river_job", "river_leader", "river_queue"} {
		var exists bool
		e.scan(`SELECT to_regclass($1) IS NOT NULL`, []any{qualified(schema, table)}, &exists)
		if !exists {
			e.t.Errorf("no table %s", qualified(schema, table))
		}
	}
}

func qualified(schema, table string) string {
	if schema == "" {
		return pgx.Identifier{table}.Sanitize()
	}
	return pgx.Identifier{schema, table}.Sanitize()
}

package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestMigrateSteps covers the host's own migrations that Migrate runs after
// savepoint's (MigrateStep).
func TestMigrateSteps(t *testing.T) {
	t.Parallel()
	reference := schemaOf(t, standalone(t))

	t.Run("steps run in order once savepoint's tables are committed", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		layout := postgres.Layout{Schema: ownSchema(t, pool), NoForeignKeys: true}
		var ran []string
		// What the steps see on another connection is what a step that commits
		// on its own connections (River's migrator) can build on.
		seenElsewhere := func(name string) postgres.MigrateStep {
			return func(ctx context.Context, tx pgx.Tx) error {
				var backups *string
				if err := pool.QueryRow(ctx, `SELECT to_regclass($1)::text`, pgx.Identifier{layout.Schema, "backups"}.Sanitize()).Scan(&backups); err != nil {
					return err
				}
				if backups == nil {
					return errors.New(name + ": the backups table is not visible to another connection")
				}
				ran = append(ran, name)
				return nil
			}
		}
		if err := postgres.Migrate(t.Context(), pool, layout, seenElsewhere("first"), seenElsewhere("second")); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if got := strings.Join(ran, ","); got != "first,second" {
			t.Errorf("steps ran as %q, want first,second", got)
		}
	})

	t.Run("a failing step undoes what the steps did, keeps savepoint's tables, and runs again next time", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		createExtra := func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS host_extra (id int)`)
			return err
		}
		boom := errors.New("boom")
		failing := func(context.Context, pgx.Tx) error { return boom }
		err := postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, createExtra, failing)
		if !errors.Is(err, boom) || !errors.Is(err, ports.ErrDatabase) || !strings.Contains(err.Error(), "step 2 of 2") {
			t.Fatalf("MigrateStandalone with a failing step = %v; want an ErrDatabase wrapping boom, naming step 2 of 2", err)
		}
		assertSchema(t, pool, reference)

		if err := postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, createExtra); err != nil {
			t.Fatalf("MigrateStandalone after the failure: %v", err)
		}
		if got := schemaOf(t, pool); !strings.Contains(got, "column host_extra #1 id integer") {
			t.Errorf("the step did not run again:\n%s", got)
		}
	})

	t.Run("replicas migrating at once run their steps one at a time", func(t *testing.T) {
		t.Parallel()
		url := testenv.PostgresURL(t)
		setup := openPool(t, url)
		exec(t, setup, `CREATE TABLE step_runs (n int NOT NULL); INSERT INTO step_runs VALUES (0)`)
		// A read, a pause and a write: two such steps at once would both read the
		// same n, and one increment would be lost.
		increment := func(ctx context.Context, tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT n FROM step_runs`).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT pg_sleep(0.05)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE step_runs SET n = $1`, n+1)
			return err
		}
		const replicas = 5
		errs := make([]error, replicas)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range replicas {
			pool := openPool(t, url)
			wg.Go(func() {
				<-start
				errs[i] = postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, increment)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		var n int
		must(t, setup.QueryRow(t.Context(), `SELECT n FROM step_runs`).Scan(&n))
		if n != replicas {
			t.Errorf("the steps counted %d runs, want %d: some ran at the same time", n, replicas)
		}
	})

	t.Run("a nil step is an error", func(t *testing.T) {
		t.Parallel()
		pool := testenv.Postgres(t)
		if err := postgres.MigrateStandalone(t.Context(), pool, postgres.Layout{}, nil); err == nil || !strings.Contains(err.Error(), "nil") {
			t.Fatalf("MigrateStandalone with a nil step = %v, want an error", err)
		}
	})
}

// openPool opens a small pool on url, as one replica would, closed when the test
// ends.
func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

package spriver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	spriver "github.com/savepoint-dev/savepoint/adapters/river"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// epoch is where the fake clock starts: between two slots of every schedule
// the tests use.
var epoch = time.Date(2026, 3, 1, 8, 0, 30, 0, time.UTC)

// env is one test's database: a schema of its own on the connection's
// search_path, where the fake Scheduler keeps its clock, schedules and claims
// (and savepoint its tables), and a schema for River's tables, whose name River
// limits to 46 bytes (testenv's names run longer).
type env struct {
	t      *testing.T
	url    string
	schema string // River's
	db     *pgxpool.Pool
	logs   *lockedBuffer
}

// newEnv prepares a test's database with River's tables migrated the way a
// host does, and the fake Scheduler's tables with the clock at epoch.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := bareEnv(t)
	if err := postgres.MigrateStandalone(t.Context(), e.db, postgres.Layout{}, spriver.MigrateStep(e.db, e.opts(""))); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	return e
}

// bareEnv is newEnv without any migration.
func bareEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, url: testenv.PostgresURL(t), logs: &lockedBuffer{}}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	e.schema = "river_" + hex.EncodeToString(suffix)
	e.db = e.pool(6)
	// Registered after the pool's cleanup, so it runs first, while the pool is
	// open; the Runners' cleanups, registered later still, run before it.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.db.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{e.schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping River's schema: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- logs ---\n%s", e.logs)
		}
	})
	e.exec(`
		CREATE TABLE fake_clock (now timestamptz NOT NULL);
		CREATE TABLE fake_schedules (id uuid PRIMARY KEY, every_ms bigint NOT NULL, next_run timestamptz NOT NULL);
		CREATE TABLE fake_claims (schedule_id uuid, slot timestamptz, replica text NOT NULL, PRIMARY KEY (schedule_id, slot));
		CREATE TABLE fake_calls (id bigserial PRIMARY KEY, schedule_id uuid NOT NULL, slot timestamptz NOT NULL, replica text NOT NULL, outcome text NOT NULL DEFAULT 'running');
		CREATE TABLE fake_advances (schedule_id uuid NOT NULL, due timestamptz NOT NULL, outcome text NOT NULL);
		CREATE TABLE fake_faults (kind text NOT NULL, schedule_id uuid NOT NULL, remaining int NOT NULL DEFAULT 1000000);`)
	e.exec(`INSERT INTO fake_clock VALUES ($1)`, epoch)
	return e
}

// pool opens a pool on the test's schema, as a replica does, closed when the
// test ends.
func (e *env) pool(maxConns int32) *pgxpool.Pool {
	e.t.Helper()
	cfg, err := pgxpool.ParseConfig(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(e.t.Context(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	return pool
}

// opts are the Options the tests' Runners use, logging as replica.
func (e *env) opts(replica string) spriver.Options {
	return spriver.Options{
		Schema: e.schema,
		Tick:   50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", replica),
	}
}

// start starts a Runner for a replica of that name on a pool of its own, and
// stops it when the test ends (unless the test has).
func (e *env) start(replica string, opts spriver.Options) *spriver.Runner {
	e.t.Helper()
	r, err := spriver.New(e.pool(5), &fakeScheduler{db: e.db, replica: replica}, opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	if err := r.Start(e.t.Context()); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			e.t.Errorf("stopping %s: %v", replica, err)
		}
	})
	return r
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// now is the fake clock.
func (e *env) now() time.Time {
	e.t.Helper()
	var now time.Time
	e.scan(`SELECT now FROM fake_clock`, nil, &now)
	return now.UTC()
}

// setClock moves the fake clock, which every replica's fake reads.
func (e *env) setClock(t time.Time) { e.exec(`UPDATE fake_clock SET now = $1`, t) }

// schedule adds a schedule with a slot every every, its first after epoch.
func (e *env) schedule(every time.Duration) ports.ScheduleID {
	e.t.Helper()
	id := ports.NewScheduleID()
	e.exec(`INSERT INTO fake_schedules VALUES ($1, $2, $3)`, id, every.Milliseconds(), epoch.Truncate(every).Add(every))
	return id
}

// fault makes the fake misbehave for a schedule: "fail_run" fails its runs,
// "block_run" holds a run that claimed its slot until released or cancelled,
// and "fail_advance" fails AdvanceSchedule; each remaining times.
func (e *env) fault(kind string, id ports.ScheduleID, remaining int) {
	e.exec(`INSERT INTO fake_faults VALUES ($1, $2, $3)`, kind, id, remaining)
}

// release lets the runs held by "block_run" go on.
func (e *env) release(id ports.ScheduleID) {
	e.exec(`DELETE FROM fake_faults WHERE kind = 'block_run' AND schedule_id = $1`, id)
}

func (e *env) scan(sql string, args []any, dest ...any) {
	e.t.Helper()
	if err := e.db.QueryRow(context.Background(), sql, args...).Scan(dest...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// claims returns who claimed each slot: "schedule slot" → replica.
func (e *env) claims() map[string]string {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT schedule_id::text, slot, replica FROM fake_claims`)
	if err != nil {
		e.t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var id, replica string
		var slot time.Time
		if err := rows.Scan(&id, &slot, &replica); err != nil {
			e.t.Fatal(err)
		}
		got[slotKey(id, slot)] = replica
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return got
}

// calls returns the outcomes of the RunScheduledBackup calls for a slot, in
// order, each as "replica:outcome".
func (e *env) calls(id ports.ScheduleID, slot time.Time) []string {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `SELECT replica || ':' || outcome FROM fake_calls WHERE schedule_id = $1 AND slot = $2 ORDER BY id`, id, slot)
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// runJob is what River holds about a scheduled run's job.
type runJob struct {
	State    string
	Attempt  int
	Errors   []string
	Replicas []string // the clients that attempted it
}

// runJobs returns the run jobs River holds for a slot.
func (e *env) runJobs(id ports.ScheduleID, slot time.Time) []runJob {
	e.t.Helper()
	rows, err := e.db.Query(context.Background(), `
		SELECT state::text, attempt,
			ARRAY(SELECT x->>'error' FROM unnest(coalesce(errors, '{}')) AS x),
			coalesce(attempted_by, '{}')
		FROM `+pgx.Identifier{e.schema, "river_job"}.Sanitize()+`
		WHERE kind = $1 AND args->>'schedule_id' = $2 AND (args->>'slot')::timestamptz = $3
		ORDER BY id`, spriver.RunKind, id.String(), slot)
	if err != nil {
		e.t.Fatal(err)
	}
	jobs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (runJob, error) {
		var j runJob
		err := row.Scan(&j.State, &j.Attempt, &j.Errors, &j.Replicas)
		return j, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return jobs
}

// waitFor polls cond every 20 ms until it holds, failing the test with what
// after timeout.
func (e *env) waitFor(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	testenv.WaitFor(e.t, timeout, what, nil, cond)
}

func slotKey(id string, slot time.Time) string { return id + " " + slot.UTC().Format(time.RFC3339) }

// fakeScheduler is the backup service's scheduling as the tests need it. Like
// the service it keeps everything in PostgreSQL, so that replicas in other
// processes share it: the clock, which the test moves; schedules with a slot
// every so often; and a claim per slot, unique by schedule and slot, that makes
// RunScheduledBackup run each slot at most once.
type fakeScheduler struct {
	db      *pgxpool.Pool
	replica string
}

var _ spriver.Scheduler = (*fakeScheduler)(nil)

func (f *fakeScheduler) now(ctx context.Context) (time.Time, error) {
	var now time.Time
	err := f.db.QueryRow(ctx, `SELECT now FROM fake_clock`).Scan(&now)
	return now.UTC(), err
}

func (f *fakeScheduler) DueScheduledRuns(ctx context.Context) ([]backup.ScheduledRun, error) {
	now, err := f.now(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := f.db.Query(ctx, `SELECT id, every_ms, next_run FROM fake_schedules WHERE next_run <= $1`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (backup.ScheduledRun, error) {
		var run backup.ScheduledRun
		var everyMS int64
		err := row.Scan(&run.ScheduleID, &everyMS, &run.Due)
		run.Slot = now.Truncate(time.Duration(everyMS) * time.Millisecond) // the latest slot not after now
		return run, err
	})
}

func (f *fakeScheduler) AdvanceSchedule(ctx context.Context, run backup.ScheduledRun) error {
	if f.faulty(ctx, "fail_advance", run.ScheduleID) {
		_, _ = f.db.Exec(ctx, `INSERT INTO fake_advances VALUES ($1, $2, 'failed')`, run.ScheduleID, run.Due)
		return errors.New("fake: advancing failed")
	}
	now, err := f.now(ctx)
	if err != nil {
		return err
	}
	var everyMS int64
	if err := f.db.QueryRow(ctx, `SELECT every_ms FROM fake_schedules WHERE id = $1`, run.ScheduleID).Scan(&everyMS); err != nil {
		return err
	}
	every := time.Duration(everyMS) * time.Millisecond
	tag, err := f.db.Exec(ctx, `UPDATE fake_schedules SET next_run = $3 WHERE id = $1 AND next_run = $2`,
		run.ScheduleID, run.Due, now.Truncate(every).Add(every))
	if err != nil {
		return err
	}
	outcome := "advanced"
	if tag.RowsAffected() == 0 {
		outcome = "moved on already"
	}
	_, err = f.db.Exec(ctx, `INSERT INTO fake_advances VALUES ($1, $2, $3)`, run.ScheduleID, run.Due, outcome)
	return err
}

func (f *fakeScheduler) RunScheduledBackup(ctx context.Context, run backup.ScheduledRun) (err error) {
	var call int64
	if err := f.db.QueryRow(ctx, `INSERT INTO fake_calls (schedule_id, slot, replica) VALUES ($1, $2, $3) RETURNING id`,
		run.ScheduleID, run.Slot, f.replica).Scan(&call); err != nil {
		return err
	}
	outcome := "ran"
	defer func() {
		if err != nil {
			outcome = "failed: " + err.Error()
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, uerr := f.db.Exec(ctx, `UPDATE fake_calls SET outcome = $2 WHERE id = $1`, call, outcome); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if f.faulty(ctx, "fail_run", run.ScheduleID) {
		return errors.New("fake: recording the outcome failed")
	}
	tag, err := f.db.Exec(ctx, `INSERT INTO fake_claims VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, run.ScheduleID, run.Slot, f.replica)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		outcome = "claimed already"
		return nil
	}
	// Only the call that claimed the slot is held: its backup is what runs.
	for {
		var blocked bool
		err := f.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fake_faults WHERE kind = 'block_run' AND schedule_id = $1)`, run.ScheduleID).Scan(&blocked)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil || !blocked {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// faulty uses up one of the schedule's faults of that kind, if it has one.
func (f *fakeScheduler) faulty(ctx context.Context, kind string, id ports.ScheduleID) bool {
	tag, err := f.db.Exec(ctx, `UPDATE fake_faults SET remaining = remaining - 1 WHERE kind = $1 AND schedule_id = $2 AND remaining > 0`, kind, id)
	return err == nil && tag.RowsAffected() > 0
}

// expectedSlots lists the slots of a schedule with a slot every every, from
// the first after epoch to the last not after until.
func expectedSlots(id ports.ScheduleID, every time.Duration, until time.Time) []string {
	var keys []string
	for s := epoch.Truncate(every).Add(every); !s.After(until); s = s.Add(every) {
		keys = append(keys, slotKey(id.String(), s))
	}
	return keys
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

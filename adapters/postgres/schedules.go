package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Schedules implements ports.Schedules on savepoint's backup_schedules and
// backup_schedule_runs tables (see Migrate). Like Repository it is safe for
// concurrent use from several processes sharing one database: one schedule per
// provision is a unique constraint, a slot runs once because (schedule, slot) is
// the runs' primary key, and next-run times move by compare-and-set. A run's
// skipped or failed outcome is recorded in the activity table in the same
// transaction as the outcome (ports.NewRunActivity).
type Schedules struct {
	db DB
	q  scheduleQueries
	a  activityQueries
}

var _ ports.Schedules = (*Schedules)(nil)

// NewSchedules returns a Schedules that runs its queries on db, on the tables
// Migrate created with the same layout.
func NewSchedules(db DB, layout Layout) *Schedules {
	return &Schedules{db: db, q: newScheduleQueries(layout.tables()), a: newActivityQueries(layout.tables())}
}

// scheduleColumns are a schedule's columns and its last run (the newest run with
// an outcome), joined as r.
const scheduleColumns = `s.id, s.order_id, s.provision_id, s.cron, s.time_zone, s.enabled, s.name_template,
	s.keep_last, s.keep_daily, s.keep_weekly, s.keep_monthly, s.next_run_at, s.created_at, s.updated_at,
	s.excludes, r.slot, r.claimed_at, r.outcome, r.backup_id, r.reason`

// scheduleFrom is the FROM clause of every schedule read. The last run is found
// by walking the runs' primary key backwards from the newest slot.
const scheduleFrom = ` FROM {{.Schedules}} s LEFT JOIN LATERAL (
	SELECT slot, claimed_at, outcome, backup_id, reason FROM {{.ScheduleRuns}}
	WHERE schedule_id = s.id AND outcome IS NOT NULL
	ORDER BY slot DESC LIMIT 1) r ON true`

const runColumns = `slot, claimed_at, outcome, backup_id, reason`

// scheduleQueries are the statements a Schedules runs, rendered for its layout.
type scheduleQueries struct {
	put, find, findByProvision, listDue                   string
	deleteByProvision, deleteByOrder, deleteRuns, advance string
	lockSchedule, newestRun, runAt, claim, prune, finish  string
	runExists, listRuns                                   string
}

func newScheduleQueries(t tables) scheduleQueries {
	r := func(s string) string { return mustRender(s, t) }
	return scheduleQueries{
		put: r(`INSERT INTO {{.Schedules}} AS s
			(id, order_id, provision_id, cron, time_zone, enabled, name_template,
			 keep_last, keep_daily, keep_weekly, keep_monthly, next_run_at, created_at, updated_at, excludes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13, now()), coalesce($14, now()), $15)
			ON CONFLICT ON CONSTRAINT backup_schedules_one_per_provision DO UPDATE SET
				cron = excluded.cron, time_zone = excluded.time_zone, enabled = excluded.enabled,
				name_template = excluded.name_template, keep_last = excluded.keep_last,
				keep_daily = excluded.keep_daily, keep_weekly = excluded.keep_weekly,
				keep_monthly = excluded.keep_monthly, next_run_at = excluded.next_run_at,
				updated_at = excluded.updated_at, excludes = excluded.excludes
			RETURNING s.id`),
		find:            r(`SELECT ` + scheduleColumns + scheduleFrom + ` WHERE s.id = $1`),
		findByProvision: r(`SELECT ` + scheduleColumns + scheduleFrom + ` WHERE s.provision_id = $1`),
		listDue: r(`SELECT ` + scheduleColumns + scheduleFrom + `
			WHERE s.enabled AND s.next_run_at <= $1
			ORDER BY s.next_run_at, s.id`),
		deleteByProvision: r(`DELETE FROM {{.Schedules}} WHERE provision_id = $1 RETURNING id`),
		deleteByOrder:     r(`DELETE FROM {{.Schedules}} WHERE order_id = $1 RETURNING id`),
		// Without foreign keys (Layout.NoForeignKeys) nothing cascades to the runs.
		deleteRuns: r(`DELETE FROM {{.ScheduleRuns}} WHERE schedule_id = ANY($1::uuid[])`),
		advance: r(`UPDATE {{.Schedules}} SET next_run_at = $3
			WHERE id = $1 AND enabled AND next_run_at = $2`),

		lockSchedule: r(`SELECT 1 FROM {{.Schedules}} WHERE id = $1 FOR UPDATE`),
		newestRun: r(`SELECT ` + runColumns + ` FROM {{.ScheduleRuns}}
			WHERE schedule_id = $1 ORDER BY slot DESC LIMIT 1`),
		runAt: r(`SELECT ` + runColumns + ` FROM {{.ScheduleRuns}} WHERE schedule_id = $1 AND slot = $2`),
		claim: r(`INSERT INTO {{.ScheduleRuns}} (schedule_id, slot, claimed_at) VALUES ($1, $2, $3)`),
		prune: r(`DELETE FROM {{.ScheduleRuns}} WHERE schedule_id = $1 AND slot < (
			SELECT slot FROM {{.ScheduleRuns}} WHERE schedule_id = $1
			ORDER BY slot DESC OFFSET $2 LIMIT 1)`),
		// The schedule's order and provision are for the run's event.
		finish: r(`UPDATE {{.ScheduleRuns}} r SET outcome = $3, backup_id = $4, reason = $5
			FROM {{.Schedules}} s
			WHERE r.schedule_id = $1 AND r.slot = $2 AND r.outcome IS NULL AND s.id = r.schedule_id
			RETURNING s.order_id, s.provision_id`),
		runExists: r(`SELECT EXISTS (SELECT 1 FROM {{.ScheduleRuns}} WHERE schedule_id = $1 AND slot = $2)`),
		listRuns: r(`SELECT ` + runColumns + ` FROM {{.ScheduleRuns}}
			WHERE schedule_id = $1 ORDER BY slot DESC LIMIT $2`),
	}
}

// Put creates the provision's schedule, or replaces its settings keeping its
// ID, order, creation time and runs: one upsert on the one-per-provision
// constraint, so that two replicas putting at once leave one schedule. Zero
// CreatedAt and UpdatedAt mean now.
func (s *Schedules) Put(ctx context.Context, sc ports.Schedule) (ports.Schedule, error) {
	if err := ports.ValidateSchedule(sc); err != nil {
		return ports.Schedule{}, fmt.Errorf("postgres: put %w", err)
	}
	r := sc.Retention
	var id ports.ScheduleID
	err := s.db.QueryRow(ctx, s.q.put, sc.ID, sc.OrderID, sc.ProvisionID, sc.Cron, sc.TimeZone, sc.Enabled,
		sc.NameTemplate, r.KeepLast, r.KeepDaily, r.KeepWeekly, r.KeepMonthly, nullTime(sc.NextRunAt),
		nullTime(sc.CreatedAt), nullTime(sc.UpdatedAt), excludesColumn(sc.Excludes)).Scan(&id)
	if err != nil {
		return ports.Schedule{}, dbError("put schedule of provision "+sc.ProvisionID.String(), err)
	}
	return s.Find(ctx, id)
}

// Find returns the schedule. Returns ErrNotFound.
func (s *Schedules) Find(ctx context.Context, id ports.ScheduleID) (ports.Schedule, error) {
	sc, err := scanSchedule(s.db.QueryRow(ctx, s.q.find, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Schedule{}, fmt.Errorf("postgres: schedule %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Schedule{}, dbError("find schedule "+id.String(), err)
	}
	return sc, nil
}

// FindByProvision returns the provision's schedule. Returns ErrNotFound.
func (s *Schedules) FindByProvision(ctx context.Context, provision ports.ProvisionID) (ports.Schedule, error) {
	sc, err := scanSchedule(s.db.QueryRow(ctx, s.q.findByProvision, provision))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Schedule{}, fmt.Errorf("postgres: schedule of provision %s: %w", provision, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Schedule{}, dbError("find schedule of provision "+provision.String(), err)
	}
	return sc, nil
}

// DeleteByProvision removes the provision's schedule and its runs. Returns
// ErrNotFound.
func (s *Schedules) DeleteByProvision(ctx context.Context, provision ports.ProvisionID) error {
	n, err := s.delete(ctx, s.q.deleteByProvision, provision)
	if err != nil {
		return dbError("delete schedule of provision "+provision.String(), err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: delete schedule of provision %s: %w", provision, ports.ErrNotFound)
	}
	return nil
}

// DeleteByOrder removes the order's schedules and their runs.
func (s *Schedules) DeleteByOrder(ctx context.Context, order ports.OrderID) (int, error) {
	n, err := s.delete(ctx, s.q.deleteByOrder, order)
	if err != nil {
		return 0, dbError("delete schedules of order "+order.String(), err)
	}
	return n, nil
}

// delete runs a statement that deletes schedules and returns their IDs, and
// deletes their runs, in one transaction.
func (s *Schedules) delete(ctx context.Context, query string, arg any) (int, error) {
	tx, err := begin(ctx, s.db)
	if err != nil {
		return 0, err
	}
	defer rollback(tx)
	rows, err := tx.Query(ctx, query, arg)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[ports.ScheduleID])
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, s.q.deleteRuns, ids); err != nil {
		return 0, err
	}
	return len(ids), tx.Commit(ctx)
}

// ListDue returns the enabled schedules due by now, earliest first.
func (s *Schedules) ListDue(ctx context.Context, now time.Time) ([]ports.Schedule, error) {
	rows, err := s.db.Query(ctx, s.q.listDue, now)
	if err != nil {
		return nil, dbError("list due schedules", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.Schedule, error) { return scanSchedule(row) })
	if err != nil {
		return nil, dbError("list due schedules", err)
	}
	return list, nil
}

// Advance sets the next run to to if it is still from, in one conditional
// UPDATE, and reports whether it did.
func (s *Schedules) Advance(ctx context.Context, id ports.ScheduleID, from, to time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, s.q.advance, id, from, to)
	if err != nil {
		return false, dbError("advance schedule "+id.String(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimRun claims the run for slot unless it, or a newer one, was claimed
// before. It locks the schedule's row, so that claims of one schedule are
// decided one after the other and "no newer slot claimed" holds; the primary
// key still refuses a second claim of one slot, whatever the caller did. It
// keeps the newest MaxRunsKept runs. Returns ErrNotFound if the schedule is gone.
func (s *Schedules) ClaimRun(ctx context.Context, id ports.ScheduleID, slot, at time.Time) (ports.ScheduleRun, bool, error) {
	tx, err := begin(ctx, s.db)
	if err != nil {
		return ports.ScheduleRun{}, false, dbError("claim run: begin", err)
	}
	defer rollback(tx)
	var one int
	if err := tx.QueryRow(ctx, s.q.lockSchedule, id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return ports.ScheduleRun{}, false, fmt.Errorf("postgres: claim run of schedule %s: %w", id, ports.ErrNotFound)
	} else if err != nil {
		return ports.ScheduleRun{}, false, dbError("claim run: lock schedule "+id.String(), err)
	}
	newest, err := scanRun(tx.QueryRow(ctx, s.q.newestRun, id))
	switch {
	case err == nil && !newest.Slot.Before(slot):
		if newest.Slot.Equal(slot) {
			return newest, false, nil
		}
		if same, err := scanRun(tx.QueryRow(ctx, s.q.runAt, id, slot)); err == nil {
			return same, false, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return ports.ScheduleRun{}, false, dbError("claim run: read run", err)
		}
		return newest, false, nil
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return ports.ScheduleRun{}, false, dbError("claim run: read newest run", err)
	}
	if _, err := tx.Exec(ctx, s.q.claim, id, slot, at); err != nil {
		return ports.ScheduleRun{}, false, dbError("claim run of schedule "+id.String(), err)
	}
	if _, err := tx.Exec(ctx, s.q.prune, id, ports.MaxRunsKept-1); err != nil {
		return ports.ScheduleRun{}, false, dbError("claim run: prune old runs", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return ports.ScheduleRun{}, false, dbError("claim run: commit", err)
	}
	return ports.ScheduleRun{Slot: slot.Truncate(time.Microsecond).UTC(), At: at.Truncate(time.Microsecond).UTC()}, true, nil
}

// FinishRun records the outcome of the claimed run of run.Slot unless it has
// one. Returns ErrNotFound.
func (s *Schedules) FinishRun(ctx context.Context, id ports.ScheduleID, run ports.ScheduleRun) error {
	if !run.Outcome.Valid() {
		return fmt.Errorf("postgres: finish run of schedule %s: invalid outcome %q", id, run.Outcome)
	}
	tx, err := begin(ctx, s.db)
	if err != nil {
		return dbError("finish run of schedule "+id.String()+": begin", err)
	}
	defer rollback(tx)
	sc := ports.Schedule{ID: id}
	err = tx.QueryRow(ctx, s.q.finish, id, run.Slot, string(run.Outcome), run.BackupID, nullString(run.Reason)).
		Scan(&sc.OrderID, &sc.ProvisionID)
	switch {
	case err == nil:
		if a, ok := ports.NewRunActivity(sc, run, time.Time{}); ok {
			if err := s.a.record(ctx, tx, a); err != nil {
				return dbError("finish run of schedule "+id.String()+": record activity", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return dbError("finish run of schedule "+id.String()+": commit", err)
		}
		return nil
	case !errors.Is(err, pgx.ErrNoRows):
		return dbError("finish run of schedule "+id.String(), err)
	}
	var exists bool
	// In the transaction, whose connection is held: a second one from the pool
	// could wait forever for a pool that this call and others like it exhaust.
	if err := tx.QueryRow(ctx, s.q.runExists, id, run.Slot).Scan(&exists); err != nil {
		return dbError("finish run of schedule "+id.String(), err)
	}
	if !exists {
		return fmt.Errorf("postgres: finish run %v of schedule %s: %w", run.Slot, id, ports.ErrNotFound)
	}
	return nil // it had an outcome, which stays
}

// ListRuns returns the schedule's newest runs, newest first, at most limit.
func (s *Schedules) ListRuns(ctx context.Context, id ports.ScheduleID, limit int) ([]ports.ScheduleRun, error) {
	rows, err := s.db.Query(ctx, s.q.listRuns, id, min(max(limit, 0), ports.MaxRunsKept))
	if err != nil {
		return nil, dbError("list runs of schedule "+id.String(), err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.ScheduleRun, error) { return scanRun(row) })
	if err != nil {
		return nil, dbError("list runs of schedule "+id.String(), err)
	}
	return runs, nil
}

func scanSchedule(row pgx.Row) (ports.Schedule, error) {
	var sc ports.Schedule
	var next *time.Time
	var slot, claimed *time.Time
	var outcome, reason *string
	var backupID ports.BackupID
	var excludes []string
	r := &sc.Retention
	err := row.Scan(&sc.ID, &sc.OrderID, &sc.ProvisionID, &sc.Cron, &sc.TimeZone, &sc.Enabled, &sc.NameTemplate,
		&r.KeepLast, &r.KeepDaily, &r.KeepWeekly, &r.KeepMonthly, &next, &sc.CreatedAt, &sc.UpdatedAt,
		&excludes, &slot, &claimed, &outcome, &backupID, &reason)
	if err != nil {
		return ports.Schedule{}, err
	}
	if len(excludes) > 0 {
		sc.Excludes = excludes
	}
	sc.NextRunAt = timeOf(next)
	sc.CreatedAt, sc.UpdatedAt = sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
	if slot != nil {
		sc.LastRun = &ports.ScheduleRun{Slot: timeOf(slot), At: timeOf(claimed),
			Outcome: ports.RunOutcome(stringOf(outcome)), BackupID: backupID, Reason: stringOf(reason)}
	}
	return sc, nil
}

func scanRun(row pgx.Row) (ports.ScheduleRun, error) {
	var run ports.ScheduleRun
	var outcome, reason *string
	if err := row.Scan(&run.Slot, &run.At, &outcome, &run.BackupID, &reason); err != nil {
		return ports.ScheduleRun{}, err
	}
	run.Slot, run.At = run.Slot.UTC(), run.At.UTC()
	run.Outcome, run.Reason = ports.RunOutcome(stringOf(outcome)), stringOf(reason)
	return run, nil
}

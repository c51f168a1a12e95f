package postgres

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ActivityLog implements ports.ActivityLog on savepoint's activity table, which
// Repository and Schedules write in the same transaction as each change that
// is an event. A follower reading ActivitySince misses nothing: events become
// visible in the order of their IDs (see activityQueries.lock).
type ActivityLog struct {
	db DB
	q  activityQueries
}

var _ ports.ActivityLog = (*ActivityLog)(nil)

// NewActivityLog returns an ActivityLog that reads the activity table Migrate
// created with the same layout.
func NewActivityLog(db DB, layout Layout) *ActivityLog {
	return &ActivityLog{db: db, q: newActivityQueries(layout.tables())}
}

const activityColumns = `id, type, order_id, provision_id, backup_id, backup_name,
	actor_kind, actor_user_id, actor_schedule_id, at, reason`

// activityQueries are the statements that read and write the activity table,
// rendered for a layout.
type activityQueries struct {
	// lock serializes the writers of the table from before an event takes its
	// ID until its transaction commits. Identity values are handed out when
	// rows are inserted, not when they commit, so without it an event could
	// become visible after one with a larger ID, which a follower that has read
	// past it would never see. Every transaction takes it last, after its
	// row and order locks, and holds it only for an insert and the commit.
	lock string
	// insert records one event, at the transaction's time.
	insert string
	// list (an order's page, newest first) is served by activity_order_id_idx,
	// as is since for one order; since for every order by the primary key.
	list, since, sinceOrder, latest string
	// deleteOrder erases an order's events (DeleteOrderActivity).
	deleteOrder string
}

func newActivityQueries(t tables) activityQueries {
	r := func(s string) string { return mustRender(s, t) }
	return activityQueries{
		lock: `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.activity', 0))`,
		insert: r(`INSERT INTO {{.Activity}}
			(order_id, provision_id, backup_id, backup_name, type, actor_kind, actor_user_id, actor_schedule_id, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
		list: r(`SELECT ` + activityColumns + ` FROM {{.Activity}}
			WHERE order_id = $1 AND id < $2
			ORDER BY id DESC LIMIT $3`),
		since: r(`SELECT ` + activityColumns + ` FROM {{.Activity}}
			WHERE id > $1
			ORDER BY id LIMIT $2`),
		sinceOrder: r(`SELECT ` + activityColumns + ` FROM {{.Activity}}
			WHERE order_id = $3 AND id > $1
			ORDER BY id LIMIT $2`),
		latest:      r(`SELECT coalesce(max(id), 0) FROM {{.Activity}}`),
		deleteOrder: r(`DELETE FROM {{.Activity}} WHERE order_id = $1`),
	}
}

// record writes a in tx, which must then commit at once: it takes the lock
// that keeps events visible in ID order until tx ends.
func (q activityQueries) record(ctx context.Context, tx pgx.Tx, a ports.Activity) error {
	if _, err := tx.Exec(ctx, q.lock); err != nil {
		return err
	}
	// Only the kind's own ID is written (zero IDs are NULL), as the table's
	// check demands.
	var user ports.UserID
	var schedule ports.ScheduleID
	switch a.Actor.Kind {
	case ports.ActorUser:
		user = a.Actor.UserID
	case ports.ActorSchedule:
		schedule = a.Actor.ScheduleID
	}
	_, err := tx.Exec(ctx, q.insert, a.OrderID, a.ProvisionID, a.BackupID, a.BackupName, string(a.Type),
		string(a.Actor.Kind), user, schedule, nullString(a.Reason))
	return err
}

// ListActivity returns the order's events below before (all when before is 0),
// newest first, at most limit.
func (l *ActivityLog) ListActivity(ctx context.Context, order ports.OrderID, before ports.ActivityID, limit int) ([]ports.Activity, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return l.query(ctx, "list activity of order "+order.String(), l.q.list, order, int64(before), max(limit, 0))
}

// ActivitySince returns the events above after, of every order or only of
// order when it is not zero, oldest first, at most limit.
func (l *ActivityLog) ActivitySince(ctx context.Context, after ports.ActivityID, order ports.OrderID, limit int) ([]ports.Activity, error) {
	if order.IsZero() {
		return l.query(ctx, "list activity", l.q.since, int64(after), max(limit, 0))
	}
	return l.query(ctx, "list activity of order "+order.String(), l.q.sinceOrder, int64(after), max(limit, 0), order)
}

// LatestActivity returns the largest ID recorded so far, 0 when none.
func (l *ActivityLog) LatestActivity(ctx context.Context) (ports.ActivityID, error) {
	var id int64
	if err := l.db.QueryRow(ctx, l.q.latest).Scan(&id); err != nil {
		return 0, dbError("latest activity", err)
	}
	return ports.ActivityID(id), nil
}

// DeleteOrderActivity erases the order's events and returns how many there
// were. Events are history and outlive their order (deleting the order's row
// leaves them, so that a follower still reads the backup.deleted events of
// DeleteOrderBackups); call it when the history must go too, once the
// followers that need its events have read them. Events recorded after it
// are kept.
func (l *ActivityLog) DeleteOrderActivity(ctx context.Context, order ports.OrderID) (int, error) {
	tag, err := l.db.Exec(ctx, l.q.deleteOrder, order)
	if err != nil {
		return 0, dbError("delete activity of order "+order.String(), err)
	}
	return int(tag.RowsAffected()), nil
}

func (l *ActivityLog) query(ctx context.Context, op, sql string, args ...any) ([]ports.Activity, error) {
	rows, err := l.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbError(op, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.Activity, error) { return scanActivity(row) })
	if err != nil {
		return nil, dbError(op, err)
	}
	return list, nil
}

func scanActivity(row pgx.Row) (ports.Activity, error) {
	var a ports.Activity
	var typ, kind string
	var user ports.UserID
	var schedule ports.ScheduleID
	var reason *string
	var at time.Time
	err := row.Scan(&a.ID, &typ, &a.OrderID, &a.ProvisionID, &a.BackupID, &a.BackupName,
		&kind, &user, &schedule, &at, &reason)
	if err != nil {
		return ports.Activity{}, err
	}
	a.Type, a.At, a.Reason = ports.ActivityType(typ), at.UTC(), stringOf(reason)
	a.Actor = ports.Actor{Kind: ports.ActorKind(kind), UserID: user, ScheduleID: schedule}
	return a, nil
}

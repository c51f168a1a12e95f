package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The activity log's read queries in the default layout, for the plan test.
var (
	defaultActivityQueries = newActivityQueries(Layout{}.tables())
	ListActivitySQL        = defaultActivityQueries.list
	ActivitySinceSQL       = defaultActivityQueries.since
	ActivitySinceOrderSQL  = defaultActivityQueries.sinceOrder
)

// RecordActivity writes a in tx as Repository and Schedules do, lock
// included, so that a test can hold such a transaction open.
func RecordActivity(ctx context.Context, tx pgx.Tx, layout Layout, a ports.Activity) error {
	return newActivityQueries(layout.tables()).record(ctx, tx, a)
}

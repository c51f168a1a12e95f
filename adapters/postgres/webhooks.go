package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// WebhookCursors implements ports.WebhookCursors on savepoint's
// webhook_cursors table (see Migrate). Leases are judged by the database's
// clock, so replicas whose clocks drift still agree on who holds an endpoint;
// taking one is a single conditional UPDATE, so two replicas claiming at once
// cannot both win.
type WebhookCursors struct {
	db DB
	q  webhookQueries
}

var _ ports.WebhookCursors = (*WebhookCursors)(nil)

// NewWebhookCursors returns a WebhookCursors that runs its queries on db, on
// the table Migrate created with the same layout.
func NewWebhookCursors(db DB, layout Layout) *WebhookCursors {
	return &WebhookCursors{db: db, q: newWebhookQueries(layout.tables())}
}

type webhookQueries struct {
	create, claim, save, exists, find string
}

const webhookColumns = `endpoint_id, delivered, attempts, next_attempt_at, last_error, updated_at`

func newWebhookQueries(t tables) webhookQueries {
	r := func(s string) string { return mustRender(s, t) }
	return webhookQueries{
		create: r(`INSERT INTO {{.WebhookCursors}} (endpoint_id, delivered) VALUES ($1, $2)
			ON CONFLICT (endpoint_id) DO NOTHING`),
		claim: r(`UPDATE {{.WebhookCursors}}
			SET lease_owner = $2, lease_until = now() + $3::bigint * interval '1 microsecond'
			WHERE endpoint_id = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until <= now())
			RETURNING ` + webhookColumns),
		save: r(`UPDATE {{.WebhookCursors}}
			SET delivered = $3, attempts = $4, next_attempt_at = $5, last_error = $6, updated_at = now(),
				lease_owner = CASE WHEN $7::bigint > 0 THEN lease_owner END,
				lease_until = CASE WHEN $7::bigint > 0 THEN now() + $7::bigint * interval '1 microsecond' END
			WHERE endpoint_id = $1 AND lease_owner = $2`),
		exists: r(`SELECT EXISTS (SELECT 1 FROM {{.WebhookCursors}} WHERE endpoint_id = $1)`),
		find:   r(`SELECT ` + webhookColumns + ` FROM {{.WebhookCursors}} WHERE endpoint_id = $1`),
	}
}

// Claim leases the endpoint's cursor to owner, creating it at start if needed;
// false while another owner's lease runs.
func (w *WebhookCursors) Claim(ctx context.Context, endpointID, owner string, start ports.ActivityID, lease time.Duration) (ports.WebhookCursor, bool, error) {
	if endpointID == "" || owner == "" || lease <= 0 {
		return ports.WebhookCursor{}, false, errors.New("postgres: claim webhook cursor: endpoint ID, owner and a positive lease are required")
	}
	// The lease is taken first, since the cursor usually exists; only when
	// no row answers is it created (unless another claimant just did), and
	// the lease taken again, which then tells a held cursor from a new one.
	c, err := scanWebhookCursor(w.db.QueryRow(ctx, w.q.claim, endpointID, owner, lease.Microseconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := w.db.Exec(ctx, w.q.create, endpointID, int64(start)); err != nil {
			return ports.WebhookCursor{}, false, dbError("create webhook cursor", err)
		}
		c, err = scanWebhookCursor(w.db.QueryRow(ctx, w.q.claim, endpointID, owner, lease.Microseconds()))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.WebhookCursor{}, false, nil
	}
	if err != nil {
		return ports.WebhookCursor{}, false, dbError("claim webhook cursor", err)
	}
	return c, true, nil
}

// Save stores c if owner holds the endpoint's lease, and renews or ends the
// lease.
func (w *WebhookCursors) Save(ctx context.Context, owner string, c ports.WebhookCursor, renew time.Duration) error {
	tag, err := w.db.Exec(ctx, w.q.save, c.EndpointID, owner, int64(c.Delivered), c.Attempts,
		nullTime(c.NextAttemptAt), nullString(ports.TruncateWebhookError(c.LastError)), max(renew.Microseconds(), 0))
	if err != nil {
		return dbError("save webhook cursor", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := w.db.QueryRow(ctx, w.q.exists, c.EndpointID).Scan(&exists); err != nil {
		return dbError("save webhook cursor", err)
	}
	if !exists {
		return fmt.Errorf("postgres: webhook cursor %q: %w", c.EndpointID, ports.ErrNotFound)
	}
	return fmt.Errorf("postgres: save webhook cursor %q: %w", c.EndpointID, ports.ErrWebhookLeaseLost)
}

// Cursor returns the endpoint's cursor. Returns ErrNotFound.
func (w *WebhookCursors) Cursor(ctx context.Context, endpointID string) (ports.WebhookCursor, error) {
	c, err := scanWebhookCursor(w.db.QueryRow(ctx, w.q.find, endpointID))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.WebhookCursor{}, fmt.Errorf("postgres: webhook cursor %q: %w", endpointID, ports.ErrNotFound)
	}
	if err != nil {
		return ports.WebhookCursor{}, dbError("read webhook cursor", err)
	}
	return c, nil
}

func scanWebhookCursor(row pgx.Row) (ports.WebhookCursor, error) {
	var (
		c         ports.WebhookCursor
		delivered int64
		next      *time.Time
		lastErr   *string
	)
	if err := row.Scan(&c.EndpointID, &delivered, &c.Attempts, &next, &lastErr, &c.UpdatedAt); err != nil {
		return ports.WebhookCursor{}, err
	}
	c.Delivered, c.NextAttemptAt, c.LastError, c.UpdatedAt = ports.ActivityID(delivered), timeOf(next), stringOf(lastErr), c.UpdatedAt.UTC()
	return c, nil
}

package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// WebhookCursors is an in-memory ports.WebhookCursors. One mutex guards it, so
// a claim checks and takes a lease atomically, as the conditional update does
// in PostgreSQL. Its leases expire by the process's clock.
type WebhookCursors struct {
	mu      sync.Mutex
	cursors map[string]*webhookCursor
	now     func() time.Time
}

type webhookCursor struct {
	c          ports.WebhookCursor
	owner      string
	leaseUntil time.Time
}

var _ ports.WebhookCursors = (*WebhookCursors)(nil)

// NewWebhookCursors returns a WebhookCursors holding no cursors.
func NewWebhookCursors() *WebhookCursors {
	return &WebhookCursors{cursors: make(map[string]*webhookCursor), now: time.Now}
}

// Claim leases the endpoint's cursor to owner, creating it at start if needed;
// false while another owner's lease runs.
func (w *WebhookCursors) Claim(ctx context.Context, endpointID, owner string, start ports.ActivityID, lease time.Duration) (ports.WebhookCursor, bool, error) {
	if err := ctx.Err(); err != nil {
		return ports.WebhookCursor{}, false, fmt.Errorf("local: claim webhook cursor: %w", err)
	}
	if endpointID == "" || owner == "" || lease <= 0 {
		return ports.WebhookCursor{}, false, fmt.Errorf("local: claim webhook cursor: endpoint ID, owner and a positive lease are required")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	cur, ok := w.cursors[endpointID]
	if !ok {
		cur = &webhookCursor{c: ports.WebhookCursor{EndpointID: endpointID, Delivered: start, UpdatedAt: dbTime(now)}}
		w.cursors[endpointID] = cur
	}
	if cur.owner != "" && cur.owner != owner && now.Before(cur.leaseUntil) {
		return ports.WebhookCursor{}, false, nil
	}
	cur.owner, cur.leaseUntil = owner, now.Add(lease)
	return cur.c, true, nil
}

// Save stores c if owner holds the endpoint's lease, and renews or ends the
// lease.
func (w *WebhookCursors) Save(ctx context.Context, owner string, c ports.WebhookCursor, renew time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: save webhook cursor: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.cursors[c.EndpointID]
	if !ok {
		return fmt.Errorf("local: webhook cursor %q: %w", c.EndpointID, ports.ErrNotFound)
	}
	if owner == "" || cur.owner != owner {
		return fmt.Errorf("local: save webhook cursor %q: %w", c.EndpointID, ports.ErrWebhookLeaseLost)
	}
	now := w.now()
	cur.c = ports.WebhookCursor{
		EndpointID: c.EndpointID, Delivered: c.Delivered, Attempts: c.Attempts,
		NextAttemptAt: dbTime(c.NextAttemptAt), LastError: ports.TruncateWebhookError(c.LastError), UpdatedAt: dbTime(now),
	}
	if renew > 0 {
		cur.leaseUntil = now.Add(renew)
	} else {
		cur.owner, cur.leaseUntil = "", time.Time{}
	}
	return nil
}

// Cursor returns the endpoint's cursor. Returns ErrNotFound.
func (w *WebhookCursors) Cursor(ctx context.Context, endpointID string) (ports.WebhookCursor, error) {
	if err := ctx.Err(); err != nil {
		return ports.WebhookCursor{}, fmt.Errorf("local: webhook cursor: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, ok := w.cursors[endpointID]
	if !ok {
		return ports.WebhookCursor{}, fmt.Errorf("local: webhook cursor %q: %w", endpointID, ports.ErrNotFound)
	}
	return cur.c, nil
}

package ports

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// WebhookEndpoint is a receiver of the activity log's events, as the host
// configures it. The webhook dispatcher (adapters/webhook) signs every delivery
// with Secret and delivers the events to each endpoint in order.
type WebhookEndpoint struct {
	// ID names the endpoint for good: the dispatcher keeps the endpoint's
	// place in the log under it, and receivers see it in every delivery's
	// idempotency key. A new ID is a new endpoint, which starts afresh.
	ID string
	// URL receives the events as POST requests.
	URL string
	// Secret is the HMAC-SHA256 key deliveries are signed with. It is never
	// logged or stored with the endpoint's delivery state.
	Secret []byte
	// OrderID limits the endpoint to one order's events; zero means every
	// order's.
	OrderID OrderID
	// Backfill makes a new endpoint start at the beginning of the log, so it is
	// sent the events recorded before it was added. Without it a new endpoint
	// starts at the newest event and is sent what happens from then on. It
	// matters only the first time the dispatcher sees the endpoint.
	Backfill bool
}

// WebhookEndpoints is the host's list of webhook endpoints. The dispatcher
// asks for it at every poll, so a host may change it at any time.
type WebhookEndpoints interface {
	// List returns the endpoints events are delivered to.
	List(ctx context.Context) ([]WebhookEndpoint, error)
}

// WebhookCursor is an endpoint's place in the activity log and the state of the
// delivery it is retrying. It holds no secret.
type WebhookCursor struct {
	EndpointID string
	// Delivered is the ID of the last event the endpoint accepted; the next
	// delivery is the first event after it.
	Delivered ActivityID
	// Attempts counts the failed deliveries of the next event, 0 when the last
	// delivery succeeded.
	Attempts int
	// NextAttemptAt is when the next event may be tried again after a failure;
	// zero means at once.
	NextAttemptAt time.Time
	// LastError says why the last delivery failed, empty after a success.
	LastError string
	// UpdatedAt is when the cursor was last saved.
	UpdatedAt time.Time
}

// ErrWebhookLeaseLost: the caller no longer holds the endpoint's lease (it
// expired and another dispatcher claimed the cursor), so its save was refused.
var ErrWebhookLeaseLost = errors.New("the webhook endpoint's lease is held by another dispatcher")

// MaxWebhookErrorLen is the most bytes of LastError a store keeps.
const MaxWebhookErrorLen = 1024

// WebhookCursors stores the endpoints' cursors durably, and leases each to one
// dispatcher at a time so that several replicas never deliver one endpoint at
// once (which could reorder its events). A lease ends when its holder saves
// with no renewal, or when it expires: a dispatcher that dies mid-delivery
// holds the endpoint no longer than that.
type WebhookCursors interface {
	// Claim leases the endpoint's cursor to owner for lease, creating the
	// cursor at start (Delivered = start) if the endpoint has none, and returns
	// it. It returns false, and no error, while another owner's lease runs; an
	// owner may claim again what it holds. Lease expiry is judged by the
	// store's clock, so replicas' clocks need not agree.
	Claim(ctx context.Context, endpointID, owner string, start ActivityID, lease time.Duration) (WebhookCursor, bool, error)

	// Save stores c's Delivered, Attempts, NextAttemptAt and LastError (cut to
	// MaxWebhookErrorLen bytes) as the endpoint's cursor, if owner holds its
	// lease — an expired lease still counts until another owner claims the
	// cursor — and renews the lease for renew from now, or ends it when renew
	// is 0. Returns ErrWebhookLeaseLost when another owner holds the lease or
	// none does, ErrNotFound when there is no cursor.
	Save(ctx context.Context, owner string, c WebhookCursor, renew time.Duration) error

	// Cursor returns the endpoint's cursor. Returns ErrNotFound.
	Cursor(ctx context.Context, endpointID string) (WebhookCursor, error)
}

// TruncateWebhookError returns s as stores keep LastError: valid UTF-8 without
// NUL bytes (which PostgreSQL's text refuses), cut on a rune boundary to at
// most MaxWebhookErrorLen bytes, since a receiver's answer is not to fill the
// database.
func TruncateWebhookError(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	n := 0
	for n < len(s) {
		_, size := utf8.DecodeRuneInString(s[n:])
		if n+size > MaxWebhookErrorLen {
			break
		}
		n += size
	}
	return s[:n]
}

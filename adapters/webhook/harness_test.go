package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/adapters/webhook/webhooktest"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// waitTimeout bounds every wait for deliveries: generous, for a loaded
// two-core machine; a passing test waits far less.
const waitTimeout = 30 * time.Second

// memLog is a slice-backed ports.ActivityLog: events are appended with the
// next ID, or with a chosen one to leave a hole.
type memLog struct {
	mu     sync.Mutex
	events []ports.Activity // by ID
}

var _ ports.ActivityLog = (*memLog)(nil)

func (l *memLog) add(a ports.Activity) ports.Activity {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.ID == 0 {
		a.ID = 1
		if n := len(l.events); n > 0 {
			a.ID = l.events[n-1].ID + 1
		}
	}
	if a.At.IsZero() {
		a.At = time.Now()
	}
	l.events = append(l.events, a)
	slices.SortFunc(l.events, func(x, y ports.Activity) int { return int(x.ID - y.ID) })
	return a
}

func (l *memLog) ListActivity(context.Context, ports.OrderID, ports.ActivityID, int) ([]ports.Activity, error) {
	return nil, nil
}

func (l *memLog) ActivitySince(ctx context.Context, after ports.ActivityID, order ports.OrderID, limit int) ([]ports.Activity, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ports.Activity
	for _, a := range l.events {
		if a.ID > after && (order.IsZero() || a.OrderID == order) && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, ctx.Err()
}

func (l *memLog) LatestActivity(context.Context) (ports.ActivityID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return 0, nil
	}
	return l.events[len(l.events)-1].ID, nil
}

// memCursors is a minimal ports.WebhookCursors (the real ones are checked by
// the portstest suite; the adapters do not import each other).
type memCursors struct {
	mu      sync.Mutex
	claims  int
	cursors map[string]ports.WebhookCursor
	owners  map[string]string
	until   map[string]time.Time
}

func newMemCursors() *memCursors {
	return &memCursors{cursors: map[string]ports.WebhookCursor{}, owners: map[string]string{}, until: map[string]time.Time{}}
}

func (m *memCursors) Claim(_ context.Context, ep, owner string, start ports.ActivityID, lease time.Duration) (ports.WebhookCursor, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	c, ok := m.cursors[ep]
	if !ok {
		c = ports.WebhookCursor{EndpointID: ep, Delivered: start}
		m.cursors[ep] = c
	}
	if o := m.owners[ep]; o != "" && o != owner && time.Now().Before(m.until[ep]) {
		return ports.WebhookCursor{}, false, nil
	}
	m.owners[ep], m.until[ep] = owner, time.Now().Add(lease)
	return c, true, nil
}

func (m *memCursors) Save(_ context.Context, owner string, c ports.WebhookCursor, renew time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cursors[c.EndpointID]; !ok {
		return ports.ErrNotFound
	}
	if m.owners[c.EndpointID] != owner {
		return ports.ErrWebhookLeaseLost
	}
	c.LastError = ports.TruncateWebhookError(c.LastError)
	m.cursors[c.EndpointID] = c
	if renew > 0 {
		m.until[c.EndpointID] = time.Now().Add(renew)
	} else {
		m.owners[c.EndpointID] = ""
	}
	return nil
}

func (m *memCursors) Cursor(_ context.Context, ep string) (ports.WebhookCursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[ep]
	if !ok {
		return c, ports.ErrNotFound
	}
	return c, nil
}

// newReceiver starts a receiver with a secret of the test's own.
func newReceiver(t *testing.T) *webhooktest.Receiver {
	return webhooktest.NewReceiver(t, []byte("secret-"+t.Name()))
}

func ids(events []webhook.Event) []ports.ActivityID {
	out := make([]ports.ActivityID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// testOptions deliver quickly: short polls and backoff, loopback allowed.
func testOptions() webhook.Options {
	return webhook.Options{
		PollInterval: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		AllowHTTP: true, AllowPrivateTargets: true, Timeout: 5 * time.Second, GapWait: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// startDispatcher runs a dispatcher until the test ends.
func startDispatcher(t *testing.T, log ports.ActivityLog, eps ports.WebhookEndpoints, cursors ports.WebhookCursors, opts webhook.Options) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.New(log, eps, cursors, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Run did not return after its context ended")
		}
	})
	return d
}

// backupEvents appends a create→ready→restore→lock→unlock→delete life to log
// for one backup of order.
func backupEvents(log *memLog, order ports.OrderID, name string) []ports.Activity {
	prov, b, user := ports.NewProvisionID(), ports.NewBackupID(), ports.NewUserID()
	var out []ports.Activity
	for _, typ := range []ports.ActivityType{
		ports.ActivityBackupCreated, ports.ActivityBackupReady, ports.ActivityRestoreStarted,
		ports.ActivityRestoreFinished, ports.ActivityBackupLocked, ports.ActivityBackupUnlocked, ports.ActivityBackupDeleted,
	} {
		out = append(out, log.add(ports.Activity{Type: typ, OrderID: order, ProvisionID: prov, BackupID: b,
			BackupName: name, Actor: ports.UserActor(user)}))
	}
	return out
}

func wantIDs(t *testing.T, what string, got []webhook.Event, want []ports.Activity) {
	t.Helper()
	w := make([]ports.ActivityID, len(want))
	for i, a := range want {
		w[i] = a.ID
	}
	if !slices.Equal(ids(got), w) {
		t.Errorf("%s: got events %v, want %v", what, ids(got), w)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (m *memCursors) claimCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claims
}

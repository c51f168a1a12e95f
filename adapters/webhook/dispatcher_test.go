package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestDeliversEveryEventSignedAndInOrder: a receiver that checks every
// signature sees every event of two backups' lives, in the log's order, each
// once, with the body the package doc describes.
func TestDeliversEveryEventSignedAndInOrder(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	order := ports.NewOrderID()
	want := backupEvents(log, order, "first")
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), newMemCursors(), testOptions())
	rcv.WaitAccepted(len(want), waitTimeout)
	want = append(want, backupEvents(log, order, "second")...)
	skipped := log.add(ports.Activity{Type: ports.ActivityScheduleRunSkipped, OrderID: order, ProvisionID: ports.NewProvisionID(),
		Actor: ports.ScheduleActor(ports.NewScheduleID()), Reason: "busy"})
	want = append(want, skipped)
	got := rcv.WaitAccepted(len(want), waitTimeout)
	wantIDs(t, "accepted", got, want)

	for i, e := range got {
		a := want[i]
		if e.Type != a.Type || e.OrderID != a.OrderID || e.ProvisionID != a.ProvisionID || e.BackupName != a.BackupName ||
			e.Actor.Kind != a.Actor.Kind || !e.At.Equal(a.At) || e.Reason != a.Reason {
			t.Errorf("event %d = %+v, want it to carry %+v", i, e, a)
		}
	}
	if e := got[0]; e.BackupID == nil || *e.BackupID != want[0].BackupID || e.Actor.UserID == nil || *e.Actor.UserID != want[0].Actor.UserID {
		t.Errorf("a user's backup event lacks its backup or user: %+v", e)
	}
	if e := got[len(got)-1]; e.BackupID != nil || e.Actor.ScheduleID == nil || e.Actor.UserID != nil {
		t.Errorf("a skipped run's event = %+v, want a null backup and the schedule as actor", e)
	}
	if requests := len(rcv.Arrivals()); requests != len(want) {
		t.Errorf("%d requests for %d events with a receiver that never failed", requests, len(want))
	}
}

// TestReceiverDownThenUp: a receiver answering 503, then not listening at
// all, then back, gets every event, in order, and the failures are recorded
// with the cursor meanwhile.
func TestReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	cursors := newMemCursors()
	rcv.SetAnswer(func(context.Context, int, string, webhook.Event) int { return http.StatusServiceUnavailable })
	order := ports.NewOrderID()
	want := append(backupEvents(log, order, "a"), backupEvents(log, ports.NewOrderID(), "b")...)
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), cursors, testOptions())

	// Failing: the first event is tried again and again, nothing after it.
	waitFor(t, "three failed attempts recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Attempts >= 3
	})
	c, _ := cursors.Cursor(t.Context(), "ep")
	if c.Delivered != 0 || !strings.Contains(c.LastError, "503") || c.NextAttemptAt.IsZero() {
		t.Errorf("cursor while the receiver answers 503 = %+v", c)
	}
	if got := rcv.Accepted(); len(got) != 0 {
		t.Errorf("events accepted while the receiver refused: %v", ids(got))
	}

	// Not listening: connections are refused.
	rcv.Down()
	waitFor(t, "a refused connection recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && strings.Contains(c.LastError, "refused")
	})

	// Back on the same address.
	rcv.SetAnswer(nil) // accepting again
	rcv.Up()

	got := rcv.WaitAccepted(len(want), waitTimeout)
	wantIDs(t, "accepted after the receiver came back", got, want)
	waitFor(t, "the cursor cleared of the failure", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Delivered == want[len(want)-1].ID && c.Attempts == 0 && c.LastError == ""
	})
}

// TestSlowReceiverHoldsUpOnlyItself: an endpoint that never answers in time
// does not delay another endpoint's events.
func TestSlowReceiverHoldsUpOnlyItself(t *testing.T) {
	t.Parallel()
	log, fast, slow := &memLog{}, newReceiver(t), newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow.SetAnswer(func(context.Context, int, string, webhook.Event) int {
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
		return 0
	})
	opts := testOptions()
	opts.Timeout = 500 * time.Millisecond
	cursors := newMemCursors()
	startDispatcher(t, log, webhook.Static(slow.Endpoint("slow"), fast.Endpoint("fast")), cursors, opts)
	want := backupEvents(log, ports.NewOrderID(), "x")
	start := time.Now()
	got := fast.WaitAccepted(len(want), waitTimeout)
	wantIDs(t, "the fast endpoint", got, want)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the fast endpoint took %v beside a slow one", d)
	}
	waitFor(t, "the slow endpoint's timeout recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "slow")
		return err == nil && c.Attempts >= 1 && c.Delivered == 0
	})
}

// TestNewEndpointStartsAtTheNewestEvent: without Backfill an endpoint gets
// what happens after it was added, not the history; with it, everything.
func TestNewEndpointStartsAtTheNewestEvent(t *testing.T) {
	t.Parallel()
	log, rcv, all := &memLog{}, newReceiver(t), newReceiver(t)
	history := backupEvents(log, ports.NewOrderID(), "old")
	ep := rcv.Endpoint("new")
	ep.Backfill = false
	d := startDispatcher(t, log, webhook.Static(ep, all.Endpoint("all")), newMemCursors(), testOptions())
	all.WaitAccepted(len(history), waitTimeout) // both endpoints have been seen
	fresh := log.add(ports.Activity{Type: ports.ActivityBackupCreated, OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		BackupID: ports.NewBackupID(), Actor: ports.SystemActor})
	d.Wake()
	wantIDs(t, "the new endpoint", rcv.WaitAccepted(1, waitTimeout), []ports.Activity{fresh})
	wantIDs(t, "the backfilled endpoint", all.WaitAccepted(len(history)+1, waitTimeout), append(history, fresh))
}

// TestOrderEndpointGetsOnlyItsOrder: an endpoint limited to one order is
// sent that order's events only, in order.
func TestOrderEndpointGetsOnlyItsOrder(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	mine, other := ports.NewOrderID(), ports.NewOrderID()
	var want []ports.Activity
	for range 3 {
		backupEvents(log, other, "theirs")
		want = append(want, backupEvents(log, mine, "mine")...)
	}
	last := backupEvents(log, other, "theirs")
	ep := rcv.Endpoint("mine")
	ep.OrderID = mine
	cursors := newMemCursors()
	opts := testOptions()
	opts.BatchSize = 4 // several reads, each mostly the other order's
	startDispatcher(t, log, webhook.Static(ep), cursors, opts)
	wantIDs(t, "the order's endpoint", rcv.WaitAccepted(len(want), waitTimeout), want)
	waitFor(t, "the cursor past the other order's events", func() bool {
		c, err := cursors.Cursor(t.Context(), "mine")
		return err == nil && c.Delivered == last[len(last)-1].ID
	})
	if got := rcv.Accepted(); len(got) != len(want) {
		t.Errorf("the endpoint got %d events, want %d", len(got), len(want))
	}
}

// TestHoleInTheLogIsWaitedFor: an event whose ID is below one already
// visible (its transaction committed later) is still delivered, before the
// later one; a hole that never fills is passed after GapWait.
func TestHoleInTheLogIsWaitedFor(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	order, prov := ports.NewOrderID(), ports.NewProvisionID()
	ev := func(id ports.ActivityID) ports.Activity {
		return ports.Activity{ID: id, Type: ports.ActivityBackupCreated, OrderID: order, ProvisionID: prov,
			BackupID: ports.NewBackupID(), Actor: ports.SystemActor}
	}
	e1, e3 := log.add(ev(1)), log.add(ev(3))
	opts := testOptions()
	opts.GapWait = 5 * time.Second
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), newMemCursors(), opts)
	rcv.WaitAccepted(1, waitTimeout)
	time.Sleep(200 * time.Millisecond) // within GapWait: event 3 must wait
	if got := rcv.Accepted(); len(got) != 1 {
		t.Fatalf("event 3 overtook the hole at 2: %v", ids(got))
	}
	e2 := log.add(ev(2))
	wantIDs(t, "after the hole filled", rcv.WaitAccepted(3, waitTimeout), []ports.Activity{e1, e2, e3})

	e5 := log.add(ev(5)) // 4 never comes
	wantIDs(t, "after a hole that never fills", rcv.WaitAccepted(4, waitTimeout), []ports.Activity{e1, e2, e3, e5})
}

// TestOldHoleIsPassedAtOnce: a hole followed by an event older than GapWait
// (a deleted order's events, or a rolled-back write, found by an endpoint
// catching up) does not hold the endpoint up.
func TestOldHoleIsPassedAtOnce(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	old := time.Now().Add(-time.Hour)
	var want []ports.Activity
	for _, id := range []ports.ActivityID{1, 3, 6} {
		want = append(want, log.add(ports.Activity{ID: id, Type: ports.ActivityBackupCreated, OrderID: ports.NewOrderID(),
			ProvisionID: ports.NewProvisionID(), BackupID: ports.NewBackupID(), Actor: ports.SystemActor, At: old}))
	}
	opts := testOptions()
	opts.GapWait = time.Hour
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), newMemCursors(), opts)
	wantIDs(t, "past old holes", rcv.WaitAccepted(len(want), waitTimeout), want)
}

// TestReplicasNeverDeliverOneEndpointAtOnce: three dispatchers on one store
// deliver one endpoint's events one at a time, in order.
func TestReplicasNeverDeliverOneEndpointAtOnce(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	rcv.SetAnswer(func(context.Context, int, string, webhook.Event) int {
		time.Sleep(5 * time.Millisecond) // a receiver that takes a moment, so overlaps would show
		return 0
	})
	cursors := newMemCursors()
	for range 3 {
		startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), cursors, testOptions())
	}
	var want []ports.Activity
	for range 4 {
		want = append(want, backupEvents(log, ports.NewOrderID(), "r")...)
	}
	wantIDs(t, "three replicas", rcv.WaitAccepted(len(want), waitTimeout), want)
	if n := rcv.MaxInFlight(); n != 1 {
		t.Errorf("up to %d deliveries to the endpoint at once, want 1", n)
	}
}

// TestRetryCarriesTheSameKey: an event the receiver failed is retried with
// the same idempotency key, and the one after it waits.
func TestRetryCarriesTheSameKey(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	var (
		mu   sync.Mutex
		seen []ports.ActivityID
	)
	rcv.SetAnswer(func(_ context.Context, n int, _ string, e webhook.Event) int {
		mu.Lock()
		seen = append(seen, e.ID)
		mu.Unlock()
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return 0
	})
	want := backupEvents(log, ports.NewOrderID(), "k")[:2]
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), newMemCursors(), testOptions())
	rcv.WaitAccepted(7, waitTimeout)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen[:4], []ports.ActivityID{want[0].ID, want[0].ID, want[0].ID, want[1].ID}) {
		t.Errorf("requests carried events %v, want the first three times, then the second", seen)
	}
}

// TestRedirectIsAFailure: a 3xx is not followed, so the receiver it points to
// gets nothing, and the event is retried.
func TestRedirectIsAFailure(t *testing.T) {
	t.Parallel()
	log, target := &memLog{}, newReceiver(t)
	redirector := httptest.NewServer(http.RedirectHandler(target.Endpoint("ep").URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	backupEvents(log, ports.NewOrderID(), "r")
	ep := target.Endpoint("ep")
	ep.URL = redirector.URL + "/hooks/ep"
	cursors := newMemCursors()
	startDispatcher(t, log, webhook.Static(ep), cursors, testOptions())
	waitFor(t, "the redirect recorded as a failure", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Attempts >= 2 && strings.Contains(c.LastError, "307")
	})
	if requests := len(target.Arrivals()); requests != 0 {
		t.Errorf("the redirect was followed: the target got %d requests", requests)
	}
}

// TestLargeAnswerIsCut: a failing receiver's long answer is read no further
// than a few KiB and stored short.
func TestLargeAnswerIsCut(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("upstream\x00 down " + strings.Repeat("x", 1<<20)))
	}))
	t.Cleanup(srv.Close)
	backupEvents(log, ports.NewOrderID(), "r")
	cursors := newMemCursors()
	startDispatcher(t, log, webhook.Static(ports.WebhookEndpoint{ID: "ep", URL: srv.URL, Secret: []byte("s"), Backfill: true}), cursors, testOptions())
	waitFor(t, "the failure recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Attempts >= 1
	})
	c, _ := cursors.Cursor(t.Context(), "ep")
	if !strings.HasPrefix(c.LastError, "HTTP 502 Bad Gateway: upstream  down xxx") || len(c.LastError) > 300 {
		t.Errorf("last error %q… (%d bytes)", c.LastError[:min(60, len(c.LastError))], len(c.LastError))
	}
}

// TestIdleEndpointsAreNotClaimed: once an endpoint has every event, polls
// leave its cursor alone until the log grows.
func TestIdleEndpointsAreNotClaimed(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	cursors := newMemCursors()
	want := backupEvents(log, ports.NewOrderID(), "idle")
	d := startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), cursors, testOptions())
	rcv.WaitAccepted(len(want), waitTimeout)
	waitFor(t, "the endpoint's last event recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Delivered == want[len(want)-1].ID
	})
	before := cursors.claimCount()
	time.Sleep(20 * testOptions().PollInterval) // the idle time being measured
	if n := cursors.claimCount() - before; n > 1 {
		t.Errorf("%d claims of an endpoint with nothing to deliver in 20 polls", n)
	}
	more := log.add(ports.Activity{Type: ports.ActivityBackupCreated, OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		BackupID: ports.NewBackupID(), Actor: ports.SystemActor})
	d.Wake()
	wantIDs(t, "after the log grew", rcv.WaitAccepted(len(want)+1, waitTimeout), append(want, more))
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

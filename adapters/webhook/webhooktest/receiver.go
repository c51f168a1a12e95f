// Package webhooktest is a webhook receiver for tests: a real HTTP endpoint on
// loopback that checks every delivery the way the webhook package documents
// it and fails the test on any departure. Hosts can point their dispatcher, or
// their whole server, at it to test their integration end to end.
//
// Every request must carry a signature that webhook.Verify accepts with the
// receiver's secret (otherwise the test fails and the request is answered
// 401), be a POST of a webhook.Event in JSON with the documented headers, and
// carry an Idempotency-Key ending in ":<event id>". The receiver records the
// key of every request in order, repeats included, and accepts each event
// once per key, as a real receiver must since deliveries may repeat. An
// answer hook can fail or hold requests, and Down and Up take it off the
// network and back, so that tests can see how a sender copes.
package webhooktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

const (
	// hooksPath prefixes the path of Endpoint's URLs: a delivery to
	// hooksPath+id must carry the idempotency key of endpoint id.
	hooksPath = "/hooks/"
	// maxBody bounds what is read of a delivery: events are far smaller.
	maxBody = 1 << 20
	// tolerance is how far a signature's time may be from the receiver's
	// clock: the sender and the receiver share a machine.
	tolerance = time.Minute
	// drainWait bounds how long Cleanup waits for running requests once
	// their context has ended.
	drainWait = time.Minute
)

// Receiver is a running webhook receiver. Its methods are safe for concurrent
// use; the Wait methods must be called from the test's goroutine, since they
// may end the test.
type Receiver struct {
	t      testing.TB
	secret []byte
	addr   string
	ctx    context.Context // ends every request's context at cleanup
	cancel context.CancelFunc
	wg     sync.WaitGroup // running requests

	mu        sync.Mutex
	srv       *http.Server // nil while down
	ln        net.Listener // srv's
	closed    bool
	arrivals  []string        // the idempotency key of every signed request, in order
	accepted  []webhook.Event // once per key, in arrival order
	keys      map[string]int  // idempotency key → requests accepted with it
	inFlight  int
	maxFlight int
	answer    func(ctx context.Context, n int, key string, e webhook.Event) int
	// changed is closed, and replaced, whenever a request arrives or is
	// accepted, so that any number of waiters wake without polling.
	changed chan struct{}
}

var _ http.Handler = (*Receiver)(nil)

// NewReceiver starts a receiver on 127.0.0.1 that verifies deliveries with
// secret. It stops when the test ends: the contexts of requests still running
// end, and the cleanup waits for their answers.
func NewReceiver(t testing.TB, secret []byte) *Receiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Receiver{t: t, secret: secret, ctx: ctx, cancel: cancel, keys: map[string]int{}, changed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("webhooktest: listen: %v", err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.close)
	return r
}

// URL is the receiver's base URL, http://127.0.0.1:<port>, with no path: any
// path is served. It stays the same across Down and Up.
func (r *Receiver) URL() string { return "http://" + r.addr }

// Addr is the host:port the receiver listens on.
func (r *Receiver) Addr() string { return r.addr }

// Endpoint returns an endpoint that delivers to r: its URL is
// URL()+"/hooks/"+id, for which the receiver also checks that the
// idempotency key names endpoint id; it carries r's secret, and Backfill, so
// that events recorded before the dispatcher started are delivered too.
func (r *Receiver) Endpoint(id string) ports.WebhookEndpoint {
	return ports.WebhookEndpoint{ID: id, URL: r.URL() + hooksPath + id, Secret: slices.Clone(r.secret), Backfill: true}
}

// SetAnswer sets the hook that decides the answer to each signed request, or
// removes it when answer is nil. n counts the signed requests from
// 1, key is the request's idempotency key and e its event. The hook returns
// the status to answer, or 0 to accept the event (204). It may block, to hold
// a delivery; ctx ends when the sender hangs up or the test ends, and the hook
// should return then.
func (r *Receiver) SetAnswer(answer func(ctx context.Context, n int, key string, e webhook.Event) int) {
	r.mu.Lock()
	r.answer = answer
	r.mu.Unlock()
}

// Down stops listening and drops every open connection, so that deliveries
// find nobody there (connection refused) until Up. Requests already being
// answered have their context ended; their answer goes nowhere.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv, ln := r.srv, r.ln
	r.srv, r.ln = nil, nil
	r.mu.Unlock()
	if srv != nil {
		// The listener is closed here too: srv only closes it once Serve
		// has started, which may not have happened yet.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Up listens again on the address it had, after Down; it fails the test if
// something else took the address meanwhile.
func (r *Receiver) Up() {
	r.t.Helper()
	r.mu.Lock()
	up := r.srv != nil || r.closed
	r.mu.Unlock()
	if up {
		return
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("webhooktest: listening again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return r.ctx },
	}
	r.mu.Lock()
	r.srv, r.ln = srv, ln
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// close ends the receiver at the end of the test: no new requests, the
// running ones' contexts ended and their answers awaited, so that none fails
// the test after it finished.
func (r *Receiver) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.Down()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainWait):
		r.t.Errorf("webhooktest: a request was still being answered %v after the test ended: an answer hook ignores its context", drainWait)
	}
}

// ServeHTTP checks and answers one delivery. The receiver serves on its own
// address; a test may also mount it on another server, such as an
// httptest.NewTLSServer or one on [::1].
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		http.Error(w, "the test has ended", http.StatusServiceUnavailable)
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()

	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if err != nil {
		return // the sender hung up
	}
	if err := webhook.Verify(r.secret, req.Header.Get(webhook.SignatureHeader), body, time.Now(), tolerance); err != nil {
		r.t.Errorf("webhooktest: a delivery's signature did not verify: %v\n%s", err, body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	key := req.Header.Get("Idempotency-Key")
	r.checkRequest(req, key)
	var e webhook.Event
	if err := json.Unmarshal(body, &e); err != nil {
		r.t.Errorf("webhooktest: a delivery's body %s: %v", body, err)
	}
	r.checkKey(req, key, e)

	r.mu.Lock()
	r.arrivals = append(r.arrivals, key)
	n, answer := len(r.arrivals), r.answer
	r.inFlight++
	r.maxFlight = max(r.maxFlight, r.inFlight)
	r.notifyLocked()
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	if answer != nil {
		if status := answer(req.Context(), n, key, e); status != 0 {
			w.WriteHeader(status)
			return
		}
	}
	r.mu.Lock()
	r.keys[key]++
	if r.keys[key] == 1 {
		r.accepted = append(r.accepted, e)
	}
	r.notifyLocked()
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// checkRequest fails the test unless req has the method and headers the
// webhook package documents for a delivery carrying key.
func (r *Receiver) checkRequest(req *http.Request, key string) {
	if req.Method != http.MethodPost {
		r.t.Errorf("webhooktest: method %s, want POST", req.Method)
	}
	for _, h := range []struct{ name, want string }{
		{"Content-Type", "application/json"},
		{"User-Agent", "savepoint-webhook"},
		{"Savepoint-Event-Id", key},
	} {
		if got := req.Header.Get(h.name); got != h.want {
			r.t.Errorf("webhooktest: header %s = %q, want %q", h.name, got, h.want)
		}
	}
}

// checkKey fails the test unless key is "<endpoint id>:<e's ID>", with the
// endpoint ID the one Endpoint put in the path, if the path is one of its.
func (r *Receiver) checkKey(req *http.Request, key string, e webhook.Event) {
	suffix := ":" + strconv.FormatInt(int64(e.ID), 10)
	if id, ok := strings.CutPrefix(req.URL.Path, hooksPath); ok {
		if want := id + suffix; key != want {
			r.t.Errorf("webhooktest: idempotency key %q, want %q", key, want)
		}
		return
	}
	if endpoint, ok := strings.CutSuffix(key, suffix); !ok || endpoint == "" {
		r.t.Errorf("webhooktest: idempotency key %q, want <endpoint id>%s", key, suffix)
	}
}

func (r *Receiver) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Arrivals returns the idempotency key of every signed request so far, in
// the order they arrived, repeats included, whatever they were answered.
func (r *Receiver) Arrivals() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.arrivals)
}

// Accepted returns the events accepted so far, once per idempotency key, in
// the order they arrived.
func (r *Receiver) Accepted() []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted)
}

// TimesAccepted is how many requests carrying key were accepted: more than 1
// means a delivery was repeated after the receiver had taken it.
func (r *Receiver) TimesAccepted(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[key]
}

// MaxInFlight is the most requests that were being answered at once.
func (r *Receiver) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxFlight
}

// WaitArrivals waits until at least n signed requests have arrived and
// returns their idempotency keys; it fails the test after timeout.
func (r *Receiver) WaitArrivals(n int, timeout time.Duration) []string {
	r.t.Helper()
	var got []string
	r.await(timeout, func() (bool, string, string) {
		got = slices.Clone(r.arrivals)
		return len(got) >= n, "", fmt.Sprintf("the receiver had %d requests, want %d", len(got), n)
	})
	return got
}

// WaitAccepted waits until at least n distinct events were accepted and
// returns them all in the order they arrived; it fails the test after
// timeout.
func (r *Receiver) WaitAccepted(n int, timeout time.Duration) []webhook.Event {
	r.t.Helper()
	var got []webhook.Event
	r.await(timeout, func() (bool, string, string) {
		got = slices.Clone(r.accepted)
		return len(got) >= n, "", fmt.Sprintf("the receiver accepted %d events, want %d: %v", len(got), n, eventIDs(got))
	})
	return got
}

// WaitBackupEvents waits until the accepted events of the backup with ID
// backupID have the types want, in that order, and returns them. It fails the
// test as soon as they are anything but a start of want (an event missing,
// repeated or out of order), or after timeout.
func (r *Receiver) WaitBackupEvents(backupID string, want []string, timeout time.Duration) []webhook.Event {
	r.t.Helper()
	var got []webhook.Event
	r.await(timeout, func() (bool, string, string) {
		got = backupEvents(r.accepted, backupID)
		types := eventTypes(got)
		switch {
		case len(types) >= len(want) && !slices.Equal(types, want):
			return false, fmt.Sprintf("backup %s's events arrived as %v, want %v", backupID, types, want), ""
		case len(types) < len(want) && !slices.Equal(types, want[:len(types)]):
			return false, fmt.Sprintf("backup %s's events so far are %v, want a start of %v", backupID, types, want), ""
		}
		return len(types) >= len(want), "", fmt.Sprintf("backup %s's events are %v, want %v", backupID, types, want)
	})
	return got
}

// await calls check, with the receiver locked, until it reports done, then
// again at every change. It fails the test at once when check reports
// something wrong, and with check's progress after timeout.
func (r *Receiver) await(timeout time.Duration, check func() (done bool, wrong, progress string)) {
	r.t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		done, wrong, progress := check()
		changed := r.changed
		r.mu.Unlock()
		switch {
		case wrong != "":
			r.t.Fatalf("webhooktest: %s", wrong)
		case done:
			return
		}
		select {
		case <-changed:
		case <-deadline:
			r.t.Fatalf("webhooktest: after %v %s", timeout, progress)
		}
	}
}

func backupEvents(events []webhook.Event, backupID string) []webhook.Event {
	var out []webhook.Event
	for _, e := range events {
		if e.BackupID != nil && e.BackupID.String() == backupID {
			out = append(out, e)
		}
	}
	return out
}

func eventTypes(events []webhook.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e.Type)
	}
	return out
}

func eventIDs(events []webhook.Event) []ports.ActivityID {
	out := make([]ports.ActivityID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

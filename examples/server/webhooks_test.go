package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// webhookWait bounds a wait for deliveries: retries back off for seconds, and
// a replica killed mid-delivery holds its lease for the timeout and a margin.
const webhookWait = 2 * time.Minute

// lifeEvents are the events of a backup created, restored, locked, unlocked
// and deleted, in order.
var lifeEvents = []string{"backup.created", "backup.ready", "restore.started", "restore.finished",
	"backup.locked", "backup.unlocked", "backup.deleted"}

// hookReceiver is a platform's webhook endpoint on loopback. It verifies every
// request's signature, and keeps each event once by its idempotency key, as
// a receiver must since deliveries may repeat.
type hookReceiver struct {
	t      *testing.T
	secret []byte
	ln     net.Listener
	srv    *http.Server
	url    string

	mu       sync.Mutex
	events   []webhook.Event // accepted, deduplicated, in arrival order
	keys     map[string]int  // idempotency key → requests with it
	arrivals []string        // idempotency keys of every request, in order
	hold     func(r *http.Request, key string) int
	changed  chan struct{}
}

// newHookReceiver listens on a loopback port; serve starts answering, so that
// a test can first let the server find nobody there.
func newHookReceiver(t *testing.T) *hookReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, secret: []byte("whsec-" + t.Name()), ln: ln, keys: map[string]int{}, changed: make(chan struct{}, 1)}
	h.url = "http://" + ln.Addr().String() + "/savepoint"
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	t.Cleanup(func() { h.srv.Close() })
	return h
}

func (h *hookReceiver) serve() { go h.srv.Serve(h.ln) }

// args are the example server's flags that deliver to h.
func (h *hookReceiver) args(t *testing.T) []string {
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, append(h.secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-webhook-url-file", webhookURLFile(t, h.url), "-webhook-secret-file", secretFile, "-webhook-allow-private"}
}

func (h *hookReceiver) setHold(f func(r *http.Request, key string) int) {
	h.mu.Lock()
	h.hold = f
	h.mu.Unlock()
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	if err := webhook.Verify(h.secret, r.Header.Get(webhook.SignatureHeader), body, time.Now(), time.Minute); err != nil {
		h.t.Errorf("a delivery's signature did not verify: %v\n%s", err, body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var e webhook.Event
	if err := json.Unmarshal(body, &e); err != nil {
		h.t.Errorf("a delivery's body %s: %v", body, err)
	}
	h.mu.Lock()
	h.arrivals = append(h.arrivals, key)
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		if status := hold(r, key); status != 0 {
			w.WriteHeader(status)
			return
		}
	}
	h.mu.Lock()
	h.keys[key]++
	if h.keys[key] == 1 {
		h.events = append(h.events, e)
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// waitEvents waits until the backup's accepted events are want, and fails on
// any other sequence.
func (h *hookReceiver) waitEvents(backupID string, want []string) []webhook.Event {
	h.t.Helper()
	deadline := time.After(webhookWait)
	for {
		got := h.of(backupID)
		types := eventTypes(got)
		if len(types) >= len(want) {
			if !slices.Equal(types, want) {
				h.t.Fatalf("backup %s's events arrived as %v, want %v", backupID, types, want)
			}
			return got
		}
		if !slices.Equal(types, want[:len(types)]) {
			h.t.Fatalf("backup %s's events so far are %v, want a start of %v", backupID, types, want)
		}
		select {
		case <-h.changed:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("after %v backup %s's events are %v, want %v", webhookWait, backupID, types, want)
		}
	}
}

// of returns the accepted events of one backup, in arrival order.
func (h *hookReceiver) of(backupID string) []webhook.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []webhook.Event
	for _, e := range h.events {
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

// checkAscending fails unless the accepted events' IDs grow: in order, none
// twice.
func (h *hookReceiver) checkAscending() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 1; i < len(h.events); i++ {
		if h.events[i].ID <= h.events[i-1].ID {
			h.t.Errorf("event %d arrived after event %d", h.events[i].ID, h.events[i-1].ID)
		}
	}
}

// life takes a new backup through create, restore, lock, unlock and delete,
// and returns its ID.
func life(t *testing.T, srv *e2e.Server, name string) string {
	t.Helper()
	c := srv.Client
	b := c.Create(t, srv.Order, srv.Provision, name)
	if v := c.WaitSettled(t, srv.Order, srv.Provision, b.ID, time.Minute); v.Status != "ready" {
		t.Fatalf("backup %s", e2e.Describe(v))
	}
	c.Restore(t, srv.Order, srv.Provision, b.ID)
	if v := c.WaitSettled(t, srv.Order, srv.Provision, b.ID, time.Minute); v.Status != "ready" || v.Error != nil {
		t.Fatalf("restore: %s", e2e.Describe(v))
	}
	lock := e2e.BackupsPath(srv.Order, srv.Provision) + "/" + b.ID + "/lock"
	c.Must(t, http.MethodPut, lock, nil, http.StatusOK, nil)
	c.Must(t, http.MethodDelete, lock, nil, http.StatusOK, nil)
	c.Delete(t, srv.Order, srv.Provision, b.ID)
	return b.ID
}

// TestWebhooksDeliverABackupsLife: in both modes, a receiver that checks every
// signature is sent every event of a backup's life, in order, each once.
func TestWebhooksDeliverABackupsLife(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		opts func(t *testing.T) e2e.ServerOptions
	}{
		{"zero-config", func(*testing.T) e2e.ServerOptions { return e2e.ServerOptions{} }},
		{"PostgreSQL", func(t *testing.T) e2e.ServerOptions {
			return e2e.ServerOptions{DatabaseURL: testenv.PostgresURL(t)}
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			rcv := newHookReceiver(t)
			rcv.serve()
			opts := mode.opts(t)
			opts.Args = rcv.args(t)
			srv := e2e.StartServer(t, opts)
			id := life(t, srv, "watched")
			events := rcv.waitEvents(id, lifeEvents)
			for _, e := range events {
				if e.OrderID.String() != srv.Order || e.ProvisionID.String() != srv.Provision || e.BackupName != "watched" ||
					e.Actor.Kind != "user" || e.Actor.UserID == nil || e.At.IsZero() {
					t.Errorf("event %+v lacks its order, provision, name, time or user", e)
				}
			}
			rcv.checkAscending()
		})
	}
}

// TestWebhooksSurviveAReceiverDown: events recorded while nobody listens at
// the URL, then while the receiver answers 503, are all delivered once it
// answers again, in order per backup.
func TestWebhooksSurviveAReceiverDown(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	var (
		mu   sync.Mutex
		down = true
	)
	rcv.setHold(func(*http.Request, string) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	addr := rcv.ln.Addr().String()
	rcv.ln.Close() // connections refused until it listens again
	srv := e2e.StartServer(t, e2e.ServerOptions{DatabaseURL: testenv.PostgresURL(t), Args: rcv.args(t)})

	first := life(t, srv, "while nobody listens")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	rcv.ln = ln
	rcv.serve()
	second := life(t, srv, "while the receiver fails")
	waitArrivals(t, rcv, 2)
	mu.Lock()
	down = false
	mu.Unlock()

	rcv.waitEvents(first, lifeEvents)
	rcv.waitEvents(second, lifeEvents)
	rcv.checkAscending()
}

// waitArrivals waits until the receiver has had n requests.
func waitArrivals(t *testing.T, rcv *hookReceiver, n int) {
	t.Helper()
	for deadline := time.Now().Add(webhookWait); ; time.Sleep(50 * time.Millisecond) {
		rcv.mu.Lock()
		got := len(rcv.arrivals)
		rcv.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver had %d requests after %v, want %d", got, webhookWait, n)
		}
	}
}

// TestWebhooksSurviveAKilledServer: the server is killed (SIGKILL) while a
// delivery waits for the receiver's answer; once started again it delivers
// that event again, with the same idempotency key, and carries on in order.
func TestWebhooksSurviveAKilledServer(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	arrived := make(chan string, 1)
	rcv.setHold(func(r *http.Request, key string) int {
		select {
		case arrived <- key: // the first delivery hangs until the server dies
			<-r.Context().Done()
			return http.StatusServiceUnavailable
		default:
			return 0
		}
	})
	rcv.serve()
	srv := e2e.StartServer(t, e2e.ServerOptions{DatabaseURL: testenv.PostgresURL(t), Args: rcv.args(t)})
	c := srv.Client
	b := c.Create(t, srv.Order, srv.Provision, "across a crash")
	var key string
	select {
	case key = <-arrived:
	case <-time.After(webhookWait):
		t.Fatal("the first delivery never arrived")
	}
	if v := c.WaitSettled(t, srv.Order, srv.Provision, b.ID, time.Minute); v.Status != "ready" {
		t.Fatalf("backup %s", e2e.Describe(v))
	}
	srv.Proc.Kill()

	srv.Start(t)
	c.Must(t, http.MethodPut, e2e.BackupsPath(srv.Order, srv.Provision)+"/"+b.ID+"/lock", nil, http.StatusOK, nil)
	events := rcv.waitEvents(b.ID, []string{"backup.created", "backup.ready", "backup.locked"})
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if n := rcv.keys[key]; n != 1 {
		t.Errorf("the interrupted event was accepted %d times", n)
	}
	if !strings.HasSuffix(key, ":"+formatID(events[0])) || rcv.arrivals[0] != key || !slices.Contains(rcv.arrivals[1:], key) {
		t.Errorf("the interrupted delivery (%s) was not sent again with its key: arrivals %v", key, rcv.arrivals)
	}
}

func formatID(e webhook.Event) string { return strconv.FormatInt(int64(e.ID), 10) }

// TestSlowWebhookReceiverNeverDelaysBackups: while a delivery waits for a
// receiver that answers later than the delivery timeout, backups still reach
// ready at once, one after another.
func TestSlowWebhookReceiverNeverDelaysBackups(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	var (
		mu      sync.Mutex
		holding int // requests the receiver is sitting on
	)
	rcv.setHold(func(r *http.Request, _ string) int {
		mu.Lock()
		holding++
		mu.Unlock()
		defer func() {
			mu.Lock()
			holding--
			mu.Unlock()
		}()
		select { // past the dispatcher's 10 s timeout
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return http.StatusServiceUnavailable
	})
	rcv.serve()
	srv := e2e.StartServer(t, e2e.ServerOptions{Args: rcv.args(t)})
	c := srv.Client
	create := func(i int) time.Duration {
		start := time.Now()
		b := c.Create(t, srv.Order, srv.Provision, "beside a slow receiver")
		v := c.WaitSettled(t, srv.Order, srv.Provision, b.ID, time.Minute)
		if v.Status != "ready" {
			t.Fatalf("backup %d: %s", i, e2e.Describe(v))
		}
		return time.Since(start)
	}
	create(0)
	waitArrivals(t, rcv, 1) // its first event's delivery now hangs
	hung := time.Now()
	for i := 1; i <= 3; i++ {
		if took := create(i); took >= webhook.DefaultTimeout/2 {
			t.Errorf("backup %d took %v to be ready beside a receiver that does not answer", i, took)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if holding == 0 && time.Since(hung) < webhook.DefaultTimeout {
		t.Error("the delivery stopped hanging before its timeout: the test proved nothing")
	}
}

package webhook_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestStartOnceThenShutdown: a second Start, or a Start after Shutdown, is an
// error rather than a second Run (or a panic), and Shutdown may be called
// twice.
func TestStartOnceThenShutdown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	newDispatcher := func() *webhook.Dispatcher {
		d, err := webhook.New(&memLog{}, webhook.Static(), newMemCursors(), testOptions())
		must(t, err)
		return d
	}
	shutdown := func(d *webhook.Dispatcher) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, waitTimeout)
		defer cancel()
		if err := d.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}

	d := newDispatcher()
	must(t, d.Start(ctx))
	if err := d.Start(ctx); err == nil {
		t.Error("a second Start succeeded")
	}
	shutdown(d)
	shutdown(d)
	if err := d.Start(ctx); err == nil {
		t.Error("Start after Shutdown succeeded")
	}

	never := newDispatcher()
	shutdown(never)
	if err := never.Start(ctx); err == nil {
		t.Error("Start after a Shutdown without Start succeeded")
	}
}

// TestShutdownClosesIdleConnections: once Shutdown returns, the receiver sees
// the dispatcher's keep-alive connections close, rather than idle on until
// their timeout.
func TestShutdownClosesIdleConnections(t *testing.T) {
	t.Parallel()
	var (
		mu        sync.Mutex
		open      = map[net.Conn]bool{}
		delivered int
		changed   = make(chan struct{}, 1)
	)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		delivered++
		mu.Unlock()
		notify()
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		switch s {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
		mu.Unlock()
		notify()
	}
	srv.Start()
	t.Cleanup(srv.Close)
	wait := func(what string, done func() bool) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			mu.Lock()
			ok := done()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("after %v: not %s", waitTimeout, what)
			}
		}
	}

	log := &memLog{}
	want := len(backupEvents(log, ports.NewOrderID(), "idle"))
	d, err := webhook.New(log, webhook.Static(ports.WebhookEndpoint{ID: "ep", URL: srv.URL + "/hooks/ep", Secret: []byte("s"), Backfill: true}),
		newMemCursors(), testOptions())
	must(t, err)
	must(t, d.Start(t.Context()))
	wait("every event delivered", func() bool { return delivered >= want })
	mu.Lock()
	if len(open) == 0 {
		t.Error("no connection open after the deliveries: keep-alive is not in use, and this test proves nothing")
	}
	mu.Unlock()

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	must(t, d.Shutdown(ctx))
	wait("every connection closed after Shutdown", func() bool { return len(open) == 0 })
}

package main

import (
	"context"
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
	"github.com/savepoint-dev/savepoint/adapters/webhook/webhooktest"
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

// newHookReceiver starts a platform's webhook endpoint on loopback, which
// verifies every request's signature, and keeps each event once by its
// idempotency key, as a receiver must since deliveries may repeat.
func newHookReceiver(t *testing.T) *webhooktest.Receiver {
	return webhooktest.NewReceiver(t, []byte("whsec-"+t.Name()))
}

// hookArgs are the example server's flags that deliver to rcv, as the
// endpoint the server names platformEndpointID.
func hookArgs(t *testing.T, rcv *webhooktest.Receiver) []string {
	ep := rcv.Endpoint(platformEndpointID)
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, slices.Concat(ep.Secret, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-webhook-url-file", webhookURLFile(t, ep.URL), "-webhook-secret-file", secretFile, "-webhook-allow-private"}
}

// checkAscending fails unless the accepted events' IDs grow: in order, none
// twice.
func checkAscending(t *testing.T, rcv *webhooktest.Receiver) {
	t.Helper()
	events := rcv.Accepted()
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID {
			t.Errorf("event %d arrived after event %d", events[i].ID, events[i-1].ID)
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
			opts := mode.opts(t)
			opts.Args = hookArgs(t, rcv)
			srv := e2e.StartServer(t, opts)
			id := life(t, srv, "watched")
			events := rcv.WaitBackupEvents(id, lifeEvents, webhookWait)
			for _, e := range events {
				if e.OrderID.String() != srv.Order || e.ProvisionID.String() != srv.Provision || e.BackupName != "watched" ||
					e.Actor.Kind != "user" || e.Actor.UserID == nil || e.At.IsZero() {
					t.Errorf("event %+v lacks its order, provision, name, time or user", e)
				}
			}
			checkAscending(t, rcv)
		})
	}
}

// TestWebhooksSurviveAReceiverDown: events recorded while nobody listens at
// the URL, then while the receiver answers 503, are all delivered once it
// answers again, in order per backup.
func TestWebhooksSurviveAReceiverDown(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	rcv.SetAnswer(func(context.Context, int, string, webhook.Event) int { return http.StatusServiceUnavailable })
	rcv.Down() // connections refused until it listens again
	srv := e2e.StartServer(t, e2e.ServerOptions{DatabaseURL: testenv.PostgresURL(t), Args: hookArgs(t, rcv)})

	first := life(t, srv, "while nobody listens")
	rcv.Up()
	second := life(t, srv, "while the receiver fails")
	rcv.WaitArrivals(2, webhookWait)
	rcv.SetAnswer(nil) // accepting again

	rcv.WaitBackupEvents(first, lifeEvents, webhookWait)
	rcv.WaitBackupEvents(second, lifeEvents, webhookWait)
	checkAscending(t, rcv)
}

// TestWebhooksSurviveAKilledServer: the server is killed (SIGKILL) while a
// delivery waits for the receiver's answer; once started again it delivers
// that event again, with the same idempotency key, and carries on in order.
func TestWebhooksSurviveAKilledServer(t *testing.T) {
	t.Parallel()
	rcv := newHookReceiver(t)
	arrived := make(chan string, 1)
	rcv.SetAnswer(func(ctx context.Context, _ int, key string, _ webhook.Event) int {
		select {
		case arrived <- key: // the first delivery hangs until the server dies
			<-ctx.Done()
			return http.StatusServiceUnavailable
		default:
			return 0
		}
	})
	srv := e2e.StartServer(t, e2e.ServerOptions{DatabaseURL: testenv.PostgresURL(t), Args: hookArgs(t, rcv)})
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
	events := rcv.WaitBackupEvents(b.ID, []string{"backup.created", "backup.ready", "backup.locked"}, webhookWait)
	if n := rcv.TimesAccepted(key); n != 1 {
		t.Errorf("the interrupted event was accepted %d times", n)
	}
	arrivals := rcv.Arrivals()
	if !strings.HasSuffix(key, ":"+formatID(events[0])) || arrivals[0] != key || !slices.Contains(arrivals[1:], key) {
		t.Errorf("the interrupted delivery (%s) was not sent again with its key: arrivals %v", key, arrivals)
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
	rcv.SetAnswer(func(ctx context.Context, _ int, _ string, _ webhook.Event) int {
		mu.Lock()
		holding++
		mu.Unlock()
		defer func() {
			mu.Lock()
			holding--
			mu.Unlock()
		}()
		select { // past the dispatcher's 10 s timeout
		case <-ctx.Done():
		case <-time.After(time.Minute):
		}
		return http.StatusServiceUnavailable
	})
	srv := e2e.StartServer(t, e2e.ServerOptions{Args: hookArgs(t, rcv)})
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
	rcv.WaitArrivals(1, webhookWait) // its first event's delivery now hangs
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

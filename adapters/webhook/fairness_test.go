package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestEndpointsTakeTurnsUnderASteadyStream: with one slot and two endpoints,
// a stream of events that outpaces the deliveries does not keep the slot with
// the first endpoint listed; both endpoints' receivers keep getting events.
func TestEndpointsTakeTurnsUnderASteadyStream(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	order := ports.NewOrderID()
	write := func(n int) {
		for range n {
			log.add(ports.Activity{Type: ports.ActivityScheduleRunSkipped, OrderID: order, ProvisionID: ports.NewProvisionID(),
				Actor: ports.ScheduleActor(ports.NewScheduleID()), Reason: "busy"})
		}
	}
	var (
		mu       sync.Mutex
		received = map[string]int{}
		changed  = make(chan struct{}, 1)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Two new events per delivery: the stream outpaces the deliveries
		// however fast this machine is, so no endpoint ever catches up.
		write(2)
		mu.Lock()
		received[strings.TrimPrefix(r.URL.Path, "/hooks/")]++
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	write(20)

	opts := testOptions()
	opts.MaxConcurrent, opts.BatchSize = 1, 10
	var eps []ports.WebhookEndpoint
	for _, id := range []string{"a", "b"} {
		eps = append(eps, ports.WebhookEndpoint{ID: id, URL: srv.URL + "/hooks/" + id, Secret: []byte("s"), Backfill: true})
	}
	startDispatcher(t, log, webhook.Static(eps...), newMemCursors(), opts)

	const want = 30 // three batches each
	deadline := time.After(waitTimeout)
	for {
		mu.Lock()
		a, b := received["a"], received["b"]
		mu.Unlock()
		if a >= want && b >= want {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("after %v endpoint a got %d events and b %d, want both at least %d", waitTimeout, a, b, want)
		}
	}
}

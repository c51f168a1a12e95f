package webhooktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/adapters/webhook/webhooktest"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

const timeout = 30 * time.Second

// post sends e to url as the dispatcher does, signed with secret, and
// returns the answer's status.
func post(t *testing.T, ctx context.Context, url string, secret []byte, e webhook.Event) (int, error) {
	t.Helper()
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("ep:%d", e.ID)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "savepoint-webhook")
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, body, time.Now()))
	req.Header.Set("Savepoint-Event-Id", key)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func event(id ports.ActivityID, backup ports.BackupID, typ ports.ActivityType) webhook.Event {
	return webhook.NewEvent(ports.Activity{ID: id, Type: typ, OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		BackupID: backup, Actor: ports.SystemActor, At: time.Now()})
}

// TestRepeatsAreAcceptedOnce: a delivery sent twice is answered 204 both
// times, arrives twice, and is kept once.
func TestRepeatsAreAcceptedOnce(t *testing.T) {
	t.Parallel()
	secret := []byte("s")
	rcv := webhooktest.NewReceiver(t, secret)
	ep := rcv.Endpoint("ep")
	b := ports.NewBackupID()
	first, second := event(1, b, ports.ActivityBackupCreated), event(2, b, ports.ActivityBackupReady)
	for _, e := range []webhook.Event{first, first, second} {
		if status, err := post(t, t.Context(), ep.URL, ep.Secret, e); err != nil || status != http.StatusNoContent {
			t.Fatalf("delivering event %d: %d, %v", e.ID, status, err)
		}
	}
	got := rcv.WaitBackupEvents(b.String(), []string{"backup.created", "backup.ready"}, timeout)
	if len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 {
		t.Errorf("accepted %+v, want events 1 and 2", got)
	}
	if a := rcv.Arrivals(); !slices.Equal(a, []string{"ep:1", "ep:1", "ep:2"}) {
		t.Errorf("arrivals %v", a)
	}
	if n := rcv.TimesAccepted("ep:1"); n != 2 {
		t.Errorf("the repeated key was accepted %d times, want 2", n)
	}
	if n := rcv.MaxInFlight(); n != 1 {
		t.Errorf("%d requests at once from one sender", n)
	}
}

// TestAnswerHookDecidesAndMayHold: the hook's status is the answer and
// keeps the event out; a held request's context ends when its sender hangs
// up.
func TestAnswerHookDecidesAndMayHold(t *testing.T) {
	t.Parallel()
	rcv := webhooktest.NewReceiver(t, []byte("s"))
	ep := rcv.Endpoint("ep")
	hungUp := make(chan struct{})
	rcv.SetAnswer(func(ctx context.Context, n int, key string, _ webhook.Event) int {
		switch n {
		case 1:
			if key != "ep:1" {
				t.Errorf("the hook got key %q, want ep:1", key)
			}
			return http.StatusServiceUnavailable
		case 2:
			<-ctx.Done()
			close(hungUp)
			return http.StatusServiceUnavailable
		}
		return 0
	})
	e := event(1, ports.NewBackupID(), ports.ActivityBackupCreated)
	if status, err := post(t, t.Context(), ep.URL, ep.Secret, e); err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("first delivery: %d, %v; want the hook's 503", status, err)
	}
	if got := rcv.Accepted(); len(got) != 0 {
		t.Errorf("an event answered 503 was accepted: %+v", got)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := post(t, ctx, ep.URL, ep.Secret, e)
		done <- err
	}()
	rcv.WaitArrivals(2, timeout)
	cancel()
	select {
	case <-hungUp:
	case <-time.After(timeout):
		t.Fatal("the held request's context did not end when its sender hung up")
	}
	<-done

	if status, err := post(t, t.Context(), ep.URL, ep.Secret, e); err != nil || status != http.StatusNoContent {
		t.Fatalf("third delivery: %d, %v; want 204", status, err)
	}
	if got := rcv.WaitAccepted(1, timeout); got[0].ID != 1 {
		t.Errorf("accepted %+v", got)
	}
}

// TestDownRefusesConnections: after Down nothing listens at the URL; after Up
// the same URL is served again.
func TestDownRefusesConnections(t *testing.T) {
	t.Parallel()
	rcv := webhooktest.NewReceiver(t, []byte("s"))
	ep := rcv.Endpoint("ep")
	e := event(7, ports.NewBackupID(), ports.ActivityBackupCreated)
	rcv.Down()
	if _, err := post(t, t.Context(), ep.URL, ep.Secret, e); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a delivery while down: %v, want connection refused", err)
	}
	rcv.Up()
	if status, err := post(t, t.Context(), ep.URL, ep.Secret, e); err != nil || status != http.StatusNoContent {
		t.Fatalf("a delivery after Up: %d, %v", status, err)
	}
	if got := rcv.Arrivals(); !slices.Equal(got, []string{"ep:7"}) {
		t.Errorf("arrivals %v", got)
	}
}

// recorder is a testing.TB that keeps the errors reported to it instead of
// failing the test, to check that the receiver reports them.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// TestBadSignatureFailsTheTest: a delivery signed with another secret is
// answered 401, reported as a test failure, and neither arrives nor is
// accepted.
func TestBadSignatureFailsTheTest(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	rcv := webhooktest.NewReceiver(rec, []byte("right"))
	e := event(1, ports.NewBackupID(), ports.ActivityBackupCreated)
	status, err := post(t, t.Context(), rcv.Endpoint("ep").URL, []byte("wrong"), e)
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("a badly signed delivery: %d, %v; want 401", status, err)
	}
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "signature did not verify") {
		t.Errorf("reported %q, want one signature failure", errs)
	}
	if len(rcv.Arrivals()) != 0 || len(rcv.Accepted()) != 0 {
		t.Error("a badly signed delivery was recorded")
	}
}

// TestWrongKeyFailsTheTest: a delivery to an Endpoint URL whose idempotency
// key names another endpoint is reported.
func TestWrongKeyFailsTheTest(t *testing.T) {
	t.Parallel()
	rec := &recorder{TB: t}
	rcv := webhooktest.NewReceiver(rec, []byte("s"))
	ep := rcv.Endpoint("other") // post sends keys of endpoint "ep"
	if _, err := post(t, t.Context(), ep.URL, ep.Secret, event(3, ports.NewBackupID(), ports.ActivityBackupCreated)); err != nil {
		t.Fatal(err)
	}
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], `want "other:3"`) {
		t.Errorf("reported %q, want the key of endpoint other", errs)
	}
}

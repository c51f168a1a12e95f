package portstest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// WebhookCursorsHarness describes a ports.WebhookCursors implementation to the
// contract suite.
type WebhookCursorsHarness struct {
	// New returns a store holding no cursors, for one subtest, and registers
	// its own cleanup. Subtests run in parallel, so New must be safe to call
	// concurrently.
	New func(t *testing.T) ports.WebhookCursors
}

// RunWebhookCursorsTests runs the WebhookCursors contract suite: cursors that
// keep their place, leases that exclude other owners until they end or
// expire, saves that only the holder makes, and a race that only a store
// taking leases atomically passes. Each behaviour runs in a parallel subtest
// on a store of its own.
func RunWebhookCursorsTests(t *testing.T, h WebhookCursorsHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: WebhookCursorsHarness.New is nil")
	}
	setUp := func(t *testing.T) webhookSuite {
		t.Parallel()
		return webhookSuite{store: h.New(t)}
	}
	run(t, setUp, []behaviour[webhookSuite]{
		{"a first claim creates the cursor at the start given, and later claims keep its place", webhookSuite.claimCreates},
		{"while an owner's lease runs another owner's claim is refused, and the holder may claim again", webhookSuite.leaseExcludes},
		{"an expired lease goes to the next claimant, and the old holder's save is refused as lease lost", webhookSuite.leaseExpires},
		{"a save stores every field, and without renewal ends the lease at once", webhookSuite.saveStores},
		{"a save with renewal keeps the lease", webhookSuite.saveRenews},
		{"a save by an owner without the lease is refused as lease lost, of an unknown endpoint as not found", webhookSuite.saveRefused},
		{"the cursor of an unknown endpoint is not found", webhookSuite.cursorUnknown},
		{"a claim without an endpoint ID, an owner or a positive lease is refused", webhookSuite.claimRefusesInvalid},
		{"a last error is stored as valid text without NUL bytes, cut to MaxWebhookErrorLen", webhookSuite.lastErrorCut},
		{"exactly one of 20 concurrent claims of one endpoint wins, 5 rounds", webhookSuite.raceClaims},
	})
}

// webhookSuite is one behaviour's store.
type webhookSuite struct {
	store ports.WebhookCursors
}

// longLease outlasts any test; shortLease expires while a test waits for it.
const (
	longLease  = time.Hour
	shortLease = 300 * time.Millisecond
)

func (s webhookSuite) claim(t *testing.T, endpoint, owner string, start ports.ActivityID, lease time.Duration) (ports.WebhookCursor, bool) {
	t.Helper()
	c, ok, err := s.store.Claim(t.Context(), endpoint, owner, start, lease)
	if err != nil {
		t.Fatalf("Claim(%q, %q): %v", endpoint, owner, err)
	}
	if ok && c.EndpointID != endpoint {
		t.Errorf("Claim(%q) returned the cursor of %q", endpoint, c.EndpointID)
	}
	return c, ok
}

func (s webhookSuite) cursor(t *testing.T, endpoint string) ports.WebhookCursor {
	t.Helper()
	c, err := s.store.Cursor(t.Context(), endpoint)
	if err != nil {
		t.Fatalf("Cursor(%q): %v", endpoint, err)
	}
	return c
}

func (s webhookSuite) claimCreates(t *testing.T) {
	c, ok := s.claim(t, "ep", "a", 42, longLease)
	if !ok {
		t.Fatal("the first claim of a new endpoint was refused")
	}
	if c.Delivered != 42 || c.Attempts != 0 || !c.NextAttemptAt.IsZero() || c.LastError != "" {
		t.Errorf("new cursor = %+v, want delivered 42 and no retry", c)
	}
	if c.UpdatedAt.IsZero() {
		t.Error("a new cursor has no UpdatedAt")
	}
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 50}, 0); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.claim(t, "ep", "b", 7, longLease); c.Delivered != 50 {
		t.Errorf("a later claim with another start moved the cursor to %d, want 50", c.Delivered)
	}
	if got := s.cursor(t, "ep"); got.Delivered != 50 {
		t.Errorf("Cursor: delivered %d, want 50", got.Delivered)
	}
	if other, ok := s.claim(t, "other", "b", 3, longLease); !ok || other.Delivered != 3 {
		t.Errorf("another endpoint's first claim = %+v, %v; want its own cursor at 3", other, ok)
	}
}

func (s webhookSuite) leaseExcludes(t *testing.T) {
	s.claim(t, "ep", "a", 1, longLease)
	if _, ok := s.claim(t, "ep", "b", 1, longLease); ok {
		t.Error("a second owner claimed an endpoint whose lease runs")
	}
	if _, ok := s.claim(t, "ep", "a", 1, longLease); !ok {
		t.Error("the holder could not claim its endpoint again")
	}
	if _, ok := s.claim(t, "free", "b", 1, longLease); !ok {
		t.Error("a lease on one endpoint kept another from being claimed")
	}
}

func (s webhookSuite) leaseExpires(t *testing.T) {
	s.claim(t, "ep", "a", 1, shortLease)
	claimed := waitClaim(t, s.store, "ep", "b")
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 9}, 0); !errors.Is(err, ports.ErrWebhookLeaseLost) {
		t.Errorf("the old holder's save: got %v, want ErrWebhookLeaseLost", err)
	}
	if got := s.cursor(t, "ep"); got.Delivered != claimed.Delivered {
		t.Errorf("a refused save moved the cursor to %d", got.Delivered)
	}
	if err := s.store.Save(t.Context(), "b", ports.WebhookCursor{EndpointID: "ep", Delivered: 2}, 0); err != nil {
		t.Errorf("the new holder's save: %v", err)
	}
}

// waitClaim claims endpoint for owner as soon as the lease on it expires.
func waitClaim(t *testing.T, store ports.WebhookCursors, endpoint, owner string) ports.WebhookCursor {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, ok, err := store.Claim(t.Context(), endpoint, owner, 0, longLease)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if ok {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease on %q never expired", endpoint)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s webhookSuite) saveStores(t *testing.T) {
	s.claim(t, "ep", "a", 1, longLease)
	next := epoch().Add(90 * time.Second)
	want := ports.WebhookCursor{EndpointID: "ep", Delivered: 17, Attempts: 3, NextAttemptAt: next, LastError: "503 Service Unavailable"}
	before := time.Now().Add(-time.Minute)
	if err := s.store.Save(t.Context(), "a", want, 0); err != nil {
		t.Fatal(err)
	}
	got := s.cursor(t, "ep")
	if got.Delivered != 17 || got.Attempts != 3 || !got.NextAttemptAt.Equal(next) || got.LastError != want.LastError {
		t.Errorf("Cursor after Save = %+v, want %+v", got, want)
	}
	if got.UpdatedAt.Before(before) {
		t.Errorf("UpdatedAt %v was not stamped by the save", got.UpdatedAt)
	}
	if c, ok := s.claim(t, "ep", "b", 0, longLease); !ok {
		t.Error("a save without renewal left the lease held")
	} else if c.Delivered != 17 || c.Attempts != 3 || !c.NextAttemptAt.Equal(next) || c.LastError != want.LastError {
		t.Errorf("the next claim got %+v, want the saved cursor", c)
	}
	// A success clears the retry state.
	if err := s.store.Save(t.Context(), "b", ports.WebhookCursor{EndpointID: "ep", Delivered: 18}, 0); err != nil {
		t.Fatal(err)
	}
	if got := s.cursor(t, "ep"); got.Attempts != 0 || !got.NextAttemptAt.IsZero() || got.LastError != "" {
		t.Errorf("after a clean save the cursor still holds a retry: %+v", got)
	}
}

func (s webhookSuite) saveRenews(t *testing.T) {
	s.claim(t, "ep", "a", 1, longLease)
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 2}, longLease); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.claim(t, "ep", "b", 0, longLease); ok {
		t.Error("another owner claimed the endpoint after the holder renewed its lease")
	}
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 3}, 0); err != nil {
		t.Errorf("the holder's second save: %v", err)
	}
}

func (s webhookSuite) saveRefused(t *testing.T) {
	s.claim(t, "ep", "a", 5, longLease)
	if err := s.store.Save(t.Context(), "b", ports.WebhookCursor{EndpointID: "ep", Delivered: 9}, 0); !errors.Is(err, ports.ErrWebhookLeaseLost) {
		t.Errorf("save by another owner: got %v, want ErrWebhookLeaseLost", err)
	}
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 6}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Delivered: 9}, 0); !errors.Is(err, ports.ErrWebhookLeaseLost) {
		t.Errorf("save after the lease ended: got %v, want ErrWebhookLeaseLost", err)
	}
	if got := s.cursor(t, "ep"); got.Delivered != 6 {
		t.Errorf("refused saves moved the cursor to %d, want 6", got.Delivered)
	}
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "unknown", Delivered: 1}, 0); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("save of an unknown endpoint: got %v, want ErrNotFound", err)
	}
}

func (s webhookSuite) cursorUnknown(t *testing.T) {
	if _, err := s.store.Cursor(t.Context(), "unknown"); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("Cursor of an unknown endpoint: got %v, want ErrNotFound", err)
	}
}

func (s webhookSuite) claimRefusesInvalid(t *testing.T) {
	for _, c := range []struct {
		endpoint, owner string
		lease           time.Duration
	}{{"", "a", longLease}, {"ep", "", longLease}, {"ep", "a", 0}, {"ep", "a", -time.Second}} {
		if _, ok, err := s.store.Claim(t.Context(), c.endpoint, c.owner, 1, c.lease); err == nil || ok {
			t.Errorf("Claim(%q, %q, lease %v) = %v, %v; want an error", c.endpoint, c.owner, c.lease, ok, err)
		}
	}
	if _, err := s.store.Cursor(t.Context(), ""); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("a refused claim left a cursor, or Cursor(\"\") = %v", err)
	}
}

func (s webhookSuite) lastErrorCut(t *testing.T) {
	s.claim(t, "ep", "a", 1, longLease)
	long := "bad\x00gateway \xff" + strings.Repeat("é", ports.MaxWebhookErrorLen)
	if err := s.store.Save(t.Context(), "a", ports.WebhookCursor{EndpointID: "ep", Attempts: 1, LastError: long}, 0); err != nil {
		t.Fatalf("Save with a long, invalid last error: %v", err)
	}
	got := s.cursor(t, "ep").LastError
	if len(got) > ports.MaxWebhookErrorLen || !utf8.ValidString(got) || strings.Contains(got, "\x00") {
		t.Errorf("stored last error is %d bytes, valid %v, NUL %v", len(got), utf8.ValidString(got), strings.Contains(got, "\x00"))
	}
	if !strings.HasPrefix(got, "badgateway ") || len(got) < ports.MaxWebhookErrorLen-4 {
		t.Errorf("stored last error %q… lost more than the excess", got[:min(len(got), 20)])
	}
}

func (s webhookSuite) raceClaims(t *testing.T) {
	for round := range 5 {
		endpoint := fmt.Sprintf("ep-%d", round)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []string
		)
		start := make(chan struct{})
		for i := range 20 {
			owner := fmt.Sprintf("owner-%d", i)
			wg.Go(func() {
				<-start
				_, ok, err := s.store.Claim(t.Context(), endpoint, owner, 1, longLease)
				if err != nil {
					t.Errorf("Claim: %v", err)
				}
				if ok {
					mu.Lock()
					wins = append(wins, owner)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(wins) != 1 {
			t.Errorf("round %d: %d claims won (%v), want exactly 1", round, len(wins), wins)
		}
	}
}

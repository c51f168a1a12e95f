package hardening_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// The load: loadOrders orders, each taking loadRounds backups one after the
// other while listing its backups every loadPoll until they are ready.
const (
	loadOrders   = 200
	loadRounds   = 2
	loadPoll     = 25 * time.Millisecond
	loadDeadline = 90 * time.Second
)

// TestLoad runs 200 orders at once against the real-mode example server
// (PostgreSQL, versitygw, the sidecar binary over a 256 KiB world), each creating
// backups and listing them while they run, with a second create right behind
// each first one (a double click) and a reprovision request. It proves that
// under that load every backup reaches ready with its archive stored, nothing
// deadlocks, no request gets a 5xx, and a 409 comes only while the order
// really has a backup running: operation_in_progress for a create,
// backup_in_progress for a reprovision. It logs throughput and p50/p99 latencies.
func TestLoad(t *testing.T) {
	testenv.Short(t, "200 orders creating backups at once")
	env := startRealMode(t, 256<<10)
	u := newUsers(t)
	srv := e2e.StartServer(t, env.options(e2e.ServerOptions{Token: u.Owner,
		// An instant pretend rebuild: the order's fence is released before the
		// reprovision is answered, so the worker's next create must be accepted.
		Args: []string{"-demo-orders", fmt.Sprint(loadOrders), "-reprovision-time", "0"}}))
	c := newClient(srv)
	c.http.Transport = &http.Transport{MaxIdleConnsPerHost: loadOrders + 16, IdleConnTimeout: time.Minute}
	c.http.Timeout = 30 * time.Second

	st := &loadStats{codes: map[string]map[int]int{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for k := 1; k <= loadOrders; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order, provision := demoOrder(k)
			st.runOrder(c, u.Owner, order, provision)
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(loadDeadline):
		// The workers are stuck: report what each still waits for. They
		// end with the test, when the server is killed.
		t.Fatalf("not settled after %v (deadlock?): %s", loadDeadline, st.pendingSummary())
	}
	elapsed := time.Since(start)

	for _, v := range st.violations {
		t.Error(v)
	}
	if len(st.violations) > 0 {
		return
	}

	// Every backup is listed as ready, and exactly the ones the workers saw
	// accepted exist; the bucket holds one archive for each.
	total := 0
	for k := 1; k <= loadOrders; k++ {
		order, provision := demoOrder(k)
		list := waitIdle(t, c, u.Owner, order, provision)
		var ids []string
		for _, b := range list {
			if b.Status != "ready" {
				t.Errorf("order %d: backup %s", k, e2e.Describe(b))
			}
			ids = append(ids, b.ID)
		}
		want := st.accepted[order]
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("order %d lists backups %v, the workers were given %v", k, ids, want)
		}
		total += len(list)
	}
	if env.S3.DataDir != "" {
		archives, err := filepath.Glob(filepath.Join(env.S3.DataDir, env.S3.Bucket, "backups", "*", "*.tar.gz"))
		if err != nil || len(archives) != total {
			t.Errorf("the bucket holds %d archives for %d ready backups (%v)", len(archives), total, err)
		}
	}

	requests := 0
	for _, byStatus := range st.codes {
		for _, n := range byStatus {
			requests += n
		}
	}
	t.Logf("load: %d orders, %d backups ready in %v; %d requests (%.0f requests/s, %.1f backups/s)",
		loadOrders, total, elapsed.Round(time.Millisecond), requests,
		float64(requests)/elapsed.Seconds(), float64(total)/elapsed.Seconds())
	for _, op := range []string{"create", "list", "reprovision"} {
		t.Logf("load: %-6s n=%d p50=%v p99=%v max=%v statuses=%v", op, len(st.latency[op]),
			percentile(st.latency[op], 50), percentile(st.latency[op], 99), percentile(st.latency[op], 100), st.codes[op])
	}
}

// loadStats is what the workers record; every field is guarded by mu.
type loadStats struct {
	mu         sync.Mutex
	codes      map[string]map[int]int // op → status → count
	latency    map[string][]time.Duration
	accepted   map[string][]string // order → IDs of backups accepted (202)
	pending    map[string][]string // order → IDs not yet seen ready
	violations []string
}

func (st *loadStats) record(op string, status int, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.codes[op] == nil {
		st.codes[op] = map[int]int{}
	}
	st.codes[op][status]++
	if st.latency == nil {
		st.latency = map[string][]time.Duration{}
	}
	st.latency[op] = append(st.latency[op], d)
}

func (st *loadStats) violate(format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.violations = append(st.violations, fmt.Sprintf(format, args...))
}

func (st *loadStats) setPending(order string, ids []string, acceptedID string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pending == nil {
		st.pending, st.accepted = map[string][]string{}, map[string][]string{}
	}
	st.pending[order] = slices.Clone(ids)
	if acceptedID != "" {
		st.accepted[order] = append(st.accepted[order], acceptedID)
	}
}

func (st *loadStats) pendingSummary() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var parts []string
	for order, ids := range st.pending {
		if len(ids) > 0 {
			parts = append(parts, fmt.Sprintf("%s waits for %v", order, ids))
		}
	}
	sort.Strings(parts)
	if len(parts) > 10 {
		parts = append(parts[:10], fmt.Sprintf("… and %d more orders", len(parts)-10))
	}
	return fmt.Sprintf("%d orders pending: %s", len(parts), strings.Join(parts, "; "))
}

// runOrder is one order's client: loadRounds times, create a backup, at once
// create another (409 while the first runs, or 202 if it has already finished)
// and ask to reprovision (409 likewise), then list until every accepted backup
// is ready. Each worker is the only
// client of its order, so it knows when the order is idle: a create it sends
// then must be accepted.
func (st *loadStats) runOrder(c *client, token, order, provision string) {
	var pending []string // accepted, not yet seen ready
	create := func() bool {
		idle := len(pending) == 0
		start := time.Now()
		rep, err := c.try(request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: token,
			ContentType: "application/json", Body: []byte(`{"name":"load"}`)})
		if err != nil {
			st.violate("create in %s: %v", order, err)
			return false
		}
		st.record("create", rep.Status, time.Since(start))
		p, _ := rep.problem()
		switch {
		case rep.Status == http.StatusAccepted:
			var v sphttp.BackupView
			if err := json.Unmarshal(rep.Body, &v); err != nil || v.Status != "creating" {
				st.violate("create in %s answered 202 with %s", order, truncate(rep.Body))
				return false
			}
			pending = append(pending, v.ID)
			st.setPending(order, pending, v.ID)
		case rep.Status == http.StatusConflict && p.Code == string(sphttp.CodeOperationInProgress) && !idle:
			// The rule: one operation per order, and this order has one running.
		default:
			st.violate("create in %s (idle: %v) answered %d: %s", order, idle, rep.Status, truncate(rep.Body))
			return false
		}
		return true
	}
	// reprovision asks the host's reprovision guard, which must refuse while a
	// backup runs (409 backup_in_progress) and allow it once all are done.
	reprovision := func() bool {
		idle := len(pending) == 0
		start := time.Now()
		rep, err := c.try(request{Method: http.MethodPost, Path: reprovisionPath(order), Token: token})
		if err != nil {
			st.violate("reprovision of %s: %v", order, err)
			return false
		}
		st.record("reprovision", rep.Status, time.Since(start))
		p, _ := rep.problem()
		switch {
		case rep.Status == http.StatusAccepted:
		case rep.Status == http.StatusConflict && p.Code == string(sphttp.CodeBackupInProgress) && !idle:
		default:
			st.violate("reprovision of %s (idle: %v) answered %d: %s", order, idle, rep.Status, truncate(rep.Body))
			return false
		}
		return true
	}
	for range loadRounds {
		if !create() || !create() || !reprovision() {
			return
		}
		for len(pending) > 0 {
			start := time.Now()
			rep, err := c.try(request{Method: http.MethodGet, Path: backupsPath(order, provision), Token: token})
			if err != nil {
				st.violate("list in %s: %v", order, err)
				return
			}
			st.record("list", rep.Status, time.Since(start))
			var l sphttp.BackupList
			if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &l) != nil {
				st.violate("list in %s answered %d: %s", order, rep.Status, truncate(rep.Body))
				return
			}
			pending = slices.DeleteFunc(pending, func(id string) bool {
				b := find(l.Backups, id)
				if b != nil && b.Status == "failed" {
					st.violate("backup %s failed under load: %s", id, e2e.ErrorText(*b))
				}
				return b != nil && b.Status != "creating"
			})
			st.setPending(order, pending, "")
			if len(pending) > 0 {
				time.Sleep(loadPoll) // a polling client's pause, not synchronisation
			}
		}
	}
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))].Round(10 * time.Microsecond)
}

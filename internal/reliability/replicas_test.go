package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// startTogether starts two replicas of the stack at the same moment (both
// processes are running before either is waited for) and waits until both are
// healthy.
func startTogether(t *testing.T, s *stack) (a, b *e2e.Server) {
	t.Helper()
	a = e2e.NewServer(t, s.serverOptions("replica A"))
	b = e2e.NewServer(t, s.serverOptions("replica B"))
	a.Launch(t)
	b.Launch(t)
	for _, r := range []*e2e.Server{a, b} {
		poll(t, time.Minute, "both replicas to answer /healthz", nil, func() bool {
			return r.Proc.Exited() || healthy(r)
		})
		if !r.Proc.Exited() {
			continue
		}
		out := r.Proc.Output()
		if !strings.Contains(out, "seeding the demo") {
			t.Fatalf("%s, started at the same moment as another, exited:\n%s", r.Proc.Name, lastLines(out, 10))
		}
		// Past the migrations: the caller still checks the schema.
		t.Errorf("%s, started at the same moment as another, exited while seeding the demo rows the other had just written "+
			"(examples/server seedOrders checks, then inserts, without tolerating a concurrent replica):\n%s", r.Proc.Name, lastLines(out, 2))
	}
	return a, b
}

// startOneThenOther starts replica A, and replica B once A is healthy.
func startOneThenOther(t *testing.T, s *stack) (a, b *e2e.Server) {
	t.Helper()
	a = e2e.StartServer(t, s.serverOptions("replica A"))
	b = e2e.StartServer(t, s.serverOptions("replica B"))
	return a, b
}

func healthy(srv *e2e.Server) bool {
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// assertOneSchema checks that the stack's schema was migrated once: each
// migration recorded once, the backups table and the host tables present once,
// the demo order seeded once.
func assertOneSchema(t *testing.T, s *stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := s.schema(t)
	var migrations, distinct int
	var sets []string
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (set_name, version)), array_agg(DISTINCT set_name ORDER BY set_name)
		FROM `+schema+`.savepoint_migrations`).Scan(&migrations, &distinct, &sets); err != nil {
		t.Fatalf("reading the applied migrations: %v", err)
	}
	if migrations == 0 || migrations != distinct || !slices.Equal(sets, []string{"backups", "host"}) {
		t.Errorf("savepoint_migrations holds %d rows, %d distinct, of sets %v: want each migration of both sets once", migrations, distinct, sets)
	}
	var tables []string
	if err := s.pool.QueryRow(ctx, `SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables
		WHERE table_schema = $1`, s.schemaName(t)).Scan(&tables); err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	for _, want := range []string{"backup_assets", "backup_fences", "backups", "orders", "provisions", "savepoint_migrations"} {
		if !slices.Contains(tables, want) {
			t.Errorf("table %s is missing; the schema holds %v", want, tables)
		}
	}
	var orders, provisions int
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+schema+`.orders), (SELECT count(*) FROM `+schema+`.provisions)`).Scan(&orders, &provisions); err != nil {
		t.Fatalf("counting the seeded rows: %v", err)
	}
	if orders != 1 || provisions != 2 {
		t.Errorf("the demo was seeded as %d orders and %d provisions, want 1 and 2", orders, provisions)
	}
}

// TestReplicasStartedTogether starts two example servers on one fresh database
// schema at the same moment, three times: each time both migrate it without
// tripping over each other and come up, and the schema holds every migration
// and the demo's rows once.
func TestReplicasStartedTogether(t *testing.T) {
	t.Parallel()
	dataDir, _ := sharedWorld(t)
	s := newInfra(t, dataDir)
	for round := range 3 {
		t.Run(fmt.Sprintf("round %d", round+1), func(t *testing.T) {
			s.freshSchema(t)
			startTogether(t, s)
			assertOneSchema(t, s)
		})
	}
}

// TestTwoReplicas runs two example servers on one database, one bucket and one
// sidecar: each sees the other's backups and leaves its running operations
// alone; the survivor's recovery loop settles the operation of a
// replica killed mid-create and takes the order's next backup.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	dataDir, tree := sharedWorld(t)
	s := newInfra(t, dataDir)
	// Started one after the other: starting at the same moment is
	// TestReplicasStartedTogether's.
	a, b := startOneThenOther(t, s)
	assertOneSchema(t, s)

	t.Run("a backup made through one replica is seen and left alone by the other", func(t *testing.T) {
		c := a.Client.Create(t, a.Order, a.Provision, "through replica A")
		if v := b.Client.Get(t, b.Order, b.Provision, c.ID); v.Status != "creating" {
			t.Errorf("replica B sees the new backup as %s, want creating", describe(v))
		}
		if list := b.Client.List(t, b.Order, b.Provision); !slices.ContainsFunc(list, func(v sphttp.BackupView) bool { return v.ID == c.ID }) {
			t.Errorf("replica B's list lacks the backup made through A: %v", list)
		}
		// B's recovery runs every 750 ms throughout: A's heartbeats keep the
		// operation fresh, so B must not settle it.
		v, _ := waitSettled(t, b, c.ID, operationTimeout)
		if v.Status != "ready" || v.Error != nil {
			t.Fatalf("the backup made through A ended %s, want ready", describe(v))
		}
		assertArchiveHolds(t, b, v, tree)
	})

	t.Run("the survivor settles the operation of a replica killed mid-create", func(t *testing.T) {
		c := s.createUploading(t, a, "interrupted on replica A")
		a.Proc.Kill()
		killed := time.Now()
		if r := s.row(t, c.ID); r.Status != "creating" {
			t.Fatalf("the kill came too late: the backup was already %s %s", r.Status, r.Error)
		}
		v, settled := waitSettled(t, b, c.ID, settleBound)
		logTiming(t, "replica A killed mid-create: kill to failed, by replica B", settled.Sub(killed))
		if v.Status != "failed" {
			t.Fatalf("after replica A died the backup is %s, want failed", describe(v))
		}
		assertReadable(t, e2e.ErrorText(v), "Backup failed: ", "stopped responding")
		kept := []string{}
		for _, v := range b.Client.List(t, b.Order, b.Provision) {
			if v.Status == "ready" {
				kept = append(kept, key(t, b, v.ID))
			}
		}
		s.assertBucketHoldsOnly(t, kept...)
		assertNoTempFiles(t, s.Sidecar)
	})

	t.Run("the order takes its next backup through the survivor", func(t *testing.T) {
		v := createReady(t, b, "through replica B")
		assertArchiveHolds(t, b, v, tree)
	})
}

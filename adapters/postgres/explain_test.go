package postgres_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
)

// TestQueryPlans checks that the repository's read queries are served by the
// indexes meant for them, on a table large enough that the planner has a real
// choice: 20,000 backups over 2,000 provisions, statistics up to date. (On a
// near-empty table a sequential scan is the right plan, so a test there would
// prove nothing; disabling sequential scans would only prove that an index
// exists.)
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	pool := standalone(t)
	exec(t, pool, `
		INSERT INTO orders (id, owner_id)
			SELECT md5('order' || g)::uuid, gen_random_uuid() FROM generate_series(1, 2000) g;
		INSERT INTO provisions (id, order_id, kind, is_primary, role)
			SELECT md5('provision' || g)::uuid, md5('order' || g)::uuid, 'deployment', true, 'game_server'
			FROM generate_series(1, 2000) g;
		-- Ten backups per provision, made over weeks, so each provision's rows are
		-- spread through the table; one order in a hundred has an operation running.
		INSERT INTO backups (id, order_id, provision_id, name, status, asset_id, created_at, heartbeat_at)
			SELECT md5('backup' || g)::uuid, md5('order' || (g % 2000 + 1))::uuid, md5('provision' || (g % 2000 + 1))::uuid,
				'Backup ' || g,
				CASE WHEN g <= 20 THEN 'creating' WHEN g % 7 = 0 THEN 'failed' ELSE 'ready' END,
				CASE WHEN g > 20 AND g % 7 <> 0 THEN md5('asset' || g)::uuid END,
				now() - g * interval '1 minute',
				CASE WHEN g <= 20 THEN now() - g * interval '1 second' END
			FROM generate_series(1, 20000) g;
		-- Two events per backup, in the order they happened.
		INSERT INTO activity (order_id, provision_id, backup_id, backup_name, type, actor_kind)
			SELECT md5('order' || (g / 2 % 2000 + 1))::uuid, md5('provision' || (g / 2 % 2000 + 1))::uuid,
				md5('backup' || (g / 2))::uuid, 'Backup ' || (g / 2),
				CASE WHEN g % 2 = 0 THEN 'backup.created' ELSE 'backup.ready' END, 'system'
			FROM generate_series(40000, 2, -1) g;
		ANALYZE`)

	var provision uuid.UUID
	if err := pool.QueryRow(t.Context(), `SELECT md5('provision' || 1234)::uuid`).Scan(&provision); err != nil {
		t.Fatal(err)
	}
	var order, asset uuid.UUID
	if err := pool.QueryRow(t.Context(), `SELECT md5('order' || 1234)::uuid, md5('asset' || 1234)::uuid`).Scan(&order, &asset); err != nil {
		t.Fatal(err)
	}
	// A sweep's batch of 100: half of them backups that exist. (Once a batch is
	// a sizeable part of the table, here above about 0.7%, hashing it against a
	// scan is cheaper than probing the index, and the planner rightly switches.)
	var batch []string
	if err := pool.QueryRow(t.Context(), `SELECT array_agg(md5('backup' || g)::uuid::text) FROM generate_series(19951, 20050) g`).Scan(&batch); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		query string
		sql   string
		arg   any
		index string
	}{
		{"listing a provision's backups", postgres.ListByProvisionSQL, provision, "backups_provision_created_idx"},
		{"counting a provision's backups", postgres.CountByProvisionSQL, provision, "backups_provision_created_idx"},
		{"checking an order for an operation in progress", postgres.HasActiveSQL, order, "backups_one_active_per_order"},
		{"finding stale operations", postgres.ListStaleSQL, time.Now().Add(-2 * time.Minute), ""},
		{"listing an order's backups", postgres.ListByOrderSQL, order, "backups_order_id_idx"},
		{"finding a backup by its asset", postgres.FindByAssetSQL, asset, "backups_asset_id_idx"},
		{"finding a batch of missing backups", postgres.MissingSQL, batch, "backups_pkey"},
		{"paging an order's activity", postgres.ListActivitySQL, []any{order, int64(30000), 50}, "activity_order_id_idx"},
		{"following one order's activity", postgres.ActivitySinceOrderSQL, []any{int64(30000), 100, order}, "activity_order_id_idx"},
		{"following every order's activity", postgres.ActivitySinceSQL, []any{int64(39000), 100}, "activity_pkey"},
	} {
		t.Run(tc.query+" uses an index, not a sequential scan", func(t *testing.T) {
			args := []any{tc.arg}
			if many, ok := tc.arg.([]any); ok {
				args = many
			}
			var out []byte
			if err := pool.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+tc.sql, args...).Scan(&out); err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			var plans []struct{ Plan planNode }
			if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
				t.Fatalf("decoding the plan: %v\n%s", err, out)
			}
			var nodes, indexes []string
			plans[0].Plan.walk(func(n planNode) {
				nodes = append(nodes, n.NodeType)
				if n.IndexName != "" {
					indexes = append(indexes, n.IndexName)
				}
				if n.NodeType == "Seq Scan" {
					t.Errorf("sequential scan on %s", n.RelationName)
				}
			})
			switch {
			case len(indexes) == 0:
				t.Errorf("no index used")
			case tc.index != "" && !slices.Contains(indexes, tc.index):
				t.Errorf("uses %v, want %s", indexes, tc.index)
			}
			if t.Failed() {
				t.Logf("plan nodes: %s", strings.Join(nodes, " > "))
			}
		})
	}
}

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (n planNode) walk(visit func(planNode)) {
	visit(n)
	for _, c := range n.Plans {
		c.walk(visit)
	}
}

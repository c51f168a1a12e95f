package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func TestActivityContract(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		portstest.RunActivityTests(t, portstest.ActivityHarness{
			New: func(t *testing.T) (portstest.ActivityStores, portstest.Host) {
				pool, layout := migrated(t)
				return portstest.ActivityStores{
					Repository: postgres.NewRepository(pool, layout),
					Schedules:  postgres.NewSchedules(pool, layout),
					Log:        postgres.NewActivityLog(pool, layout),
				}, host{postgres.NewCatalog(pool), postgres.NewAssets(pool, layout)}
			},
		})
	})
}

// TestActivityOutlivesItsOrder: the host deletes an order's row after
// DeleteOrderBackups, as the README asks; the backup.deleted events that call
// recorded are still there for a follower that has not read them yet, and
// only DeleteOrderActivity erases the order's history, leaving the others'.
func TestActivityOutlivesItsOrder(t *testing.T) {
	forEachLayout(t, func(t *testing.T, migrated func(*testing.T) (*pgxpool.Pool, postgres.Layout)) {
		ctx := t.Context()
		pool, layout := migrated(t)
		catalog, repo, log := postgres.NewCatalog(pool), postgres.NewRepository(pool, layout), postgres.NewActivityLog(pool, layout)
		// newBackup records backup.created and backup.failed for a new order.
		newBackup := func() ports.Backup {
			t.Helper()
			o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
			must(t, catalog.CreateOrder(ctx, o))
			p := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
			must(t, catalog.CreateProvision(ctx, p))
			b := ports.Backup{ID: ports.NewBackupID(), OrderID: o.ID, ProvisionID: p.ID, Name: "x", Status: ports.StatusCreating}
			must(t, repo.Create(ctx, b, 10))
			b.Status, b.Error, b.CompletedAt = ports.StatusFailed, "no room", time.Now()
			must(t, repo.Update(ctx, b, ports.StatusCreating))
			return b
		}
		gone, kept := newBackup(), newBackup()

		// What DeleteOrderBackups does, then the host's own deletion.
		_, err := repo.ClaimForDelete(ctx, gone.ID, true)
		must(t, err)
		must(t, repo.Delete(ctx, gone.ID))
		exec(t, pool, `DELETE FROM orders WHERE id = $1`, gone.OrderID)

		types := func(order ports.OrderID) []ports.ActivityType {
			t.Helper()
			list, err := log.ActivitySince(ctx, 0, order, 100)
			must(t, err)
			out := []ports.ActivityType{}
			for _, a := range list {
				out = append(out, a.Type)
			}
			return out
		}
		want := []ports.ActivityType{ports.ActivityBackupCreated, ports.ActivityBackupFailed, ports.ActivityBackupDeleted}
		if got := types(gone.OrderID); !slices.Equal(got, want) {
			t.Fatalf("after the host deleted the order, its events are %v; want %v", got, want)
		}
		all, err := log.ActivitySince(ctx, 0, ports.OrderID{}, 100)
		must(t, err)
		if len(all) != 5 || all[4].Type != ports.ActivityBackupDeleted || all[4].BackupID != gone.ID {
			t.Fatalf("a follower of every order reads %+v; want 5 events ending with the deletion", all)
		}

		n, err := log.DeleteOrderActivity(ctx, gone.OrderID)
		if err != nil || n != 3 {
			t.Fatalf("DeleteOrderActivity = %d, %v; want the order's 3 events", n, err)
		}
		if got := types(gone.OrderID); len(got) != 0 {
			t.Errorf("after DeleteOrderActivity the order's events are %v; want none", got)
		}
		if got, want := types(kept.OrderID), want[:2]; !slices.Equal(got, want) {
			t.Errorf("the other order's events are %v; want %v", got, want)
		}
		if page, err := log.ListActivity(ctx, gone.OrderID, 0, 10); err != nil || len(page) != 0 {
			t.Errorf("ListActivity of the erased order = %+v, %v; want none", page, err)
		}
	})
}

// TestActivityBecomesVisibleInIDOrder: while a transaction that recorded an
// event is open, another writer's event, which takes a larger ID, must not
// become visible: a follower reading past it would skip the first event for
// good. Writer A records through the stores' own helper and stays open; writer
// B is a real Repository.Create on a connection of its own. B must wait for A
// (PostgreSQL says A blocks it), and nothing is visible until A commits.
func TestActivityBecomesVisibleInIDOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := testenv.PostgresURL(t)
	pool := openPool(t, url)
	layout := postgres.Layout{}
	must(t, postgres.MigrateStandalone(ctx, pool, layout))
	catalog, log := postgres.NewCatalog(pool), postgres.NewActivityLog(pool, layout)
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	must(t, catalog.CreateOrder(ctx, o))
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	must(t, catalog.CreateProvision(ctx, p))

	// B's pool has one connection, so B's backend is the one asked here.
	cfg, err := pgxpool.ParseConfig(url)
	must(t, err)
	cfg.MaxConns = 1
	poolB, err := pgxpool.NewWithConfig(ctx, cfg)
	must(t, err)
	t.Cleanup(poolB.Close)
	var pidB int
	must(t, poolB.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pidB))

	txA, err := pool.Begin(ctx)
	must(t, err)
	defer func() { _ = txA.Rollback(context.Background()) }() // a no-op after the commit
	var pidA int
	must(t, txA.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pidA))
	must(t, postgres.RecordActivity(ctx, txA, layout, ports.Activity{
		Type: ports.ActivityScheduleRunSkipped, OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		Actor: ports.SystemActor, Reason: "busy",
	}))

	doneB := make(chan error, 1)
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: o.ID, ProvisionID: p.ID, Name: "B", Status: ports.StatusCreating}
	go func() { doneB <- postgres.NewRepository(poolB, layout).Create(ctx, b, 10) }()

	// Await either outcome: B finishing (the hole: its event may now be
	// visible before A's), or PostgreSQL reporting A among the sessions that
	// block B. Polling pg_blocking_pids is the only way to observe a wait; the
	// deadline only turns a lost test into a failure.
	blocked, finished := false, false
	deadline := time.Now().Add(30 * time.Second)
	for !blocked && !finished {
		select {
		case err := <-doneB:
			must(t, err)
			finished = true
		default:
			must(t, pool.QueryRow(ctx, `SELECT $2::int = ANY(pg_blocking_pids($1))`, pidB, pidA).Scan(&blocked))
			if !blocked {
				if time.Now().After(deadline) {
					t.Fatal("B neither finished nor waited for A within 30s")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	visible, err := log.ActivitySince(ctx, 0, ports.OrderID{}, 10)
	must(t, err)
	if len(visible) > 0 {
		t.Fatalf("while A's event is uncommitted a follower reads %+v (B waited for A: %v); it would never see A's", visible, blocked)
	}
	if finished {
		t.Fatal("B recorded its event without waiting for A")
	}

	must(t, txA.Commit(ctx))
	select {
	case err := <-doneB:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("B still waits after A committed")
	}
	all, err := log.ActivitySince(ctx, 0, ports.OrderID{}, 10)
	must(t, err)
	if len(all) != 2 || all[0].Type != ports.ActivityScheduleRunSkipped || all[1].BackupID != b.ID || all[0].ID >= all[1].ID {
		t.Errorf("after both committed a follower reads %+v; want A's event, then B's", all)
	}
}

package postgres_test

import (
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
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

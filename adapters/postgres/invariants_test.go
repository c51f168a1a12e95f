package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestDatabaseEnforcesInvariants shows that the invariants hold for any client of
// the table, not only for this package's Go code: each statement here bypasses
// the Repository and is refused (or cascades) by the schema itself.
func TestDatabaseEnforcesInvariants(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name       string
		sql        string
		code       string // SQLSTATE
		constraint string
	}{
		{
			name:       "a second active backup for an order violates the one-operation index",
			sql:        `INSERT INTO backups (order_id, provision_id, name, status) VALUES ($1, $2, 'second', 'restoring')`,
			code:       "23505",
			constraint: "backups_one_active_per_order",
		},
		{
			name:       "an unknown status violates the status check",
			sql:        `UPDATE backups SET status = 'archived' WHERE order_id = $1 AND provision_id = $2`,
			code:       "23514",
			constraint: "backups_status_check",
		},
		{
			name:       "claiming a backup that is being created violates the deleting check",
			sql:        `UPDATE backups SET deleting = true WHERE order_id = $1 AND provision_id = $2`,
			code:       "23514",
			constraint: "backups_deleting_check",
		},
		{
			name:       "skipped files that are not a JSON array violate the skipped check",
			sql:        `UPDATE backups SET skipped = '{"path": "x"}' WHERE order_id = $1 AND provision_id = $2`,
			code:       "23514",
			constraint: "backups_skipped_check",
		},
		{
			name:       "a second fence for an order violates the fences' primary key",
			sql:        `INSERT INTO backup_fences (order_id, id, heartbeat_at) VALUES ($1, $2, now()), ($1, $2, now())`,
			code:       "23505",
			constraint: "backup_fences_pkey",
		},
		{
			name:       "deleting a provision that has backups is restricted",
			sql:        `DELETE FROM provisions WHERE order_id = $1 AND id = $2`,
			code:       "23503",
			constraint: "backups_provision_id_fkey",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool, order, prov := withCreatingBackup(t)
			_, err := pool.Exec(t.Context(), tc.sql, order, prov)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tc.code || pgErr.ConstraintName != tc.constraint {
				t.Fatalf("got %v, want SQLSTATE %s on %s", err, tc.code, tc.constraint)
			}
		})
	}

	t.Run("deleting an order deletes its backups", func(t *testing.T) {
		t.Parallel()
		pool, order, prov := withCreatingBackup(t)
		exec(t, pool, `DELETE FROM orders WHERE id = $1`, order)
		n, err := postgres.NewRepository(pool, postgres.Layout{}).CountByProvision(t.Context(), prov)
		if err != nil || n != 0 {
			t.Errorf("after deleting the order the provision holds %d backups (%v), want 0", n, err)
		}
	})
}

// TestDeleteFlow follows the service's delete order — claim, delete the asset,
// delete the row — with a retry after the second step. Backups do not refer to
// the assets table, so the asset can go first, and the retry finds the same
// asset to delete again, which is not an error.
func TestDeleteFlow(t *testing.T) {
	t.Parallel()
	pool := standalone(t)
	ctx := t.Context()
	repo, assets, catalog := postgres.NewRepository(pool, postgres.Layout{}), postgres.NewAssets(pool, postgres.Layout{}), postgres.NewCatalog(pool)

	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	a := ports.Asset{ID: ports.NewAssetID(), OwnerID: o.OwnerID, Key: "backups/x.tar.gz", FileName: "x.tar.gz", ContentType: "application/gzip", SizeBytes: 10}
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: o.ID, ProvisionID: p.ID, Name: "to delete", Status: ports.StatusCreating}
	must(t, catalog.CreateOrder(ctx, o))
	must(t, catalog.CreateProvision(ctx, p))
	must(t, assets.CreateAsset(ctx, a))
	must(t, repo.Create(ctx, b, 10))
	ready := b
	ready.Status, ready.AssetID, ready.SizeBytes, ready.CompletedAt = ports.StatusReady, a.ID, a.SizeBytes, time.Now()
	must(t, repo.Update(ctx, ready, ports.StatusCreating))

	claimed, err := repo.ClaimForDelete(ctx, b.ID, false)
	must(t, err)
	if claimed.AssetID != a.ID {
		t.Fatalf("claimed backup's asset = %s, want %s", claimed.AssetID, a.ID)
	}
	must(t, assets.DeleteAsset(ctx, claimed.AssetID))
	// A delete that stops here is retried: the row is still claimed, with its
	// asset, and the retry finishes the job.
	again, err := repo.ClaimForDelete(ctx, b.ID, false)
	must(t, err)
	if again.AssetID != a.ID || !again.Deleting {
		t.Errorf("after the asset was deleted the backup has asset %s, deleting %v; want %s, true", again.AssetID, again.Deleting, a.ID)
	}
	must(t, assets.DeleteAsset(ctx, again.AssetID))
	must(t, repo.Delete(ctx, b.ID))
	if _, err := repo.Find(ctx, b.ID); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("Find after the delete flow: %v, want ErrNotFound", err)
	}
}

// withCreatingBackup returns a fresh standalone schema holding one order, its
// provision, and one backup being created.
func withCreatingBackup(t *testing.T) (*pgxpool.Pool, ports.OrderID, ports.ProvisionID) {
	t.Helper()
	pool := standalone(t)
	catalog := postgres.NewCatalog(pool)
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	must(t, catalog.CreateOrder(t.Context(), o))
	must(t, catalog.CreateProvision(t.Context(), p))
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: o.ID, ProvisionID: p.ID, Name: "running", Status: ports.StatusCreating}
	must(t, postgres.NewRepository(pool, postgres.Layout{}).Create(t.Context(), b, 10))
	return pool, o.ID, p.ID
}

package reliability_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/e2e"
)

func mustBackupID(t *testing.T, s string) ports.BackupID {
	t.Helper()
	id, err := ports.ParseBackupID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOrderDeletedByTheHost deletes an order's row straight from PostgreSQL, as
// a host platform does when a customer leaves: the foreign key's cascade removes
// the backup records, and the example server's recovery loop (its orphan sweep)
// then removes their archives from S3 and their assets, leaving every other
// order's backups alone. Storage never leaks, even when the host never calls
// DeleteOrderBackups.
func TestOrderDeletedByTheHost(t *testing.T) {
	t.Parallel()
	dataDir, _ := sharedWorld(t)
	s := newInfra(t, dataDir)
	opts := s.serverOptions("example server")
	opts.Args = append(opts.Args, "-demo-orders", "2", "-sweep-interval", "200ms", "-orphan-grace", "1s")
	srv := e2e.StartServer(t, opts)

	kept := createReady(t, srv, "of the order that stays")
	leaving, leavingProv := fmt.Sprintf("00000000-0000-4000-8001-%012x", 2), fmt.Sprintf("00000000-0000-4000-8002-%012x", 2)
	created := srv.Client.Create(t, leaving, leavingProv, "of the order that goes")
	var gone sphttp.BackupView
	poll(t, operationTimeout, "the leaving order's backup to be ready", srv.Proc, func() bool {
		gone = srv.Client.Get(t, leaving, leavingProv, created.ID)
		return gone.Status == "ready"
	})
	order, err := ports.ParseOrderID(leaving)
	if err != nil {
		t.Fatal(err)
	}
	goneKey := backup.ObjectKey(order, mustBackupID(t, gone.ID))
	if !s.objectExists(t, goneKey) {
		t.Fatal("the archive of the leaving order's backup is not in the bucket")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.schema(t)+`.orders WHERE id = $1`, leaving); err != nil {
		t.Fatalf("the host's delete: %v", err)
	}
	assetRecorded := func() bool {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.schema(t)+`.backup_assets WHERE id = $1`, *gone.AssetID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	if !assetRecorded() {
		t.Fatal("the cascade removed the asset: nothing is left for the sweep to show")
	}
	// The sweep deletes the archive, then its asset.
	poll(t, 30*time.Second, "the sweep to delete the orphaned archive and its asset", srv.Proc, func() bool {
		return !s.objectExists(t, goneKey) && !assetRecorded()
	})
	s.assertBucketHoldsOnly(t, key(t, srv, kept.ID))
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestRealModeRoundTrip runs the example server as a separate process in real
// mode — PostgreSQL, versitygw, the sidecar binary over a temp data directory —
// and takes one backup through its whole life over HTTP.
func TestRealModeRoundTrip(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := gamedata.Generate(ctx, dataDir, gamedata.Options{Size: 8 << 20, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// Links are data, also one out of the tree (a volume mounted elsewhere), and
	// a customer's file is the customer's whatever its name.
	for link, target := range map[string]string{"level-link": "world/level.dat", "shared-mods": "/srv/shared/mods"} {
		if err := os.Symlink(target, filepath.Join(dataDir, link)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(dataDir, ".savepoint-notes.txt"), "a customer's own file\n")
	original, err := e2e.Snapshot(dataDir)
	if err != nil {
		t.Fatal(err)
	}

	dbURL := testenv.PostgresURL(t)
	store := testenv.S3(t, testenv.S3Options{})
	sidecar := e2e.StartSidecar(t, dataDir)
	srv := e2e.StartServer(t, e2e.ServerOptions{DatabaseURL: dbURL, S3: store, Sidecar: sidecar})
	c := srv.Client

	created := c.Create(t, srv.Order, srv.Provision, "before the update")
	if created.Status != "creating" {
		t.Fatalf("a new backup is %s, want creating", created.Status)
	}
	ready := c.WaitSettled(t, srv.Order, srv.Provision, created.ID, time.Minute)
	if ready.Status != "ready" || ready.AssetID == nil || ready.SHA256 == nil {
		t.Fatalf("backup did not become ready: %s", e2e.Describe(ready))
	}

	t.Run("the download holds exactly the data directory", func(t *testing.T) {
		archive := c.Download(t, *ready.AssetID)
		if int64(len(archive)) != *ready.SizeBytes {
			t.Errorf("downloaded %d bytes, the backup says %d", len(archive), *ready.SizeBytes)
		}
		got, err := e2e.SnapshotArchive(bytes.NewReader(archive))
		if err != nil {
			t.Fatal(err)
		}
		if diff := e2e.Diff(original, got, 10); diff != nil {
			t.Errorf("archive differs from the data directory:\n%v", diff)
		}
	})

	t.Run("no archive is left in the sidecar's temp directory", func(t *testing.T) {
		if left, _ := os.ReadDir(sidecar.TempDir); len(left) != 0 {
			t.Errorf("temp directory holds %d entries after the backup", len(left))
		}
	})

	t.Run("restore brings back changed, deleted and removes added files", func(t *testing.T) {
		griefAndRestore(t, c, srv, dataDir, ready, original)
	})

	t.Run("delete removes the object and the asset", func(t *testing.T) {
		deleteAndCheck(t, c, srv, store, dbURL, ready)
	})

	t.Run("SIGTERM shuts down cleanly", func(t *testing.T) {
		if err := srv.Proc.Terminate(30 * time.Second); err != nil {
			t.Fatalf("%v\n%s", err, srv.Proc.Output())
		}
		if !slices.ContainsFunc(bytes.Split([]byte(srv.Proc.Output()), []byte("\n")), func(l []byte) bool {
			return bytes.Contains(l, []byte("shut down cleanly"))
		}) {
			t.Errorf("no clean shutdown in the log:\n%s", srv.Proc.Output())
		}
	})
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// griefAndRestore changes, deletes and adds files in dataDir, restores ready,
// and checks the directory is the original again.
func griefAndRestore(t *testing.T, c *e2e.Client, srv *e2e.Server, dataDir string, ready sphttp.BackupView, original e2e.Tree) {
	mustWrite(t, filepath.Join(dataDir, "server.properties"), "motd=griefed\n")
	if err := os.RemoveAll(filepath.Join(dataDir, "world", "region")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dataDir, "world", "griefer.txt"), "was here\n")

	if v := c.Restore(t, srv.Order, srv.Provision, ready.ID); v.Status != "restoring" {
		t.Fatalf("restore answered %s", v.Status)
	}
	done := c.WaitSettled(t, srv.Order, srv.Provision, ready.ID, time.Minute)
	if done.Status != "ready" || done.Error != nil || done.LastRestoredAt == nil {
		t.Fatalf("restore did not complete: %s", e2e.Describe(done))
	}
	now, err := e2e.Snapshot(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := e2e.Diff(original, now, 10); diff != nil {
		t.Errorf("data directory after restore differs from the original:\n%v", diff)
	}
}

// deleteAndCheck deletes ready and checks its download, archive, asset and
// record are gone.
func deleteAndCheck(t *testing.T, c *e2e.Client, srv *e2e.Server, store *testenv.S3Server, dbURL string, ready sphttp.BackupView) {
	ctx := context.Background()
	c.Delete(t, srv.Order, srv.Provision, ready.ID)
	if resp, err := c.Do("GET", "/api/v1/assets/"+*ready.AssetID, nil); err != nil || resp.Status != 404 {
		t.Errorf("download after delete: %d %v, want 404", resp.Status, err)
	}
	objects, err := s3.New(ctx, s3.Config{
		Bucket: store.Bucket, Endpoint: store.Endpoint, Region: store.Region, UsePathStyle: store.PathStyle,
		Credentials: &s3.Credentials{AccessKeyID: store.AccessKey, SecretAccessKey: store.SecretKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	orderID, _ := ports.ParseOrderID(srv.Order)
	backupID, _ := ports.ParseBackupID(ready.ID)
	if _, err := objects.Stat(ctx, backup.ObjectKey(orderID, backupID)); err == nil {
		t.Error("the archive is still in the bucket")
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var assets, backups int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM backup_assets), (SELECT count(*) FROM backups)`).Scan(&assets, &backups); err != nil {
		t.Fatal(err)
	}
	if assets != 0 || backups != 0 {
		t.Errorf("after delete: %d assets and %d backups remain", assets, backups)
	}
	if list := c.List(t, srv.Order, srv.Provision); len(list) != 0 {
		t.Errorf("list after delete: %d backups", len(list))
	}
}

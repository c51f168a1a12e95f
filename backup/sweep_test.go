package backup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestDeleteOrderBackups(t *testing.T) {
	ctx := context.Background()
	t.Run("removes every backup of the order: archives, assets and records", func(t *testing.T) {
		tw := newTwin(t)
		failed := tw.ready("will be failed") // a failed backup has no archive to lose
		kept := []ports.Backup{tw.ready("first"), tw.ready("second"), failed}

		n, err := tw.svc.DeleteOrderBackups(ctx, tw.order.ID)
		if err != nil || n != len(kept) {
			t.Fatalf("DeleteOrderBackups = %d, %v; want %d removed", n, err, len(kept))
		}
		for _, b := range kept {
			if tw.objectExists(b) {
				t.Errorf("the archive of %q is still stored", b.Name)
			}
			if _, err := tw.assets.GetAsset(ctx, b.AssetID); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("the asset of %q: %v, want it gone", b.Name, err)
			}
			if _, err := tw.repo.Find(ctx, b.ID); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("the record of %q: %v, want it gone", b.Name, err)
			}
		}
		if n, err := tw.svc.DeleteOrderBackups(ctx, tw.order.ID); err != nil || n != 0 {
			t.Fatalf("a second DeleteOrderBackups = %d, %v; want nothing left to do", n, err)
		}
	})
	t.Run("removes locked backups too: a lock does not outlive the order", func(t *testing.T) {
		tw := newTwin(t)
		locked, plain := tw.ready("locked"), tw.ready("plain")
		_, err := tw.svc.LockBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, locked.ID, true)
		must(t, err)
		if n, err := tw.svc.DeleteOrderBackups(ctx, tw.order.ID); err != nil || n != 2 {
			t.Fatalf("DeleteOrderBackups = %d, %v; want both removed", n, err)
		}
		for _, b := range []ports.Backup{locked, plain} {
			if tw.objectExists(b) || tw.assetExists(b.AssetID) {
				t.Errorf("the archive or asset of %q is still stored", b.Name)
			}
			if _, err := tw.repo.Find(ctx, b.ID); !errors.Is(err, ports.ErrNotFound) {
				t.Errorf("the record of %q: %v, want it gone", b.Name, err)
			}
		}
	})
	t.Run("is refused while a create runs, and leaves everything in place", func(t *testing.T) {
		tw := newTwin(t)
		old := tw.ready("old")
		tw.dialer.close()
		running, err := tw.create("running")
		must(t, err)
		if _, err := tw.svc.DeleteOrderBackups(ctx, tw.order.ID); !errors.Is(err, backup.ErrBackupInProgress) {
			t.Fatalf("DeleteOrderBackups during a create: %v, want ErrBackupInProgress", err)
		}
		if !tw.objectExists(old) {
			t.Fatal("a refused order deletion removed an archive")
		}
		tw.dialer.open()
		tw.settled(running.ID)
	})
}

func TestSweepOrphans(t *testing.T) {
	ctx := context.Background()
	grace := time.Hour
	t.Run("deletes archives whose backup is gone, once older than the grace period", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.OrphanGracePeriod = grace } })
		orphan, kept := tw.ready("its record is deleted behind the service's back"), tw.ready("kept")
		// What ON DELETE CASCADE does when the host deletes the order's row.
		if _, err := tw.repo.ClaimForDelete(ctx, orphan.ID, false); err != nil {
			t.Fatal(err)
		}
		must(t, tw.repo.Delete(ctx, orphan.ID))

		if r, err := tw.svc.SweepOrphans(ctx); err != nil || r.Archives != 0 {
			t.Fatalf("SweepOrphans within the grace period = %+v, %v; want nothing deleted", r, err)
		}
		if !tw.objectExists(orphan) {
			t.Fatal("an orphan younger than the grace period was deleted")
		}
		// The store stamps objects with the real clock; the service's moves on.
		tw.clock.Set(time.Now().Add(grace + time.Minute))
		if r, err := tw.svc.SweepOrphans(ctx); err != nil || r.Archives != 1 {
			t.Fatalf("SweepOrphans = %+v, %v; want the orphan deleted", r, err)
		}
		if tw.objectExists(orphan) {
			t.Error("the orphan's archive is still stored")
		}
		if _, err := tw.assets.GetAsset(ctx, orphan.AssetID); !errors.Is(err, ports.ErrNotFound) {
			t.Errorf("the orphan's asset: %v, want it gone", err)
		}
		if !tw.objectExists(kept) {
			t.Error("the sweep deleted the archive of a backup that exists")
		}
	})
	t.Run("never deletes what it does not recognise as an archive", func(t *testing.T) {
		tw := newTwin(t)
		for _, key := range []string{"backups/notes.txt", "backups/" + ports.NewOrderID().String() + "/not-a-uuid.tar.gz", "elsewhere/x.tar.gz"} {
			must(t, tw.objects.Put(ctx, key, strings.NewReader("not ours")))
		}
		tw.clock.Set(time.Now().Add(48 * time.Hour))
		if r, err := tw.svc.SweepOrphans(ctx); err != nil || r.Archives != 0 {
			t.Fatalf("SweepOrphans = %+v, %v; want nothing deleted", r, err)
		}
		for _, key := range []string{"backups/notes.txt", "elsewhere/x.tar.gz"} {
			if _, err := tw.objects.Stat(ctx, key); err != nil {
				t.Errorf("%s: %v", key, err)
			}
		}
	})
}

func TestCreateRecordsSkippedFiles(t *testing.T) {
	tw := newTwin(t)
	makeSocket(t, tw.data+"/server.sock")
	b := tw.ready("with a socket")
	if b.SkippedCount != 1 || len(b.Skipped) != 1 || b.Skipped[0].Path != "server.sock" || b.Skipped[0].Reason == "" {
		t.Fatalf("skipped %d %+v, want the socket with a reason", b.SkippedCount, b.Skipped)
	}
	stored, err := tw.repo.Find(context.Background(), b.ID)
	must(t, err)
	if stored.SkippedCount != 1 || len(stored.Skipped) != 1 {
		t.Fatalf("the record keeps %d %+v", stored.SkippedCount, stored.Skipped)
	}
}

func TestSidecarLocation(t *testing.T) {
	t.Run("a game server that reaches its sidecar itself needs no sidecar provision", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.sidecarOnGameServer = true })
		tw.ready("through the game server's own row")
		for _, p := range tw.dialer.provisions() {
			if p.ID != tw.gameServer.ID {
				t.Fatalf("dialled provision %s, want the game server %s", p.ID, tw.gameServer.ID)
			}
		}
	})
	t.Run("directories given by the sidecar's endpoint win over the service's", func(t *testing.T) {
		var elsewhere string
		tw := newTwin(t, func(c *twinConfig) {
			c.opts = func(o *backup.Options) { elsewhere = o.DataDir + "-elsewhere"; o.DataDir = "/nonexistent" }
			c.dirs = func(ports.Provision) ports.SidecarDirs { return ports.SidecarDirs{Data: elsewhere} }
		})
		writeFile(t, elsewhere+"/only-here.txt", "x")
		b := tw.ready("of the provision's own directory")
		d, err := tw.svc.Download(context.Background(), tw.owner, b.AssetID)
		must(t, err)
		if files := archiveFiles(t, d); len(files) != 1 || files["only-here.txt"] != "x" {
			t.Fatalf("the archive holds %v, want the provision's directory", files)
		}
	})
}

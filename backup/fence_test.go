package backup_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestFence(t *testing.T) {
	ctx := context.Background()
	t.Run("a fenced order refuses creates and restores, and accepts them once released", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("before the fence")
		fence, err := tw.svc.FenceOrder(ctx, tw.order.ID)
		if err != nil {
			t.Fatalf("FenceOrder: %v", err)
		}
		if _, err := tw.create("during the fence"); !errors.Is(err, backup.ErrReprovisioning) {
			t.Fatalf("create while fenced: %v, want ErrReprovisioning", err)
		}
		if _, err := tw.svc.RestoreBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID); !errors.Is(err, backup.ErrReprovisioning) {
			t.Fatalf("restore while fenced: %v, want ErrReprovisioning", err)
		}
		if _, err := tw.svc.FenceOrder(ctx, tw.order.ID); !errors.Is(err, backup.ErrReprovisioning) {
			t.Fatalf("a second fence: %v, want ErrReprovisioning", err)
		}
		if got := tw.settled(b.ID); got.Status != ports.StatusReady || got.Error != "" {
			t.Fatalf("the refused restore changed the backup: %+v", got)
		}
		must(t, fence.Release(ctx))
		must(t, fence.Release(ctx)) // twice is harmless
		tw.ready("after the fence")
	})
	t.Run("cannot be taken while a create runs", func(t *testing.T) {
		tw := newTwin(t)
		tw.dialer.close()
		b, err := tw.create("running")
		must(t, err)
		if _, err := tw.svc.FenceOrder(ctx, tw.order.ID); !errors.Is(err, backup.ErrBackupInProgress) {
			t.Fatalf("FenceOrder during a create: %v, want ErrBackupInProgress", err)
		}
		tw.dialer.open()
		tw.settled(b.ID)
		fence, err := tw.svc.FenceOrder(ctx, tw.order.ID)
		if err != nil {
			t.Fatalf("FenceOrder after the create: %v", err)
		}
		must(t, fence.Release(ctx))
	})
	t.Run("and a create fired together never both win", func(t *testing.T) {
		tw := newTwin(t)
		tw.dialer.close() // creates stay in creating: the slot stays taken
		for round := range 50 {
			var wg sync.WaitGroup
			var fence *backup.Fence
			var created ports.Backup
			var fenceErr, createErr error
			start := make(chan struct{})
			wg.Go(func() { <-start; fence, fenceErr = tw.svc.FenceOrder(ctx, tw.order.ID) })
			wg.Go(func() { <-start; created, createErr = tw.create("racing") })
			close(start)
			wg.Wait()
			if (fenceErr == nil) == (createErr == nil) {
				t.Fatalf("round %d: fence %v, create %v: exactly one must win", round, fenceErr, createErr)
			}
			if fenceErr == nil {
				assertIs(t, createErr, backup.ErrReprovisioning)
				must(t, fence.Release(ctx))
				continue
			}
			assertIs(t, fenceErr, backup.ErrBackupInProgress)
			tw.dialer.open()
			tw.settled(created.ID)
			tw.dialer.close()
			must(t, tw.svc.DeleteBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, created.ID))
		}
	})
	t.Run("whose holder stopped heartbeating is released by recovery, and the holder learns it", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.StaleAfter = time.Minute } })
		fence, err := tw.svc.FenceOrder(ctx, tw.order.ID)
		must(t, err)
		tw.inject("Repository.HeartbeatFence", fault{err: errInfra}) // the holder's database connection is gone

		if n, err := tw.svc.RecoverStale(ctx); err != nil || n != 0 {
			t.Fatalf("RecoverStale before StaleAfter = %d, %v; want the fence kept", n, err)
		}
		tw.clock.Set(fixedNow.Add(time.Minute + time.Second))
		if n, err := tw.svc.RecoverStale(ctx); err != nil || n != 1 {
			t.Fatalf("RecoverStale after StaleAfter = %d, %v; want the fence released", n, err)
		}
		tw.ready("once the dead holder's fence is gone")

		tw.heal("Repository.HeartbeatFence")
		select {
		case <-fence.Lost():
		case <-time.After(10 * time.Second):
			t.Fatal("the holder was never told its fence was lost")
		}
		must(t, fence.Release(ctx)) // releasing a lost fence frees nothing and fails nothing
	})
}

package backup_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// staleReason is what a customer reads about an operation whose worker died.
const staleReason = "the server running the operation stopped responding"

// staleOperation records an operation of the order's game server in status,
// whose worker died at the clock's current time, leaving an archive in storage
// and both of its staged files in the pod.
func (tw *twin) staleOperation(order ports.OrderID, gameServer ports.ProvisionID, status ports.Status) ports.Backup {
	tw.t.Helper()
	tw.sidecarUp() // it was when the dead worker staged the files
	b := tw.recordFor(order, gameServer, status)
	must(tw.t, tw.objects.Put(context.Background(), backup.ObjectKey(b.OrderID, b.ID), strings.NewReader("archive")))
	for _, name := range stagedNames(b) {
		writeFile(tw.t, filepath.Join(tw.tmp, name), "staged")
	}
	return b
}

func stagedNames(b ports.Backup) []string {
	return []string{"backup-" + b.ID.String() + ".tar.gz", "restore-" + b.ID.String() + ".tar.gz"}
}

// leftovers says whether the pod still holds any staged file of b.
func (tw *twin) leftovers(b ports.Backup) bool {
	tw.t.Helper()
	return slices.ContainsFunc(tw.tempFiles(), func(name string) bool { return slices.Contains(stagedNames(b), name) })
}

// recovered runs RecoverStale an hour after the twin's start, and fails the
// test unless it settles want operations.
func (tw *twin) recovered(want int) {
	tw.t.Helper()
	tw.clock.Set(fixedNow.Add(time.Hour))
	if n, err := tw.svc.RecoverStale(context.Background()); err != nil || n != want {
		tw.t.Fatalf("RecoverStale = %d, %v; want %d settled", n, err, want)
	}
}

func TestRecoverStale(t *testing.T) {
	t.Run("asks for operations whose heartbeat is older than StaleAfter", func(t *testing.T) {
		tw := newTwin(t)
		other, otherGameServer := tw.otherOrder(tw.owner, true)
		older := tw.record(ports.StatusCreating)
		tw.clock.Set(fixedNow.Add(time.Microsecond))
		younger := tw.recordFor(other.ID, otherGameServer.ID, ports.StatusCreating)
		tw.clock.Set(fixedNow.Add(time.Minute + time.Microsecond)) // StaleAfter after the younger one
		if n, err := tw.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
		if tw.stored(older.ID).Status != ports.StatusFailed || tw.stored(younger.ID).Status != ports.StatusCreating {
			t.Fatal("recovery did not settle exactly the operation older than StaleAfter")
		}
	})
	t.Run("fails a stale create and removes its partial archive and temp files", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		tw.recovered(1)
		got := tw.stored(b.ID)
		if got.Status != ports.StatusFailed || got.Error != "Backup failed: "+staleReason || !got.CompletedAt.Equal(fixedNow.Add(time.Hour)) {
			t.Fatalf("stale create settled as %s %q at %v", got.Status, got.Error, got.CompletedAt)
		}
		if tw.objectExists(b) || tw.leftovers(b) {
			t.Fatalf("the partial archive (%v) or staged files (%v) are left", tw.objectExists(b), tw.tempFiles())
		}
	})
	t.Run("returns a stale restore to ready with an error, keeping its archive", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusRestoring)
		tw.recovered(1)
		if got := tw.stored(b.ID); got.Status != ports.StatusReady || got.Error != "Restore failed: "+staleReason || got.AssetID != b.AssetID {
			t.Fatalf("stale restore settled as %+v", got)
		}
		if !tw.objectExists(b) || tw.leftovers(b) {
			t.Fatalf("archive kept: %v, staged files left: %v; want the archive alone", tw.objectExists(b), tw.tempFiles())
		}
	})
	t.Run("leaves alone an operation this replica is running", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Repository.Heartbeat", fault{err: errInfra}) // it looks stale from the repository
		tw.dialer.close()
		b, err := tw.create("")
		must(t, err)
		tw.recovered(0)
		tw.dialer.open()
		if got := tw.settled(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("recovery overrode the running job's outcome: %s %q", got.Status, got.Error)
		}
	})
	t.Run("skips an operation settled meanwhile and goes on with the rest", func(t *testing.T) {
		tw := newTwin(t)
		other, otherGameServer := tw.otherOrder(tw.owner, true)
		gone := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		stale := tw.staleOperation(other.ID, otherGameServer.ID, ports.StatusRestoring)
		const theirs = "Backup failed: settled by another replica"
		tw.inject("Repository.ListStale", fault{made: true, do: func(ctx context.Context) error {
			settled := tw.stored(gone.ID)
			settled.Status, settled.Error = ports.StatusFailed, theirs
			return tw.repo.Update(ctx, settled, ports.StatusCreating)
		}})
		tw.recovered(1)
		if got := tw.stored(stale.ID); got.Status != ports.StatusReady || tw.leftovers(stale) {
			t.Fatalf("the stale restore was not settled and cleaned up: %+v", got)
		}
		// What the other replica settled is its to clean up.
		if got := tw.stored(gone.ID); got.Error != theirs || !tw.leftovers(gone) || !tw.objectExists(gone) {
			t.Fatalf("recovery took over an operation settled elsewhere: %+v", got)
		}
	})
	t.Run("skips an operation deleted meanwhile", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		tw.inject("Repository.ListStale", fault{made: true, do: func(context.Context) error {
			tw.move(b.ID, ports.StatusFailed)
			tw.remove(b.ID)
			return nil
		}})
		tw.recovered(0)
	})
	recoverStaleDespiteFailures(t)
}

func recoverStaleDespiteFailures(t *testing.T) {
	t.Run("goes on when one update fails", func(t *testing.T) {
		tw := newTwin(t)
		other, otherGameServer := tw.otherOrder(tw.owner, true)
		first := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		tw.clock.Set(fixedNow.Add(time.Second))
		second := tw.staleOperation(other.ID, otherGameServer.ID, ports.StatusCreating)
		tw.inject("Repository.Update", fault{err: errInfra, times: 1})
		tw.recovered(1)
		if tw.stored(first.ID).Status != ports.StatusCreating || tw.stored(second.ID).Status != ports.StatusFailed {
			t.Fatal("want the first left for the next round and the second settled")
		}
		if tw.objectExists(second) || tw.leftovers(second) {
			t.Fatal("the second one's leftovers are still there")
		}
	})
	t.Run("settles a stale create even if its leftovers cannot be removed", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusCreating)
		tw.inject("Objects.Delete", fault{err: errInfra})
		tw.inject("Sidecars.Dial", fault{err: errSidecar})
		tw.recovered(1)
		if got := tw.stored(b.ID); got.Status != ports.StatusFailed {
			t.Fatalf("status %s, want failed", got.Status)
		}
	})
	t.Run("settles a stale restore even if the sidecar cannot be reached", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.staleOperation(tw.order.ID, tw.gameServer.ID, ports.StatusRestoring)
		tw.inject("Sidecars.Dial", fault{err: errSidecar})
		tw.recovered(1)
		if got := tw.stored(b.ID); got.Status != ports.StatusReady || got.Error != "Restore failed: "+staleReason {
			t.Fatalf("stale restore settled as %s %q", got.Status, got.Error)
		}
	})
	// A mock is needed here: no correct repository lists a ready backup as
	// stale; the check guards against one that does.
	t.Run("ignores a listed backup that is not active", func(t *testing.T) {
		f := newFixture(t)
		f.repo.EXPECT().ExpireFences(gomock.Any(), gomock.Any()).Return(nil, nil)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{f.readyBackup()}, nil)
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 0 {
			t.Fatalf("RecoverStale = %d, %v; want nothing settled", n, err)
		}
	})
	t.Run("wraps a failing listing as a database error", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Repository.ListStale", fault{err: errInfra})
		n, err := tw.svc.RecoverStale(context.Background())
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
		if n != 0 {
			t.Fatalf("settled %d", n)
		}
	})
}

func TestRunRecovery(t *testing.T) {
	t.Run("recovers at once and then every RecoveryInterval until its context ends", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) {
			c.opts = func(o *backup.Options) { o.StaleAfter, o.RecoveryInterval = time.Hour, 10*time.Millisecond }
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int32
		var first, third time.Time
		tw.inject("Repository.ListStale", fault{do: func(context.Context) error {
			switch calls.Add(1) {
			case 1:
				first = time.Now()
				return errInfra // a failing round is logged, not fatal
			case 3:
				third = time.Now()
				cancel()
			}
			return nil
		}})
		start := time.Now()
		assertIs(t, tw.svc.RunRecovery(ctx), context.Canceled)
		if first.Sub(start) > time.Second {
			t.Fatalf("the first recovery came after %v, want at once", first.Sub(start))
		}
		// A ticker can fall behind but never run ahead: the third round is the
		// second tick, at least two intervals after RunRecovery began.
		if gap := third.Sub(start); gap < 2*10*time.Millisecond {
			t.Fatalf("three rounds within %v, faster than the interval allows", gap)
		}
	})
	t.Run("uses a quarter of StaleAfter by default", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) {
			c.opts = func(o *backup.Options) { o.HeartbeatInterval, o.StaleAfter = time.Millisecond, 80*time.Millisecond }
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int32
		start := time.Now()
		tw.inject("Repository.ListStale", fault{do: func(context.Context) error {
			if calls.Add(1) == 2 {
				if gap := time.Since(start); gap < 20*time.Millisecond {
					t.Errorf("second round after %v, before StaleAfter/4", gap)
				}
				cancel()
			}
			return nil
		}})
		assertIs(t, tw.svc.RunRecovery(ctx), context.Canceled)
	})
}

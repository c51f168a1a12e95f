package backup_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

const staleAfter = 40 * time.Millisecond

func newRecoveryFixture(t *testing.T) *fixture {
	f := newFixture(t, withOptions(func(o *backup.Options) {
		o.HeartbeatInterval = 5 * time.Millisecond
		o.StaleAfter = staleAfter
	}))
	f.repo.EXPECT().ExpireFences(gomock.Any(), fixedNow.Add(-staleAfter)).Return(nil, nil).AnyTimes()
	return f
}

// expectNothingToSweep lets RunRecovery's orphan sweep find nothing.
func (f *fixture) expectNothingToSweep() {
	f.objects.EXPECT().RemoveAbandoned(gomock.Any(), "backups/", gomock.Any()).Return(0, nil).AnyTimes()
	f.objects.EXPECT().List(gomock.Any(), "backups/").Return(func(func(ports.ObjectInfo, error) bool) {}).AnyTimes()
	f.repo.EXPECT().ExpireFences(gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
}

// staleBackup stores a backup whose worker stopped heartbeating long ago.
func (f *fixture) staleBackup(status ports.Status) ports.Backup {
	b := ports.Backup{
		ID: ports.NewBackupID(), OrderID: f.order.ID, ProvisionID: f.primary.ID, Name: "n",
		Status: status, CreatedAt: fixedNow.Add(-time.Hour), HeartbeatAt: fixedNow.Add(-time.Hour),
	}
	if status == ports.StatusRestoring {
		b.AssetID, b.SHA256, b.SizeBytes = ports.NewAssetID(), sha256Hex(nil), 0
	}
	f.seed(b)
	return b
}

// expectTempFilesRemoved expects the sidecar's two temp paths of b to be deleted.
func (f *fixture) expectTempFilesRemoved(b ports.Backup) {
	f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
	f.expectSidecarLookup()
	f.expectDial()
	f.fio.EXPECT().DeleteFile(gomock.Any(), "/tmp/backup-"+b.ID.String()+".tar.gz").Return(nil)
	f.fio.EXPECT().DeleteFile(gomock.Any(), "/tmp/restore-"+b.ID.String()+".tar.gz").Return(nil)
}

func TestRecoverStale(t *testing.T) {
	t.Run("asks for operations whose heartbeat is older than StaleAfter", func(t *testing.T) {
		f := newRecoveryFixture(t)
		f.repo.EXPECT().ListStale(gomock.Any(), fixedNow.Add(-staleAfter)).Return(nil, nil)
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 0 {
			t.Fatalf("RecoverStale = %d, %v", n, err)
		}
	})
	t.Run("fails a stale create and removes its partial archive and temp files", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := f.staleBackup(ports.StatusCreating)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		f.expectUpdates(1)
		f.objects.EXPECT().Delete(gomock.Any(), backup.ObjectKey(f.order.ID, b.ID)).Return(nil)
		f.expectTempFilesRemoved(b)

		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
		got := f.row(b.ID)
		if got.Status != ports.StatusFailed || got.Error != "Backup failed: the server running the operation stopped responding" || !got.CompletedAt.Equal(fixedNow) {
			t.Fatalf("stale create settled as %s %q at %v", got.Status, got.Error, got.CompletedAt)
		}
	})
	t.Run("returns a stale restore to ready with an error, keeping its archive", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := f.staleBackup(ports.StatusRestoring)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		f.expectUpdates(1)
		f.expectTempFilesRemoved(b) // and no Objects.Delete: the archive is the backup

		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
		got := f.row(b.ID)
		if got.Status != ports.StatusReady || got.Error != "Restore failed: the server running the operation stopped responding" || got.AssetID != b.AssetID {
			t.Fatalf("stale restore settled as %+v", got)
		}
	})
	t.Run("leaves alone an operation this replica is running", func(t *testing.T) {
		f := newRecoveryFixture(t)
		f.expectCreateAccepted()
		entered, release := make(chan struct{}), make(chan struct{})
		f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).DoAndReturn(func(context.Context, ports.Provision) (ports.FileIO, error) {
			close(entered)
			<-release
			return nil, errors.New("unreachable")
		})
		f.expectUpdates(1) // only the job's own failure, after release
		b := f.create()
		waitFor(t, entered, "the create to start")
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)

		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 0 {
			t.Fatalf("RecoverStale = %d, %v; want nothing settled", n, err)
		}
		close(release)
		f.wait()
		if got := f.row(b.ID); got.Error != "Backup failed: could not reach the game server's file service" {
			t.Fatalf("recovery overrode the running job's outcome: %q", got.Error)
		}
	})
	t.Run("skips an operation settled meanwhile and goes on with the rest", func(t *testing.T) {
		f := newRecoveryFixture(t)
		gone := f.staleBackup(ports.StatusCreating)
		f.setStatus(gone.ID, ports.StatusFailed) // its worker or another replica got there first
		stale := f.staleBackup(ports.StatusRestoring)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{gone, stale}, nil)
		f.expectUpdates(2)
		f.expectTempFilesRemoved(stale) // nothing removed for the one settled elsewhere

		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
	})
	t.Run("skips an operation deleted meanwhile", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := ports.Backup{ID: ports.NewBackupID(), OrderID: f.order.ID, Status: ports.StatusCreating}
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		f.expectUpdates(1) // answers ErrNotFound: the row store never had it
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 0 {
			t.Fatalf("RecoverStale = %d, %v; want nothing settled", n, err)
		}
	})
	t.Run("goes on when one update fails", func(t *testing.T) {
		f := newRecoveryFixture(t)
		first, second := f.staleBackup(ports.StatusCreating), f.staleBackup(ports.StatusCreating)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{first, second}, nil)
		f.repo.EXPECT().Update(gomock.Any(), gomock.Cond(func(b ports.Backup) bool { return b.ID == first.ID }), ports.StatusCreating).Return(errInfra)
		f.repo.EXPECT().Update(gomock.Any(), gomock.Cond(func(b ports.Backup) bool { return b.ID == second.ID }), ports.StatusCreating).DoAndReturn(f.compareAndSet)
		f.objects.EXPECT().Delete(gomock.Any(), backup.ObjectKey(f.order.ID, second.ID)).Return(nil)
		f.expectTempFilesRemoved(second)
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
	})
	t.Run("settles a stale create even if its leftovers cannot be removed", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := f.staleBackup(ports.StatusCreating)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		f.expectUpdates(1)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(errInfra)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary}, nil) // no sidecar any more
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
		if got := f.row(b.ID); got.Status != ports.StatusFailed {
			t.Fatalf("status %s, want failed", got.Status)
		}
	})
	t.Run("settles a stale restore even if the sidecar cannot be reached", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := f.staleBackup(ports.StatusRestoring)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		f.expectUpdates(1)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.expectSidecarLookup()
		f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(nil, errors.New("no route to host"))
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1 settled", n, err)
		}
	})
	t.Run("ignores a listed backup that is not active", func(t *testing.T) {
		f := newRecoveryFixture(t)
		b := f.readyBackup(archive(10))
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return([]ports.Backup{b}, nil)
		if n, err := f.svc.RecoverStale(context.Background()); err != nil || n != 0 {
			t.Fatalf("RecoverStale = %d, %v; want nothing settled", n, err)
		}
	})
	t.Run("wraps a failing listing as a database error", func(t *testing.T) {
		f := newRecoveryFixture(t)
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).Return(nil, errInfra)
		n, err := f.svc.RecoverStale(context.Background())
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
		if n != 0 {
			t.Fatalf("settled %d", n)
		}
	})
}

func TestRunRecovery(t *testing.T) {
	t.Run("recovers at once and then every RecoveryInterval until its context ends", func(t *testing.T) {
		f := newFixture(t, withOptions(func(o *backup.Options) {
			o.HeartbeatInterval, o.StaleAfter, o.RecoveryInterval = 5*time.Millisecond, time.Hour, 10*time.Millisecond
		}))
		f.expectNothingToSweep()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int32
		var first, third time.Time
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, time.Time) ([]ports.Backup, error) {
			switch calls.Add(1) {
			case 1:
				first = time.Now()
				return nil, errInfra // a failing round is logged, not fatal
			case 3:
				third = time.Now()
				cancel()
			}
			return nil, nil
		}).MinTimes(3)
		start := time.Now()
		err := f.svc.RunRecovery(ctx)
		assertIs(t, err, context.Canceled)
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
		f := newFixture(t, withOptions(func(o *backup.Options) {
			o.HeartbeatInterval, o.StaleAfter = time.Millisecond, 80*time.Millisecond
		}))
		f.expectNothingToSweep()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int32
		start := time.Now()
		f.repo.EXPECT().ListStale(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, time.Time) ([]ports.Backup, error) {
			if calls.Add(1) == 2 {
				if gap := time.Since(start); gap < 20*time.Millisecond {
					t.Errorf("second round after %v, before StaleAfter/4", gap)
				}
				cancel()
			}
			return nil, nil
		}).MinTimes(2)
		assertIs(t, f.svc.RunRecovery(ctx), context.Canceled)
	})
}

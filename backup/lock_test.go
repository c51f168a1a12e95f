package backup_test

import (
	"context"
	"reflect"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// lockErrorCases are the refusals of LockBackup beyond those of every backup:
// a backup that a delete has claimed, before or while the call runs, is going
// whether or not it is locked.
func lockErrorCases() []errorCase {
	claim := func(tw *twin, r request) {
		_, err := tw.repo.ClaimForDelete(context.Background(), r.backup, false)
		must(tw.t, err)
	}
	return []errorCase{
		{name: "refuses a backup that a delete has claimed", want: backup.ErrStatusConflict,
			setup: func(tw *twin, r *request) { claim(tw, *r) }},
		{name: "reports a backup claimed by a delete meanwhile", want: backup.ErrStatusConflict,
			setup: racing("Repository.Find", claim)},
		{name: "reports a backup deleted meanwhile", want: backup.ErrBackupNotFound,
			setup: racing("Repository.Find", func(tw *twin, r request) { tw.remove(r.backup) })},
		{name: "wraps a failing lock as a database error", setup: failing("Repository.SetLocked"), want: backup.ErrDatabase, infra: true},
	}
}

func TestLockBackupRefuses(t *testing.T) {
	for _, locked := range []bool{true, false} {
		name := map[bool]string{true: "locking", false: "unlocking"}[locked]
		t.Run(name, func(t *testing.T) {
			lock := func(tw *twin, r request) (any, error) {
				return tw.svc.LockBackup(context.Background(), r.user, r.order, r.provision, r.backup, locked)
			}
			unchanged := func(t *testing.T, tw *twin, r request) {
				if b, err := tw.repo.Find(context.Background(), r.backup); err == nil && b.Locked {
					t.Fatalf("a refused call left the backup locked: %+v", b)
				}
			}
			refused(t, append(backupErrorCases(), lockErrorCases()...), readyRequest, lock, unchanged)
		})
	}
}

func TestLockBackup(t *testing.T) {
	ctx := context.Background()
	lock := func(tw *twin, user ports.UserID, b ports.Backup, locked bool) ports.Backup {
		t.Helper()
		got, err := tw.svc.LockBackup(ctx, user, tw.order.ID, tw.gameServer.ID, b.ID, locked)
		must(t, err)
		if stored := tw.stored(b.ID); !reflect.DeepEqual(got, stored) || got.Locked != locked {
			t.Fatalf("LockBackup(%t) returned %+v; stored %+v", locked, got, stored)
		}
		return got
	}
	t.Run("locks and unlocks a ready backup for its owner, twice over", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("keep this one")
		for _, locked := range []bool{true, true, false, false} {
			lock(tw, tw.owner, b, locked)
		}
	})
	t.Run("lets a holder of ViewAllOrders lock and unlock someone else's backup", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.record(ports.StatusReady)
		lock(tw, tw.admin, b, true)
		lock(tw, tw.admin, b, false)
	})
	t.Run("locks a backup while it is being created, and the lock outlasts the create", func(t *testing.T) {
		tw := newTwin(t)
		tw.dialer.close()
		b, err := tw.create("locked from the start")
		must(t, err)
		if got := lock(tw, tw.owner, b, true); got.Status != ports.StatusCreating {
			t.Fatalf("the lock changed the running create: %+v", got)
		}
		tw.dialer.open()
		if done := tw.settled(b.ID); done.Status != ports.StatusReady || !done.Locked {
			t.Fatalf("the create ended %s, locked %t; want ready and locked", done.Status, done.Locked)
		}
	})
	t.Run("keeps a backup locked through a restore", func(t *testing.T) {
		tw := newTwin(t)
		b := lock(tw, tw.owner, tw.ready("restored while locked"), true)
		_, err := tw.restore(b)
		must(t, err)
		if done := tw.settled(b.ID); done.Status != ports.StatusReady || done.Error != "" || !done.Locked {
			t.Fatalf("after the restore the backup is %+v; want ready and locked", done)
		}
	})
	// A mock is needed here: only it can show that the answer is the record as
	// the store returns it, and that nothing but the lock is written.
	t.Run("writes the lock alone and answers the stored record", func(t *testing.T) {
		f := newFixture(t)
		b := f.readyBackup()
		stored := b
		stored.Locked = true
		stored.Status = ports.StatusRestoring // another replica started a restore meanwhile
		f.expectBackupFound(b)
		f.repo.EXPECT().SetLocked(gomock.Any(), b.ID, true).Return(stored, nil)
		got, err := f.svc.LockBackup(ctx, f.owner, f.order.ID, f.primary.ID, b.ID, true)
		if err != nil || !reflect.DeepEqual(got, stored) {
			t.Fatalf("LockBackup = %+v, %v; want the stored %+v", got, err, stored)
		}
	})
}

func TestDeleteLockedBackup(t *testing.T) {
	ctx := context.Background()
	del := func(tw *twin, b ports.Backup) error {
		return tw.svc.DeleteBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID)
	}
	t.Run("is refused and leaves everything in place, until the backup is unlocked", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("precious")
		_, err := tw.svc.LockBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID, true)
		must(t, err)
		err = del(tw, b)
		errorCase{want: backup.ErrBackupLocked}.check(t, err)
		if got := tw.stored(b.ID); got.Deleting || !got.Locked || !tw.objectExists(b) || !tw.assetExists(b.AssetID) {
			t.Fatalf("a refused delete touched the backup: %+v, archive kept %t, asset kept %t", got, tw.objectExists(b), tw.assetExists(b.AssetID))
		}
		_, err = tw.svc.LockBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID, false)
		must(t, err)
		must(t, del(tw, b))
		tw.gone(b)
	})
	t.Run("is refused for ViewAllOrders holders too", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.record(ports.StatusReady)
		_, err := tw.svc.LockBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, b.ID, true)
		must(t, err)
		err = tw.svc.DeleteBackup(ctx, tw.admin, tw.order.ID, tw.gameServer.ID, b.ID)
		errorCase{want: backup.ErrBackupLocked}.check(t, err)
	})
	lockNow := func(tw *twin, r request) {
		_, err := tw.repo.SetLocked(context.Background(), r.backup, true)
		must(tw.t, err)
	}
	cases := []errorCase{
		{name: "refuses a locked failed backup", want: backup.ErrBackupLocked,
			setup: func(tw *twin, r *request) { r.backup = tw.record(ports.StatusFailed).ID; lockNow(tw, *r) }},
		{name: "names the lock rather than the status of a locked backup being created", want: backup.ErrBackupLocked,
			setup: func(tw *twin, r *request) { r.backup = tw.record(ports.StatusCreating).ID; lockNow(tw, *r) }},
		// The lock can land between the service's read and its claim; the claim
		// refuses it then.
		{name: "reports a backup locked meanwhile", want: backup.ErrBackupLocked,
			setup: racing("Repository.Find", lockNow)},
	}
	refused(t, cases, readyRequest, func(tw *twin, r request) (any, error) {
		return nil, tw.svc.DeleteBackup(ctx, r.user, r.order, r.provision, r.backup)
	}, func(t *testing.T, tw *twin, r request) {
		if got := tw.stored(r.backup); got.Deleting || !got.Locked {
			t.Fatalf("the refused delete left the backup %+v; want it locked and unclaimed", got)
		}
	})
}

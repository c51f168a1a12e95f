package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// expectCreateSucceeds expects the whole background half of a create of data.
func (f *fixture) expectCreateSucceeds(data []byte) {
	f.expectArchiveStored(data)
	f.expectUpdates(1)
}

// expectArchiveStored expects a create of data up to its final write: the
// archive streamed, stored under the backup's key, and its asset recorded.
func (f *fixture) expectArchiveStored(data []byte) {
	f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(data), nil)
	f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(drainInto(&bytes.Buffer{}))
	f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
}

func TestWorkDoesNotRunOnTheCallersContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	proceed := make(chan struct{})
	f.expectCreateAccepted()
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).DoAndReturn(func(ctx context.Context, _ ports.Provision) (ports.FileIO, error) {
		<-proceed // the request has returned and its context is gone
		if err := ctx.Err(); err != nil {
			t.Errorf("the background work got the request's context: %v", err)
		}
		return f.fio, nil
	})
	f.fio.EXPECT().Close().Return(nil)
	f.expectCreateSucceeds(archive(5000))

	b, err := f.svc.CreateBackup(ctx, f.owner, f.order.ID, f.primary.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	close(proceed)
	f.wait()
	if got := f.row(b.ID); got.Status != ports.StatusReady {
		t.Fatalf("status %s after the request was cancelled, want ready: %q", got.Status, got.Error)
	}
}

func TestServiceBoundsConcurrentOperations(t *testing.T) {
	f := newFixture(t, withOptions(func(o *backup.Options) { o.MaxConcurrentOperations = 1 }))
	// Two creates on two orders; the repository's per-order rule does not
	// apply, only this replica's bound.
	other := ports.Order{ID: ports.NewOrderID(), OwnerID: f.owner}
	otherPrimary := ports.Provision{ID: ports.NewProvisionID(), OrderID: other.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	otherSidecar := ports.Provision{ID: ports.NewProvisionID(), OrderID: other.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar}
	f.expectCreateAccepted()
	f.orders.EXPECT().GetOrder(gomock.Any(), other.ID).Return(other, nil)
	f.orders.EXPECT().GetProvision(gomock.Any(), otherPrimary.ID).Return(otherPrimary, nil)
	f.orders.EXPECT().ListProvisions(gomock.Any(), other.ID).Return([]ports.Provision{otherPrimary, otherSidecar}, nil)
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), other.ID).Return(false, nil)
	f.repo.EXPECT().CountByProvision(gomock.Any(), otherPrimary.ID).Return(0, nil)
	f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(f.recordCreate)

	firstIn, releaseFirst, secondIn := make(chan struct{}), make(chan struct{}), make(chan struct{})
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).DoAndReturn(func(context.Context, ports.Provision) (ports.FileIO, error) {
		close(firstIn)
		<-releaseFirst
		return nil, errors.New("unreachable")
	})
	f.dialer.EXPECT().Dial(gomock.Any(), otherSidecar).DoAndReturn(func(context.Context, ports.Provision) (ports.FileIO, error) {
		close(secondIn)
		return nil, errors.New("unreachable")
	})
	f.expectUpdates(2)

	f.create()
	waitFor(t, firstIn, "the first operation to start")
	if _, err := f.svc.CreateBackup(context.Background(), f.owner, other.ID, otherPrimary.ID, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-secondIn:
		t.Fatal("the second operation started while the only slot was taken")
	case <-time.After(50 * time.Millisecond):
	}
	close(releaseFirst)
	waitFor(t, secondIn, "the second operation after the first ended")
	f.wait()
}

func TestServiceHeartbeats(t *testing.T) {
	const interval = 5 * time.Millisecond
	newHeartbeatFixture := func(t *testing.T) *fixture {
		return newFixture(t, withoutHeartbeatMock(), withOptions(func(o *backup.Options) { o.HeartbeatInterval = interval }))
	}

	t.Run("records a heartbeat on the clock while a create runs", func(t *testing.T) {
		f := newHeartbeatFixture(t)
		later := fixedNow.Add(time.Minute)
		beats := make(chan time.Time, 100)
		f.repo.EXPECT().Heartbeat(gomock.Any(), gomock.Any(), ports.StatusCreating, gomock.Any()).DoAndReturn(func(_ context.Context, id ports.BackupID, _ ports.Status, at time.Time) error {
			if id != f.createdID() {
				t.Errorf("heartbeat for %s, want %s", id, f.createdID())
			}
			select {
			case beats <- at:
			default:
			}
			return nil
		}).MinTimes(3)
		f.expectCreateAccepted()
		f.expectDial()
		release := make(chan struct{})
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, []string) (ports.ArchiveStream, error) {
			<-release
			return stream(archive(100)), nil
		})
		var sink bytes.Buffer
		f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&sink))
		f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
		f.expectUpdates(1)

		f.create()
		f.clock.Set(later)
		for range 3 {
			for at := waitFor(t, beats, "a heartbeat"); !at.Equal(later); at = waitFor(t, beats, "a heartbeat on the new time") {
			}
		}
		close(release)
		f.wait()
	})
	t.Run("stops a restore whose heartbeat finds it settled elsewhere, without recording a failure", func(t *testing.T) {
		f := newHeartbeatFixture(t)
		data := archive(1000)
		b := f.readyBackup(data)
		writing := make(chan struct{})
		f.repo.EXPECT().Heartbeat(gomock.Any(), b.ID, ports.StatusRestoring, gomock.Any()).DoAndReturn(func(context.Context, ports.BackupID, ports.Status, time.Time) error {
			select {
			case <-writing: // another replica recovered it as stale meanwhile
				return ports.ErrStatusConflict
			default:
				return nil
			}
		}).MinTimes(1)
		f.expectRestoreAccepted(b)
		f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusReady).DoAndReturn(f.compareAndSet)
		// No other Update: Fail must not run for an operation settled elsewhere.
		f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
		f.expectDial()
		f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(stream(data), ports.ObjectInfo{SizeBytes: int64(len(data))}, nil)
		cancelled := make(chan struct{})
		f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, _ string, _ int64, _ io.Reader) error {
			close(writing)
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		})
		f.fio.EXPECT().DeleteFile(gomock.Any(), restoreTemp(b)).Return(nil)

		f.restore(b)
		waitFor(t, cancelled, "the restore to be cancelled")
		f.wait()
		if got := f.row(b.ID); got.Status != ports.StatusRestoring {
			t.Fatalf("the worker overwrote the other replica's outcome: %s %q", got.Status, got.Error)
		}
	})
}

func TestServiceShutdown(t *testing.T) {
	t.Run("waits for a create to finish", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectDial()
		release := make(chan struct{})
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, []string) (ports.ArchiveStream, error) {
			<-release
			return stream(archive(100)), nil
		})
		var sink bytes.Buffer
		f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&sink))
		f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
		f.expectUpdates(1)

		b := f.create()
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- f.svc.Shutdown(ctx)
		}()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while a create was running", err)
		case <-time.After(30 * time.Millisecond):
		}
		close(release)
		if err := waitFor(t, done, "Shutdown"); err != nil {
			t.Fatal(err)
		}
		if got := f.row(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("status %s, want ready", got.Status)
		}
	})

	// stuck blocks until the test lets it go, ignoring its context the way a call
	// into a hung peer might; record releases it once Shutdown recorded the job.
	type stuck struct {
		entered, release chan struct{}
		once             sync.Once
	}
	newStuck := func() *stuck { return &stuck{entered: make(chan struct{}), release: make(chan struct{})} }
	releaseOnFailure := func(f *fixture, s *stuck) func(context.Context, ports.Backup, ports.Status) error {
		return func(ctx context.Context, b ports.Backup, from ports.Status) error {
			err := f.compareAndSet(ctx, b, from)
			s.once.Do(func() { close(s.release) })
			return err
		}
	}
	shutdownSoon := func(t *testing.T, f *fixture) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		assertIs(t, f.svc.Shutdown(ctx), context.DeadlineExceeded)
	}
	assertLiveContexts := func(t *testing.T, f *fixture, want int) {
		t.Helper()
		updates := f.allUpdates()
		if len(updates) != want {
			t.Fatalf("%d updates, want %d", len(updates), want)
		}
		for _, u := range updates {
			if u.ctxErr != nil {
				t.Fatalf("an update ran on a finished context: %v", u.ctxErr)
			}
		}
	}

	t.Run("records an interrupted create as failed", func(t *testing.T) {
		f := newFixture(t)
		s := newStuck()
		f.expectCreateAccepted()
		f.expectDial()
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(archive(1000)), nil)
		f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(func(ctx context.Context, _ string, _ io.Reader) error {
			close(s.entered)
			<-s.release
			if ctx.Err() == nil {
				t.Error("the interrupted upload's context was not cancelled")
			}
			return errors.New("upload aborted")
		})
		f.objects.EXPECT().Delete(gomock.Any(), f.createdKey()).DoAndReturn(func(ctx context.Context, _ string) error {
			if ctx.Err() != nil {
				t.Errorf("the partial archive is removed on a finished context: %v", ctx.Err())
			}
			return nil
		})
		// Shutdown records the interruption; the job, once it ends, tries again
		// and loses the compare-and-set.
		f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(releaseOnFailure(f, s)).Times(2)

		b := f.create()
		waitFor(t, s.entered, "the upload to start")
		shutdownSoon(t, f)

		got := f.row(b.ID)
		if got.Status != ports.StatusFailed || got.Error != "Backup failed: interrupted because the backup service was shutting down" {
			t.Fatalf("interrupted create: %s %q", got.Status, got.Error)
		}
		assertLiveContexts(t, f, 2)
	})
	t.Run("records an interrupted restore as ready with an error", func(t *testing.T) {
		f := newFixture(t)
		s := newStuck()
		data := archive(1000)
		b := f.readyBackup(data)
		f.expectRestoreAccepted(b)
		f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusReady).DoAndReturn(f.compareAndSet)
		f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
		f.expectDial()
		f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(stream(data), ports.ObjectInfo{SizeBytes: int64(len(data))}, nil)
		f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, string, int64, io.Reader) error {
			close(s.entered)
			<-s.release
			return errors.New("stream reset")
		})
		f.fio.EXPECT().DeleteFile(gomock.Any(), restoreTemp(b)).DoAndReturn(func(ctx context.Context, _ string) error {
			if ctx.Err() != nil {
				t.Errorf("the temp file is removed on a finished context: %v", ctx.Err())
			}
			return nil
		})
		f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusRestoring).DoAndReturn(releaseOnFailure(f, s)).Times(2)

		f.restore(b)
		waitFor(t, s.entered, "the write to start")
		shutdownSoon(t, f)

		got := f.row(b.ID)
		if got.Status != ports.StatusReady || got.Error != "Restore failed: interrupted because the backup service was shutting down" {
			t.Fatalf("interrupted restore: %s %q", got.Status, got.Error)
		}
		if got.SHA256 != b.SHA256 || got.AssetID != b.AssetID {
			t.Fatalf("an interrupted restore lost the archive's record: %+v", got)
		}
		assertLiveContexts(t, f, 3)
	})
	t.Run("records a create still waiting for a slot as failed", func(t *testing.T) {
		f := newFixture(t, withOptions(func(o *backup.Options) { o.MaxConcurrentOperations = 1 }))
		s := newStuck()
		f.runStuckJob(s.entered, s.release)
		f.expectCreateAccepted()
		// Recorded by Shutdown, then tried again by the queued job itself when its
		// wait for a slot is cancelled.
		created := gomock.Cond(func(u ports.Backup) bool { return u.ID == f.createdID() })
		f.repo.EXPECT().Update(gomock.Any(), created, ports.StatusCreating).DoAndReturn(releaseOnFailure(f, s)).Times(2)
		b := f.create()
		shutdownSoon(t, f)
		if got := f.row(b.ID); got.Status != ports.StatusFailed || got.Error != "Backup failed: interrupted because the backup service was shutting down" {
			t.Fatalf("queued create after Shutdown: %s %q", got.Status, got.Error)
		}
	})
}

// runStuckJob occupies a slot of the service's runner with a restore of another
// order's backup that blocks until release, so later work has to queue.
func (f *fixture) runStuckJob(entered, release chan struct{}) {
	f.t.Helper()
	other := ports.Order{ID: ports.NewOrderID(), OwnerID: f.owner}
	prim := ports.Provision{ID: ports.NewProvisionID(), OrderID: other.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	side := ports.Provision{ID: ports.NewProvisionID(), OrderID: other.ID, Role: ports.RoleSidecar}
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: other.ID, ProvisionID: prim.ID, Status: ports.StatusReady, AssetID: ports.NewAssetID()}
	f.seed(b)
	f.orders.EXPECT().GetOrder(gomock.Any(), other.ID).Return(other, nil)
	f.orders.EXPECT().GetProvision(gomock.Any(), prim.ID).Return(prim, nil)
	f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
	f.orders.EXPECT().ListProvisions(gomock.Any(), other.ID).Return([]ports.Provision{prim, side}, nil)
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), other.ID).Return(false, nil)
	f.repo.EXPECT().Update(gomock.Any(), gomock.Cond(func(u ports.Backup) bool { return u.ID == b.ID }), gomock.Any()).DoAndReturn(f.compareAndSet).Times(3)
	f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).DoAndReturn(func(context.Context, ports.AssetID) (ports.Asset, error) {
		close(entered)
		<-release
		return ports.Asset{}, errors.New("gone")
	})
	if _, err := f.svc.RestoreBackup(context.Background(), f.owner, other.ID, prim.ID, b.ID); err != nil {
		f.t.Fatalf("RestoreBackup: %v", err)
	}
	waitFor(f.t, entered, "the blocking job to start")
}

func TestOperationTimeout(t *testing.T) {
	f := newFixture(t, withOptions(func(o *backup.Options) { o.OperationTimeout = 30 * time.Millisecond }))
	f.expectCreateAccepted()
	f.expectDial()
	f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(archive(1000)), nil)
	f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(func(ctx context.Context, _ string, _ io.Reader) error {
		<-ctx.Done() // a hung upload
		return fmt.Errorf("multipart: %w", ctx.Err())
	})
	f.objects.EXPECT().Delete(gomock.Any(), f.createdKey()).Return(nil)
	f.expectUpdates(1)

	b := f.create()
	f.wait()
	if got := f.row(b.ID); got.Status != ports.StatusFailed || got.Error != "Backup failed: the operation took too long and was stopped" {
		t.Fatalf("timed-out create: %s %q", got.Status, got.Error)
	}
}

func TestAFailureThatCannotBeRecordedIsLeftForRecovery(t *testing.T) {
	f := newFixture(t)
	f.expectCreateAccepted()
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(nil, errors.New("unreachable"))
	f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).Return(errInfra)
	b := f.create()
	f.wait()
	// The backup stays creating; its heartbeat has stopped, so any replica's
	// RecoverStale settles it once StaleAfter has passed.
	if got := f.row(b.ID); got.Status != ports.StatusCreating {
		t.Fatalf("status %s, want creating until recovery", got.Status)
	}
}

// expectRestoreAccepted expects every synchronous step of a restore of b that passes.
func (f *fixture) expectRestoreAccepted(b ports.Backup) {
	f.expectBackupFound(b)
	f.expectSidecarLookup()
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
}

// restore calls RestoreBackup as the owner and fails the test on error.
func (f *fixture) restore(b ports.Backup) ports.Backup {
	f.t.Helper()
	got, err := f.svc.RestoreBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
	if err != nil {
		f.t.Fatalf("RestoreBackup: %v", err)
	}
	return got
}

func restoreTemp(b ports.Backup) string { return "/tmp/restore-" + b.ID.String() + ".tar.gz" }

// writeInto is a FileIO.WriteFile that stores what it reads in dst and fails, as
// WriteFile must, when the stream does.
func writeInto(dst *bytes.Buffer) func(context.Context, string, int64, io.Reader) error {
	return func(_ context.Context, _ string, _ int64, r io.Reader) error {
		_, err := io.Copy(dst, r)
		return err
	}
}

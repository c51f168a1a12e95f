package backup_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// interrupted is what a customer reads about an operation cut short by a
// shutdown.
const interrupted = "interrupted because the backup service was shutting down"

func TestWorkDoesNotRunOnTheCallersContext(t *testing.T) {
	tw := newTwin(t)
	ctx, cancel := context.WithCancel(context.Background())
	tw.dialer.close()
	b, err := tw.svc.CreateBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{})
	must(t, err)
	cancel() // the request has returned and its context is gone
	tw.dialer.open()
	if got := tw.settled(b.ID); got.Status != ports.StatusReady {
		t.Fatalf("status %s after the request was cancelled, want ready: %q", got.Status, got.Error)
	}
}

// dialled waits until the sidecar has been dialled n times in all.
func (tw *twin) dialled(n int) {
	tw.t.Helper()
	eventually(tw.t, func() bool { return len(tw.dialer.provisions()) >= n }, fmt.Sprintf("dial number %d", n))
}

func TestServiceBoundsConcurrentOperations(t *testing.T) {
	tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxConcurrentOperations = 1 } })
	// Two creates on two orders: the repository's rule of one operation per
	// order does not apply, only this replica's bound.
	other, otherGameServer := tw.otherOrder(tw.owner, true)
	tw.dialer.close()
	first, err := tw.create("")
	must(t, err)
	tw.dialled(1)
	second, err := tw.svc.CreateBackup(context.Background(), tw.owner, other.ID, otherGameServer.ID, backup.CreateRequest{})
	must(t, err)

	time.Sleep(50 * time.Millisecond)
	if n := len(tw.dialer.provisions()); n != 1 {
		t.Fatalf("%d operations started while the only slot was taken", n)
	}
	tw.dialer.open()
	for _, b := range []ports.Backup{first, second} {
		if got := tw.settled(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("backup ended %s: %s", got.Status, got.Error)
		}
	}
}

func TestServiceHeartbeats(t *testing.T) {
	t.Run("records a heartbeat on the clock while a create runs", func(t *testing.T) {
		tw := newTwin(t)
		tw.dialer.close()
		b, err := tw.create("")
		must(t, err)
		for _, later := range []time.Time{fixedNow.Add(time.Minute), fixedNow.Add(2 * time.Minute)} {
			tw.clock.Set(later)
			eventually(t, func() bool { return tw.stored(b.ID).HeartbeatAt.Equal(later) }, "a heartbeat at "+later.String())
		}
		tw.dialer.open()
		tw.settled(b.ID)
	})
	t.Run("stops a restore whose heartbeat finds it settled elsewhere, without recording a failure", func(t *testing.T) {
		tw := newTwin(t)
		b, _ := tw.backedUpThenChanged(tw.svc)
		const theirs = "Restore failed: the server running the operation stopped responding"
		cancelled := make(chan struct{})
		tw.inject("FileIO.RestoreArchive", fault{do: func(ctx context.Context) error {
			// Another replica recovers the restore as stale meanwhile.
			settled, err := tw.repo.Find(ctx, b.ID)
			settled.Status, settled.Error = ports.StatusReady, theirs
			if err != nil || tw.repo.Update(ctx, settled, ports.StatusRestoring) != nil {
				return fmt.Errorf("settling the restore elsewhere: %v", err)
			}
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}})

		_, err := tw.restore(b)
		must(t, err)
		waitFor(t, cancelled, "the restore to be cancelled")
		tw.shutdown()
		if got := tw.stored(b.ID); got.Status != ports.StatusReady || got.Error != theirs {
			t.Fatalf("the worker overwrote the other replica's outcome: %s %q", got.Status, got.Error)
		}
	})
}

// hangs is a call that hangs until its operation is cancelled; entered is
// closed when it starts hanging.
func hangs(entered chan struct{}) func(ctx context.Context) error {
	var once sync.Once
	return func(ctx context.Context) error {
		once.Do(func() { close(entered) })
		<-ctx.Done()
		return fmt.Errorf("stream reset: %w", ctx.Err())
	}
}

// shutdownSoon shuts the service down with little patience: what still runs
// after 30 ms is interrupted.
func (tw *twin) shutdownSoon() {
	tw.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	assertIs(tw.t, tw.svc.Shutdown(ctx), context.DeadlineExceeded)
}

func TestServiceShutdown(t *testing.T) {
	t.Run("waits for a create to finish", func(t *testing.T) {
		tw := newTwin(t)
		tw.dialer.close()
		b, err := tw.create("")
		must(t, err)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- tw.svc.Shutdown(ctx)
		}()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while a create was running", err)
		case <-time.After(30 * time.Millisecond):
		}
		tw.dialer.open()
		must(t, waitFor(t, done, "Shutdown"))
		if got := tw.stored(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("status %s, want ready", got.Status)
		}
	})
	// The interrupted upload had stored the archive: it is removed all the
	// same, on a context of its own since the operation's was cancelled.
	t.Run("records an interrupted create as failed", func(t *testing.T) {
		tw := newTwin(t)
		entered := make(chan struct{})
		tw.inject("Objects.Put", fault{made: true, do: hangs(entered)})
		b, err := tw.create("")
		must(t, err)
		waitFor(t, entered, "the upload to start")
		tw.shutdownSoon()

		if got := tw.stored(b.ID); got.Status != ports.StatusFailed || got.Error != "Backup failed: "+interrupted {
			t.Fatalf("interrupted create: %s %q", got.Status, got.Error)
		}
		if tw.objectExists(b) {
			t.Fatal("the interrupted upload's archive was left in storage")
		}
	})
	t.Run("records a create still waiting for a slot as failed", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxConcurrentOperations = 1 } })
		other, otherGameServer := tw.otherOrder(tw.owner, true)
		tw.dialer.close()
		_, err := tw.svc.CreateBackup(context.Background(), tw.owner, other.ID, otherGameServer.ID, backup.CreateRequest{})
		must(t, err)
		tw.dialled(1) // it holds the only slot
		b, err := tw.create("")
		must(t, err)
		tw.shutdownSoon()
		if got := tw.stored(b.ID); got.Status != ports.StatusFailed || got.Error != "Backup failed: "+interrupted {
			t.Fatalf("queued create after Shutdown: %s %q", got.Status, got.Error)
		}
	})
	// Staged, the interrupted write had staged the archive in the pod: it is
	// removed all the same, on a context of its own since the operation's was
	// cancelled.
	for _, staged := range []bool{false, true} {
		t.Run(fmt.Sprintf("records an interrupted restore as ready with an error (staged %v)", staged), func(t *testing.T) {
			testInterruptedRestore(t, staged)
		})
	}
}

func testInterruptedRestore(t *testing.T, staged bool) {
	tw := newTwin(t, func(c *twinConfig) { c.stagedRestore = staged })
	// The backup is made by another replica: a job leaves this replica's
	// list of running operations a moment after its outcome is recorded,
	// and the restore of the same backup must be the only one on the list.
	b, _ := tw.backedUpThenChanged(tw.replica())
	current := tw.dataFiles()
	entered := make(chan struct{})
	if staged {
		tw.inject("FileIO.WriteFile", fault{made: true, do: hangs(entered)})
	} else {
		tw.inject("FileIO.RestoreArchive", fault{do: hangs(entered)})
	}
	_, err := tw.restore(b)
	must(t, err)
	waitFor(t, entered, "the write to start")
	tw.shutdownSoon()

	got := tw.stored(b.ID)
	if got.Status != ports.StatusReady || got.Error != "Restore failed: "+interrupted {
		t.Fatalf("interrupted restore: %s %q", got.Status, got.Error)
	}
	sameArchive(t, got, b)
	tw.assertFiles(current, "the ones before the restore")
	if left := tw.tempFiles(); len(left) != 0 {
		t.Fatalf("the sidecar's temp directory holds %v", left)
	}
}

func TestOperationTimeout(t *testing.T) {
	tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.OperationTimeout = 30 * time.Millisecond } })
	tw.inject("Objects.Put", fault{do: hangs(make(chan struct{}))})
	b, err := tw.create("")
	must(t, err)
	if got := tw.settled(b.ID); got.Status != ports.StatusFailed || got.Error != "Backup failed: the operation took too long and was stopped" {
		t.Fatalf("timed-out create: %s %q", got.Status, got.Error)
	}
	if tw.objectExists(b) {
		t.Fatal("the timed-out upload left an archive")
	}
}

func TestAFailureThatCannotBeRecordedIsLeftForRecovery(t *testing.T) {
	tw := newTwin(t)
	tw.inject("Sidecars.Dial", fault{err: errSidecar})
	tw.inject("Repository.Update", fault{err: errInfra})
	b, err := tw.create("")
	must(t, err)
	tw.shutdown()
	if got := tw.stored(b.ID); got.Status != ports.StatusCreating {
		t.Fatalf("status %s, want creating until recovery", got.Status)
	}

	// Its heartbeat has stopped, so any replica's RecoverStale settles it once
	// StaleAfter has passed.
	tw.heal("Repository.Update")
	tw.clock.Set(fixedNow.Add(time.Minute + time.Second))
	if n, err := tw.svc.RecoverStale(context.Background()); err != nil || n != 1 {
		t.Fatalf("RecoverStale = %d, %v; want the create settled", n, err)
	}
	if got := tw.stored(b.ID); got.Status != ports.StatusFailed {
		t.Fatalf("status %s after recovery, want failed", got.Status)
	}
}

package reliability_test

import (
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// TestCrashMidCreate kills the server (SIGKILL) while a backup streams into
// storage and starts it again: its recovery settles the backup as failed within
// the stale timeout, nothing is left behind, and the order takes a new backup.
func TestCrashMidCreate(t *testing.T) {
	t.Parallel()
	dataDir, tree := sharedWorld(t)
	s := newStack(t, dataDir)
	srv := s.Server

	b := s.createUploading(t, srv, "interrupted by a crash")
	srv.Proc.Kill()
	killed := time.Now()
	if r := s.row(t, b.ID); r.Status != "creating" {
		t.Fatalf("the kill came too late: the backup was already %s %s", r.Status, r.Error)
	}

	srv.Start(t)
	logTiming(t, "crash mid-create: restart after kill", time.Since(killed))
	v, settled := waitSettled(t, srv, b.ID, settleBound)
	logTiming(t, "crash mid-create: kill to failed", settled.Sub(killed))
	if v.Status != "failed" {
		t.Fatalf("after the crash the backup is %s, want failed", describe(v))
	}
	assertReadable(t, e2e.ErrorText(v), "Backup failed: ", "stopped responding")

	t.Run("no object, open upload or temp file is left", func(t *testing.T) {
		s.assertBucketHoldsOnly(t)

		assertNoTempFiles(t, s.Sidecar)
	})

	t.Run("the order accepts a new backup, which holds the data directory", func(t *testing.T) {
		start := time.Now()
		again := createReady(t, srv, "after the crash")
		logTiming(t, "create of the world", time.Since(start))
		assertArchiveHolds(t, srv, again, tree)
		s.assertBucketHoldsOnly(t, key(t, srv, again.ID))
		assertNoTempFiles(t, s.Sidecar)
	})
}

// TestCrashMidRestore kills the server in each phase of a restore, on both
// restore paths — while the archive streams into the extraction; or, staged,
// while it is copied to the sidecar and while the sidecar extracts it; and
// together with the sidecar — and starts it again: each time the backup is back
// to ready with an error within the stale timeout, the data directory is as it
// was before the restore, nothing staged is left, and finally a retry restores
// the backup.
func TestCrashMidRestore(t *testing.T) {
	t.Parallel()
	for _, path := range restorePaths {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			testCrashMidRestore(t, path)
		})
	}
}

func testCrashMidRestore(t *testing.T, path restorePath) {
	dataDir, original := ownWorld(t)
	s := newStack(t, dataDir, path.sidecarArgs...)
	srv := s.Server
	b := createReady(t, srv, "before the griefing")
	griefed := grief(t, dataDir)

	// interrupt starts a restore, waits for phase, calls kill, and checks that
	// the kill landed mid-restore.
	interrupt := func(t *testing.T, phaseName string, phase func() bool, kill func()) time.Time {
		t.Helper()
		restore(t, srv, b.ID)
		poll(t, operationTimeout, phaseName, srv.Proc, phase)
		kill()
		killed := time.Now()
		if r := s.row(t, b.ID); r.Status != "restoring" {
			t.Fatalf("the kill came too late: the backup was already %s %s", r.Status, r.Error)
		}
		return killed
	}
	// settle starts the server again and checks that recovery settled the
	// restore as failed, in time.
	settle := func(t *testing.T, what string, killed time.Time) {
		t.Helper()
		srv.Start(t)
		v, settled := waitSettled(t, srv, b.ID, settleBound)
		logTiming(t, what+": kill to ready with error", settled.Sub(killed))
		if v.Status != "ready" || v.LastRestoredAt != nil {
			t.Fatalf("after the crash the backup is %s (last restored %v), want ready and never restored", describe(v), v.LastRestoredAt)
		}
		assertReadable(t, e2e.ErrorText(v), "Restore failed: ", "stopped responding")
	}
	// killedWhileExtracting kills the server once the sidecar is extracting
	// (phase); the sidecar, still running, sees its caller vanish and stops.
	killedWhileExtracting := func(t *testing.T, what, phaseName string, phase func() bool) {
		killed := interrupt(t, phaseName, phase, srv.Proc.Kill)
		gone := poll(t, time.Minute, "the sidecar to remove its staging directory", s.Sidecar.Proc, func() bool { return len(reservedIn(dataDir)) == 0 })
		logTiming(t, what+": kill to the sidecar's staging directory removed", gone.Sub(killed))
		assertTree(t, dataDir, griefed, "as it was before the restore")
		settle(t, what, killed)
		assertTree(t, dataDir, griefed, "as it was before the restore")
		assertNoTempFiles(t, s.Sidecar)
	}

	if path.staged {
		t.Run("a server killed while the archive is copied to the sidecar", func(t *testing.T) {
			killed := interrupt(t, "the sidecar to receive the archive",
				func() bool { return receiving(s.Sidecar.TempDir, 1<<20) }, srv.Proc.Kill)
			settle(t, "crash while copying the archive", killed)
			assertTree(t, dataDir, griefed, "as it was before the restore")
			assertNoTempFiles(t, s.Sidecar)
		})
		t.Run("a server killed while the sidecar extracts", func(t *testing.T) {
			killedWhileExtracting(t, "crash while extracting", "the sidecar to extract", func() bool { return extracting(dataDir) })
		})
	} else {
		t.Run("a server killed while the archive streams into the extraction", func(t *testing.T) {
			killedWhileExtracting(t, "crash mid-stream", "the sidecar to extract a first MiB",
				func() bool { return extractingMore(dataDir, 1<<20) })
		})
	}

	t.Run("a server and its sidecar killed while extracting", func(t *testing.T) {
		killed := interrupt(t, "the sidecar to extract", func() bool { return extracting(dataDir) }, func() {
			// Killed one after the other, the sidecar would see the server's
			// connection close and clean up in the milliseconds before its own
			// kill; frozen first, it crashes with the server.
			s.Sidecar.Proc.Freeze()
			srv.Proc.Kill()
			s.Sidecar.Proc.Kill()
		})
		if len(reservedIn(dataDir)) == 0 || (path.staged && len(entries(t, s.Sidecar.TempDir)) == 0) {
			t.Fatalf("the killed sidecar left nothing behind (data: %v, temp: %v): the kill missed the extraction",
				reservedIn(dataDir), entries(t, s.Sidecar.TempDir))
		}
		t.Logf("left by the killed sidecar: %v in the data directory, %v in its temp directory",
			reservedIn(dataDir), entries(t, s.Sidecar.TempDir))
		s.Sidecar.Start(t)
		// Before any server is back: the sidecar cleaned up by itself.
		assertNoTempFiles(t, s.Sidecar)
		poll(t, time.Minute, "the restarted sidecar to remove the staging directory", s.Sidecar.Proc, func() bool { return len(reservedIn(dataDir)) == 0 })
		assertTree(t, dataDir, griefed, "as it was before the restore")
		settle(t, "crash of server and sidecar while extracting", killed)
		assertTree(t, dataDir, griefed, "as it was before the restore")
	})

	t.Run("a retry restores the backup", func(t *testing.T) {
		start := time.Now()
		restoreDone(t, srv, b.ID)
		logTiming(t, "restore of the world", time.Since(start))
		assertTree(t, dataDir, original, "the backup's")
		assertNoTempFiles(t, s.Sidecar)
		if left := reservedIn(dataDir); len(left) != 0 {
			t.Errorf("the restore left %v in the data directory", left)
		}
		s.assertBucketHoldsOnly(t, key(t, srv, b.ID))
	})
}

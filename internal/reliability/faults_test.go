package reliability_test

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// TestSidecarKilledMidCreate kills the sidecar while it streams the archive:
// the backup fails at once with a readable error, the partial upload is
// aborted, and once the sidecar is back a new backup succeeds.
func TestSidecarKilledMidCreate(t *testing.T) {
	t.Parallel()
	dataDir, tree := sharedWorld(t)
	s := newStack(t, dataDir)
	srv := s.Server

	c := s.createUploading(t, srv, "the sidecar dies")
	s.Sidecar.Proc.Kill()
	killed := time.Now()

	v, settled := waitSettled(t, srv, c.ID, operationTimeout)
	logTiming(t, "sidecar killed mid-create: kill to failed", settled.Sub(killed))
	if v.Status != "failed" {
		t.Fatalf("after the sidecar died the backup is %s, want failed", describe(v))
	}
	assertReadable(t, e2e.ErrorText(v), "Backup failed: ", "game server")
	s.assertBucketHoldsOnly(t)

	s.Sidecar.Start(t)
	again := createReady(t, srv, "the sidecar is back")
	assertArchiveHolds(t, srv, again, tree)
	assertNoTempFiles(t, s.Sidecar)
}

// TestSidecarKilledMidRestore kills the sidecar while the archive streams into
// its extraction, and on the staged path while it receives the archive and
// while it extracts it: each time the backup is ready again with a readable
// error, and once the sidecar is back (and has cleaned up after itself) the data
// directory is as it was before the restore; then a retry restores the backup.
func TestSidecarKilledMidRestore(t *testing.T) {
	t.Parallel()
	for _, path := range restorePaths {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			testSidecarKilledMidRestore(t, path)
		})
	}
}

func testSidecarKilledMidRestore(t *testing.T, path restorePath) {
	dataDir, original := ownWorld(t)
	s := newStack(t, dataDir, path.sidecarArgs...)
	srv := s.Server
	b := createReady(t, srv, "before the griefing")
	griefed := grief(t, dataDir)

	type phase struct {
		name, phaseName string
		phase           func() bool
		says            string
	}
	phases := []phase{{"while the archive streams into the extraction", "the sidecar to extract a first MiB",
		func() bool { return extractingMore(dataDir, 1<<20) }, "your server files were not changed"}}
	if path.staged {
		phases = []phase{
			{"while receiving the archive", "the sidecar to receive the archive",
				func() bool { return receiving(s.Sidecar.TempDir, 1<<20) }, "copying the archive"},
			{"while extracting", "the sidecar to extract",
				func() bool { return extracting(dataDir) }, "your server files were not changed"},
		}
	}
	for _, tc := range phases {
		t.Run("a sidecar killed "+tc.name+" leaves the data directory as it was", func(t *testing.T) {
			restore(t, srv, b.ID)
			poll(t, operationTimeout, tc.phaseName, s.Sidecar.Proc, tc.phase)
			s.Sidecar.Proc.Kill()
			killed := time.Now()
			t.Logf("left by the killed sidecar: %v in the data directory, %v in its temp directory",
				reservedIn(dataDir), entries(t, s.Sidecar.TempDir))

			v, settled := waitSettled(t, srv, b.ID, operationTimeout)
			logTiming(t, "sidecar killed "+tc.name+": kill to ready with error", settled.Sub(killed))
			if v.Status != "ready" || v.LastRestoredAt != nil {
				t.Fatalf("after the sidecar died the backup is %s (last restored %v), want ready and never restored", describe(v), v.LastRestoredAt)
			}
			assertReadable(t, e2e.ErrorText(v), "Restore failed: ", tc.says)

			s.Sidecar.Start(t)
			poll(t, time.Minute, "the restarted sidecar to remove the staging directory", s.Sidecar.Proc, func() bool { return len(reservedIn(dataDir)) == 0 })
			assertTree(t, dataDir, griefed, "as it was before the restore")
			assertNoTempFiles(t, s.Sidecar)
		})
	}

	t.Run("a retry restores the backup once the sidecar is back", func(t *testing.T) {
		restoreDone(t, srv, b.ID)
		assertTree(t, dataDir, original, "the backup's")
		assertNoTempFiles(t, s.Sidecar)
	})
}

// deadEndpoint holds a stopped server's port and hangs up on every connection,
// keeping the first line of each request: the requests a client sends to a dead
// server, which a test can wait for.
type deadEndpoint struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	wg    sync.WaitGroup
}

func holdPort(t *testing.T, addr string) *deadEndpoint {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("holding the stopped server's port %s: %v", addr, err)
	}
	d := &deadEndpoint{ln: ln}
	d.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Go(func() {
				defer c.Close() // unread data makes this a reset
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				d.mu.Lock()
				d.lines = append(d.lines, strings.TrimSpace(line))
				d.mu.Unlock()
			})
		}
	})
	t.Cleanup(d.close)
	return d
}

// saw reports whether a request line matched.
func (d *deadEndpoint) saw(match func(string) bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lines {
		if match(l) {
			return true
		}
	}
	return false
}

func (d *deadEndpoint) close() {
	d.ln.Close()
	d.wg.Wait()
}

// TestS3StoppedMidUpload stops the S3 server while a backup streams into it. The
// server keeps trying until it gives up on the parts and sends the abort; the
// storage comes back then, the abort goes through, and the backup fails with a
// readable error, leaving no object and no open upload; a new backup succeeds.
func TestS3StoppedMidUpload(t *testing.T) {
	t.Parallel()
	dataDir, tree := sharedWorld(t)
	s := newStack(t, dataDir)
	srv := s.Server

	c := s.createUploading(t, srv, "the storage dies")
	if err := s.S3.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	u, err := url.Parse(s.S3.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// While it is down, the port hangs up on every request; once the abort of
	// the upload arrives, the storage comes back.
	dead := holdPort(t, u.Host)
	poll(t, 2*time.Minute, "the server to abort the upload", srv.Proc, func() bool {
		return dead.saw(func(l string) bool { return strings.HasPrefix(l, "DELETE ") && strings.Contains(l, "uploadId=") })
	})
	logTiming(t, "S3 stopped mid-upload: stop to the first abort request", time.Since(stopped))
	dead.close()
	if err := s.S3.Start(); err != nil {
		t.Fatal(err)
	}

	v, settled := waitSettled(t, srv, c.ID, operationTimeout)
	logTiming(t, "S3 stopped mid-upload: stop to failed", settled.Sub(stopped))
	if v.Status != "failed" {
		t.Fatalf("after the storage died the backup is %s, want failed", describe(v))
	}
	assertReadable(t, e2e.ErrorText(v), "Backup failed: ", "storage")
	s.assertBucketHoldsOnly(t)
	// The upload's own abort, retried until the storage was back, removed it.
	if !strings.Contains(srv.Proc.Output(), "s3: aborted multipart upload") {
		t.Errorf("the server never logged aborting the upload")
	}

	again := createReady(t, srv, "the storage is back")
	assertArchiveHolds(t, srv, again, tree)
	s.assertBucketHoldsOnly(t, key(t, srv, again.ID))
}

// TestS3StoppedMidDownload stops the S3 server while a restore downloads the
// archive, on both restore paths: the backup is ready again with a readable
// error, the data directory and the sidecar's temp directory are as before,
// nothing staged is left, and once the storage is back a retry restores the
// backup.
func TestS3StoppedMidDownload(t *testing.T) {
	t.Parallel()
	for _, path := range restorePaths {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			testS3StoppedMidDownload(t, path)
		})
	}
}

func testS3StoppedMidDownload(t *testing.T, path restorePath) {
	dataDir, original := ownWorld(t)
	s := newStack(t, dataDir, path.sidecarArgs...)
	srv := s.Server
	b := createReady(t, srv, "before the griefing")
	griefed := grief(t, dataDir)

	restore(t, srv, b.ID)
	if path.staged {
		poll(t, operationTimeout, "the sidecar to receive the archive", srv.Proc, func() bool { return receiving(s.Sidecar.TempDir, 1<<20) })
	} else {
		poll(t, operationTimeout, "the sidecar to extract a first MiB", srv.Proc, func() bool { return extractingMore(dataDir, 1<<20) })
	}
	if err := s.S3.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	v, settled := waitSettled(t, srv, b.ID, operationTimeout)
	logTiming(t, "S3 stopped mid-download: stop to ready with error", settled.Sub(stopped))
	if v.Status != "ready" || v.LastRestoredAt != nil {
		t.Fatalf("after the storage died the backup is %s (last restored %v), want ready and never restored", describe(v), v.LastRestoredAt)
	}
	assertReadable(t, e2e.ErrorText(v), "Restore failed: ", "storage", "your server files were not changed")
	poll(t, time.Minute, "the sidecar to remove its staging directory", s.Sidecar.Proc, func() bool { return len(reservedIn(dataDir)) == 0 })
	assertTree(t, dataDir, griefed, "as it was before the restore")
	assertNoTempFiles(t, s.Sidecar)

	if err := s.S3.Start(); err != nil {
		t.Fatal(err)
	}
	restoreDone(t, srv, b.ID)
	assertTree(t, dataDir, original, "the backup's")
}

// harass terminates the PostgreSQL connections of the stack's servers (and
// only theirs: their application_name) every 100 ms until stop is called,
// which returns how many it terminated.
func (s *stack) harass(t *testing.T) (stop func() int) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	terminated := 0
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			rows, err := s.pool.Query(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`, s.AppName)
			if err == nil {
				for rows.Next() {
					var ok bool
					if rows.Scan(&ok) == nil && ok {
						terminated++
					}
				}
				rows.Close()
			}
			cancel()
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return terminated
	}
}

// TestPostgresConnectionsTerminated has PostgreSQL terminate the server's
// connections every 100 ms while a create and then a restore run. Each ends in
// a final state (the pool reconnects, or the failure is recorded, or recovery
// settles it once the database answers again) — never stuck — a failure reads
// well, the restore leaves the data directory either as it was or as the backup
// holds it, never between, and the operations succeed once the fault is gone.
func TestPostgresConnectionsTerminated(t *testing.T) {
	t.Parallel()
	dataDir, original := ownWorld(t)
	s := newStack(t, dataDir)
	srv := s.Server

	// underFault runs an operation already accepted on id while the server's
	// connections are terminated, until it settles or for at most 10 s, then
	// waits for its final state with the database healthy again.
	underFault := func(t *testing.T, id, what string) (v sphttp.BackupView) {
		t.Helper()
		stop := s.harass(t)
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			if got, ok := get(srv, id); ok && got.Status != "creating" && got.Status != "restoring" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		n := stop()
		healed := time.Now()
		t.Logf("terminated %d of the server's connections during the %s", n, what)
		if n == 0 {
			t.Fatalf("no connection of the server was terminated: the fault never happened")
		}
		v, settled := waitSettled(t, srv, id, settleBound+operationTimeout)
		logTiming(t, what+" with connections terminated: end of the fault to "+v.Status, settled.Sub(healed))
		return v
	}

	t.Run("a create ends ready, or failed with a readable error", func(t *testing.T) {
		c := srv.Client.Create(t, srv.Order, srv.Provision, "the database hangs up")
		v := underFault(t, c.ID, "create")
		switch v.Status {
		case "ready":
			assertArchiveHolds(t, srv, v, original)
		case "failed":
			assertReadable(t, e2e.ErrorText(v), "Backup failed: ")
		default:
			t.Fatalf("the create ended %s", describe(v))
		}
		t.Logf("the create ended %s", describe(v))
	})

	b := createReady(t, srv, "before the griefing")
	griefed := grief(t, dataDir)

	t.Run("a restore ends ready, with the data directory either untouched or restored", func(t *testing.T) {
		restore(t, srv, b.ID)
		v := underFault(t, b.ID, "restore")
		t.Logf("the restore ended %s", describe(v))
		if v.Status != "ready" {
			t.Fatalf("the restore ended %s, want ready", describe(v))
		}
		if v.Error != nil {
			assertReadable(t, e2e.ErrorText(v), "Restore failed: ")
		}
		now := snapshot(t, dataDir)
		if e2e.Diff(griefed, now, 1) != nil && e2e.Diff(original, now, 1) != nil {
			t.Errorf("the data directory is neither as it was nor as the backup holds it:\nagainst before: %v\nagainst the backup: %v",
				e2e.Diff(griefed, now, 5), e2e.Diff(original, now, 5))
		}
		switch {
		case v.Error == nil:
			assertTree(t, dataDir, original, "the backup's, after a restore that reported success")
		case strings.Contains(*v.Error, "not changed"):
			assertTree(t, dataDir, griefed, "as it was, as the error promises")
		}
		assertNoTempFiles(t, s.Sidecar)
	})

	t.Run("once the fault is gone the order takes a backup and a restore", func(t *testing.T) {
		createReady(t, srv, "the database is back")
		restoreDone(t, srv, b.ID)
		assertTree(t, dataDir, original, "the backup's")
	})
}

// TestCorruptedArchive flips one byte of a stored archive on the S3 server's
// disk, on both restore paths: the backup is ready again with an error saying
// the archive is damaged, the data directory is as it was and nothing staged is
// left (staged, the restore stops before extracting: not even a staging
// directory is made); with the byte put back a retry restores the backup.
func TestCorruptedArchive(t *testing.T) {
	t.Parallel()
	for _, path := range restorePaths {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			testCorruptedArchive(t, path)
		})
	}
}

func testCorruptedArchive(t *testing.T, path restorePath) {
	dataDir, original := ownWorld(t)
	s := newStack(t, dataDir, path.sidecarArgs...)
	srv := s.Server
	b := createReady(t, srv, "soon damaged")
	griefed := grief(t, dataDir)

	file := s.objectFile(key(t, srv, b.ID))
	flip := func() {
		t.Helper()
		f, err := os.OpenFile(file, os.O_RDWR, 0)
		if err != nil {
			t.Fatalf("opening the stored archive on the S3 server's disk: %v", err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		at := info.Size() / 2
		one := make([]byte, 1)
		if _, err := f.ReadAt(one, at); err != nil {
			t.Fatal(err)
		}
		one[0] ^= 0x01
		if _, err := f.WriteAt(one, at); err != nil {
			t.Fatal(err)
		}
	}
	flip()
	untouched := ctime(t, dataDir)

	restore(t, srv, b.ID)
	v, _ := waitSettled(t, srv, b.ID, operationTimeout)
	if v.Status != "ready" || v.LastRestoredAt != nil {
		t.Fatalf("the restore of a damaged archive ended %s (last restored %v), want ready and never restored", describe(v), v.LastRestoredAt)
	}
	assertReadable(t, e2e.ErrorText(v), "Restore failed: ", "damaged", "your server files were not changed")
	// Staged, the archive is checked before it is extracted: not even a staging
	// directory is made in the data directory. Streamed, it is checked as it is
	// extracted, and the staging directory is gone before the answer.
	const extractCall = "FileIO/ExtractTo"
	if path.staged {
		if got := ctime(t, dataDir); !got.Equal(untouched) {
			t.Errorf("the data directory was touched (its change time moved from %v to %v): the archive reached extraction", untouched, got)
		}
		if strings.Contains(s.Sidecar.Proc.Output(), extractCall) {
			t.Errorf("the sidecar was asked to extract the damaged archive")
		}
	}
	if left := reservedIn(dataDir); len(left) != 0 {
		t.Errorf("the refused restore left %v in the data directory", left)
	}
	assertTree(t, dataDir, griefed, "as it was before the restore")
	assertNoTempFiles(t, s.Sidecar)

	flip()
	restoreDone(t, srv, b.ID)
	assertTree(t, dataDir, original, "the backup's")
	if path.staged && !strings.Contains(s.Sidecar.Proc.Output(), extractCall) {
		t.Errorf("the sidecar's log never mentions %s, so its absence above proved nothing", extractCall)
	}
}

package backup_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// backedUpThenChanged makes a ready backup of the game server's data on svc,
// then changes the data as a game server that keeps running does. It returns
// the backup and the files it holds: what a restore must bring back.
func (tw *twin) backedUpThenChanged(svc *backup.Service) (ports.Backup, map[string]string) {
	tw.t.Helper()
	writeFile(tw.t, filepath.Join(tw.data, "world", "region.mca"), string(archive(64<<10)))
	b, err := svc.CreateBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{Name: "Before the update"})
	must(tw.t, err)
	if b = tw.settled(b.ID); b.Status != ports.StatusReady {
		tw.t.Fatalf("backup ended %s: %s", b.Status, b.Error)
	}
	files := tw.dataFiles()
	writeFile(tw.t, filepath.Join(tw.data, "world", "level.dat"), "the world moved on")
	writeFile(tw.t, filepath.Join(tw.data, "built-after-the-backup.dat"), "new")
	return b, files
}

// assertFiles fails unless the data directory holds exactly want.
func (tw *twin) assertFiles(want map[string]string, what string) {
	tw.t.Helper()
	if got := tw.dataFiles(); !maps.Equal(got, want) {
		tw.t.Fatalf("the data directory holds %d files, not %s (%d files)", len(got), what, len(want))
	}
}

// sameArchive fails if got no longer records the archive b recorded.
func sameArchive(t *testing.T, got, b ports.Backup) {
	t.Helper()
	if got.AssetID != b.AssetID || got.SHA256 != b.SHA256 || got.SizeBytes != b.SizeBytes || !got.CompletedAt.Equal(b.CompletedAt) {
		t.Fatalf("a restore changed the archive's record: %+v, was %+v", got, b)
	}
}

func TestRestoreStreamsTheArchiveToTheSidecar(t *testing.T) {
	tw := newTwin(t)
	b, backedUp := tw.backedUpThenChanged(tw.svc)
	restoredAt := fixedNow.Add(2 * time.Hour)
	tw.clock.Set(restoredAt)

	accepted, err := tw.restore(b)
	must(t, err)
	if accepted.Status != ports.StatusRestoring {
		t.Fatalf("RestoreBackup returned status %s, want restoring", accepted.Status)
	}
	got := tw.settled(b.ID)

	if got.Status != ports.StatusReady || got.Error != "" || !got.LastRestoredAt.Equal(restoredAt) {
		t.Fatalf("backup after a successful restore: %+v", got)
	}
	sameArchive(t, got, b)
	tw.assertFiles(backedUp, "the backup's")
	tw.shutdown() // the staged archive is removed after the backup is ready again
	if left := tw.tempFiles(); len(left) != 0 {
		t.Fatalf("the staged archive was not removed: %v", left)
	}
}

func TestRestoreUsesTheConfiguredDirectories(t *testing.T) {
	var data, scratch string
	tw := newTwin(t, func(c *twinConfig) {
		c.stagedRestore = true // the temp directory is used on the staged path only
		c.opts = func(o *backup.Options) {
			data, scratch = o.DataDir+"-srv", o.TempDir+"-scratch"
			o.DataDir, o.TempDir = data, scratch
		}
	})
	must(t, os.MkdirAll(scratch, 0o755))
	writeFile(t, filepath.Join(data, "server.properties"), "motd=before")
	b := tw.ready("of the configured directory")
	writeFile(t, filepath.Join(data, "server.properties"), "motd=after")
	staged := make(chan []string, 1)
	tw.inject("FileIO.ExtractTo", fault{do: func(context.Context) error {
		names, err := dirNames(scratch)
		staged <- names
		return err
	}})

	_, err := tw.restore(b)
	must(t, err)
	if got := tw.settled(b.ID); got.Status != ports.StatusReady || got.Error != "" {
		t.Fatalf("backup %+v", got)
	}
	if got, want := <-staged, "restore-"+b.ID.String()+".tar.gz"; len(got) != 1 || got[0] != want {
		t.Fatalf("the archive was staged as %v, want %s in the configured temp directory", got, want)
	}
	if content, err := os.ReadFile(filepath.Join(data, "server.properties")); err != nil || string(content) != "motd=before" {
		t.Fatalf("the configured data directory holds %q, %v; want it restored", content, err)
	}
	tw.shutdown()
	if names, err := dirNames(scratch); err != nil || len(names) != 0 {
		t.Fatalf("the configured temp directory holds %v, %v", names, err)
	}
}

// restoreFailure is a restore whose background half fails at one step.
type restoreFailure struct {
	name string
	// only: the restore path the step belongs to ("streamed" or "staged");
	// empty for both.
	only      string
	setup     func(tw *twin, b ports.Backup)
	wantError string
	// extracted: the step that fails comes after the files were restored.
	extracted bool
}

func restoreFailures() []restoreFailure {
	inject := func(method string, ft fault) func(tw *twin, b ports.Backup) {
		return func(tw *twin, _ ports.Backup) { tw.inject(method, ft) }
	}
	// replaceArchive changes the stored archive behind the service's back.
	replaceArchive := func(change func([]byte) []byte) func(tw *twin, b ports.Backup) {
		return func(tw *twin, b ports.Backup) {
			data := change(tw.archiveBytes(b))
			must(tw.t, tw.objects.Put(context.Background(), backup.ObjectKey(b.OrderID, b.ID), bytes.NewReader(data)))
		}
	}
	const unchanged = "; your server files were not changed"
	return []restoreFailure{
		{name: "the archive's asset cannot be read", setup: inject("Assets.GetAsset", fault{err: errInfra}),
			wantError: "Restore failed: the backup's archive record could not be read"},
		{name: "the sidecar cannot be reached", setup: inject("Sidecars.Dial", fault{err: errSidecar}),
			wantError: "Restore failed: could not reach the game server's file service"},
		{name: "the archive cannot be read from storage",
			setup: func(tw *twin, b ports.Backup) {
				must(tw.t, tw.objects.Delete(context.Background(), backup.ObjectKey(b.OrderID, b.ID)))
			},
			wantError: "Restore failed: downloading the archive from storage failed"},
		{name: "the storage stream breaks mid-transfer", setup: inject("Objects.Get", fault{cut: 4096, err: errInfra}),
			wantError: "Restore failed: downloading the archive from storage failed" + unchanged},
		{name: "the storage stream ends early", setup: inject("Objects.Get", fault{cut: 4096, err: io.ErrUnexpectedEOF}),
			wantError: "Restore failed: downloading the archive from storage failed" + unchanged},
		{name: "the sidecar cannot write the temp file", only: "staged", setup: inject("FileIO.WriteFile", fault{cut: 100, err: errSidecar}),
			wantError: "Restore failed: copying the archive to the game server failed" + unchanged},
		{name: "the sidecar refuses the stream", only: "streamed", setup: inject("FileIO.RestoreArchive", fault{err: errSidecar}),
			wantError: "Restore failed: restoring the archive on the game server failed" + unchanged},
		{name: "the stream to the sidecar breaks", only: "streamed", setup: inject("FileIO.RestoreArchive", fault{cut: 100 << 10, err: errSidecar}),
			wantError: "Restore failed: restoring the archive on the game server failed" + unchanged},
		{name: "the archive's checksum does not match",
			setup:     replaceArchive(func(data []byte) []byte { data[len(data)/2] ^= 0x01; return data }),
			wantError: "Restore failed: the stored archive is damaged (its checksum does not match)" + unchanged},
		{name: "the archive is shorter than recorded", setup: replaceArchive(func(data []byte) []byte { return data[:len(data)-1] }),
			wantError: "Restore failed: the stored archive is damaged (its checksum does not match)" + unchanged},
		{name: "the archive is longer than recorded", setup: replaceArchive(func(data []byte) []byte { return append(data, 0) }),
			wantError: "Restore failed: the stored archive is damaged (its checksum does not match)" + unchanged},
		{name: "extraction fails", only: "staged", setup: inject("FileIO.ExtractTo", fault{err: errSidecar}),
			wantError: "Restore failed: extracting the archive failed" + unchanged},
		{name: "the sidecar panics while restoring", only: "streamed", setup: inject("FileIO.RestoreArchive", fault{do: func(context.Context) error { panic("nil pointer dereference") }}),
			wantError: "Restore failed: an internal error stopped the operation"},
		{name: "the sidecar panics while extracting", only: "staged", setup: inject("FileIO.ExtractTo", fault{do: func(context.Context) error { panic("nil pointer dereference") }}),
			wantError: "Restore failed: an internal error stopped the operation"},
		// After the update to restoring: the first try and three retries.
		{name: "recording the finished restore fails", setup: inject("Repository.Update", fault{err: errInfra, after: 1, times: 4}),
			wantError: "Restore failed: recording it failed after your server files were restored", extracted: true},
	}
}

// TestRestoreFailures makes each background step of a restore fail in turn. A
// failed restore returns the backup to ready (its archive is intact) with an
// Error that says the restore failed, leaves the server's files as they were
// unless they were already restored, removes the sidecar's temp file and frees
// the order.
func TestRestoreFailures(t *testing.T) {
	t.Parallel() // with the other table of failures: both wait through retries
	for _, path := range []string{"streamed", "staged"} {
		for _, tc := range restoreFailures() {
			if tc.only == "" || tc.only == path {
				t.Run(path+"/returns the backup to ready when "+tc.name, func(t *testing.T) {
					t.Parallel()
					testRestoreFailure(t, tc, path == "staged")
				})
			}
		}
	}
}

func testRestoreFailure(t *testing.T, tc restoreFailure, staged bool) {
	tw := newTwin(t, func(c *twinConfig) { c.stagedRestore = staged })
	b, backedUp := tw.backedUpThenChanged(tw.svc)
	current := tw.dataFiles()
	tc.setup(tw, b)

	_, err := tw.restore(b)
	must(t, err)
	got := tw.settled(b.ID)

	if got.Status != ports.StatusReady || got.Error != tc.wantError {
		t.Fatalf("ended %s %q, want ready %q", got.Status, got.Error, tc.wantError)
	}
	sameArchive(t, got, b)
	if !got.LastRestoredAt.IsZero() {
		t.Fatalf("a failed restore is recorded as done at %v", got.LastRestoredAt)
	}
	if tc.extracted {
		tw.assertFiles(backedUp, "the backup's")
	} else {
		tw.assertFiles(current, "the ones before the restore")
	}
	if left := tw.tempFiles(); len(left) != 0 {
		t.Fatalf("the sidecar's temp directory holds %v", left)
	}
	must(t, tw.svc.EnsureNoActiveOperation(context.Background(), tw.order.ID))
}

func TestRestoreCanBeRetriedAfterAFailure(t *testing.T) {
	tw := newTwin(t)
	b, backedUp := tw.backedUpThenChanged(tw.svc)
	tw.inject("FileIO.RestoreArchive", fault{err: errSidecar, times: 1})
	_, err := tw.restore(b)
	must(t, err)
	if got := tw.settled(b.ID); got.Error == "" {
		t.Fatal("the first restore did not fail")
	}

	_, err = tw.restore(b)
	must(t, err)
	if got := tw.settled(b.ID); got.Status != ports.StatusReady || got.Error != "" || got.LastRestoredAt.IsZero() {
		t.Fatalf("backup after a successful retry: %+v", got)
	}
	tw.assertFiles(backedUp, "the backup's")
}

// TestRestoreRemovesItsStagedArchiveBeforeItIsReady: once a restore records
// the backup ready, a new restore of it may stage its archive under the same
// path at once, so the finished one must have removed its own by then.
func TestRestoreRemovesItsStagedArchiveBeforeItIsReady(t *testing.T) {
	tw := newTwin(t)
	b := tw.ready("Before the update")
	var atRecord []string
	tw.inject("Repository.Update", fault{do: func(context.Context) error {
		names, err := dirNames(tw.tmp)
		if err == nil {
			atRecord = names
		}
		return nil // the write goes through
	}})
	if _, err := tw.restore(b); err != nil {
		t.Fatal(err)
	}
	if got := tw.settled(b.ID); got.Status != ports.StatusReady || got.Error != "" {
		t.Fatalf("the restore ended %s %q", got.Status, got.Error)
	}
	if slices.ContainsFunc(atRecord, func(name string) bool { return strings.HasPrefix(name, "restore-") }) {
		t.Fatalf("when the restore was recorded the temp directory still held %v", atRecord)
	}
}

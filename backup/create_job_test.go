package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// errSidecar is the sidecar refusing a call.
var errSidecar = fmt.Errorf("rpc: %w: disk quota exceeded", ports.ErrCluster)

// archiveBytes returns the backup's archive as the object store holds it.
func (tw *twin) archiveBytes(b ports.Backup) []byte {
	tw.t.Helper()
	rc, _, err := tw.objects.Get(context.Background(), backup.ObjectKey(b.OrderID, b.ID), nil)
	must(tw.t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	must(tw.t, err)
	return data
}

// dataFiles returns the files of the game server's data directory, by their
// path in an archive.
func (tw *twin) dataFiles() map[string]string {
	tw.t.Helper()
	files := map[string]string{}
	must(tw.t, filepath.WalkDir(tw.data, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		content, err := os.ReadFile(path)
		rel, _ := filepath.Rel(tw.data, path)
		files[filepath.ToSlash(rel)] = string(content)
		return err
	}))
	return files
}

// download opens the backup's archive as its owner would download it.
func (tw *twin) download(b ports.Backup) *backup.Download {
	tw.t.Helper()
	d, err := tw.svc.Download(context.Background(), tw.owner, b.AssetID)
	must(tw.t, err)
	return d
}

func TestCreateStreamsTheArchiveIntoStorage(t *testing.T) {
	tw := newTwin(t)
	writeFile(t, filepath.Join(tw.data, "world", "region.mca"), string(archive(300<<10)))

	b := tw.ready("Before the update")

	if b.Error != "" || !b.CompletedAt.Equal(fixedNow) || b.AssetID != ports.ArchiveAssetID(b.ID) {
		t.Fatalf("backup after a successful create: %+v", b)
	}
	data := tw.archiveBytes(b)
	if b.SizeBytes != int64(len(data)) || b.SHA256 != sha256Hex(data) {
		t.Fatalf("recorded size %d sha256 %s, but storage holds %d bytes with sha256 %s", b.SizeBytes, b.SHA256, len(data), sha256Hex(data))
	}
	d := tw.download(b)
	want := ports.Asset{
		ID: b.AssetID, OwnerID: tw.owner, Key: backup.ObjectKey(tw.order.ID, b.ID),
		FileName: "Before the update.tar.gz", ContentType: "application/gzip",
		SizeBytes: int64(len(data)), SHA256: sha256Hex(data), CreatedAt: fixedNow,
	}
	if d.Asset != want {
		t.Fatalf("asset %+v, want %+v", d.Asset, want)
	}
	if got := archiveFiles(t, d); !maps.Equal(got, tw.dataFiles()) {
		t.Fatalf("the archive holds %d files that differ from the %d of the data directory", len(got), len(tw.dataFiles()))
	}
	// Streaming writes nothing to the pod's disk.
	if left := tw.tempFiles(); len(left) != 0 {
		t.Fatalf("the sidecar's temp directory holds %v", left)
	}
}

func TestCreateFallsBackToATempFileWhenTheSidecarCannotStream(t *testing.T) {
	// A mock is needed here: the default directories are paths in a game
	// server's pod, which the twin's sidecar cannot be given.
	t.Run("stages the archive in /tmp by default", func(t *testing.T) {
		f := newFixture(t)
		data := archive(1000)
		temp := gomock.Cond(func(p string) bool { return p == "/tmp/backup-"+f.createdID().String()+".tar.gz" })
		f.expectCreateAccepted()
		f.expectDial()
		f.fio.EXPECT().StreamArchive(gomock.Any(), []string{"/data"}, gomock.Any()).Return(nil, fmt.Errorf("sidecar v1: %w", ports.ErrUnsupported))
		gomock.InOrder(
			f.fio.EXPECT().CompressFiles(gomock.Any(), []string{"/data"}, temp, gomock.Any()).Return(ports.ArchiveReport{}, nil),
			f.fio.EXPECT().ReadFile(gomock.Any(), temp).Return(io.NopCloser(bytes.NewReader(data)), nil),
			f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&bytes.Buffer{})),
			f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil),
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).Return(nil),
			f.fio.EXPECT().DeleteFile(gomock.Any(), temp).Return(nil),
		)
		f.create()
		f.wait()
	})
	t.Run("uses the configured directories", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.noStreaming = true })
		staged := make(chan []string, 1)
		tw.inject("FileIO.ReadFile", fault{do: func(context.Context) error {
			names, err := dirNames(tw.tmp)
			staged <- names
			return err
		}})
		b := tw.ready("Before the update")
		if got, want := <-staged, "backup-"+b.ID.String()+".tar.gz"; len(got) != 1 || got[0] != want {
			t.Fatalf("the sidecar staged %v, want %s in the temp directory", got, want)
		}
		if got := archiveFiles(t, tw.download(b)); !maps.Equal(got, tw.dataFiles()) {
			t.Fatalf("the archive holds %v, want the data directory's %v", got, tw.dataFiles())
		}
		if data := tw.archiveBytes(b); b.SizeBytes != int64(len(data)) || b.SHA256 != sha256Hex(data) {
			t.Fatalf("recorded size %d sha256 %s for %d stored bytes", b.SizeBytes, b.SHA256, len(data))
		}
		tw.shutdown() // the staged archive is removed after the backup is ready
		if left := tw.tempFiles(); len(left) != 0 {
			t.Fatalf("the staged archive was not removed: %v", left)
		}
	})
}

// createFailure is a create whose background half fails at one step.
type createFailure struct {
	name string
	// staged: the sidecar cannot stream, so the archive is staged in a temp file.
	staged    bool
	faults    map[string]fault
	wantError string
}

func createFailures() []createFailure {
	panics := func(v any) func(context.Context) error { return func(context.Context) error { panic(v) } }
	updateFails := map[string]fault{"Repository.Update": {err: errInfra, times: 4}} // the first try and three retries
	return []createFailure{
		{name: "the sidecar cannot be reached", faults: map[string]fault{"Sidecars.Dial": {err: errSidecar}},
			wantError: "Backup failed: could not reach the game server's file service"},
		{name: "the sidecar refuses to stream the archive", faults: map[string]fault{"FileIO.StreamArchive": {err: errSidecar}},
			wantError: "Backup failed: compressing the server files failed"},
		{name: "the archive stream breaks mid-upload", faults: map[string]fault{"FileIO.StreamArchive": {cut: 4096, err: errSidecar}},
			wantError: "Backup failed: reading the archive from the game server failed"},
		{name: "the upload fails", faults: map[string]fault{"Objects.Put": {cut: 1000, err: fmt.Errorf("multipart: %w", errInfra)}},
			wantError: "Backup failed: uploading the archive to storage failed"},
		{name: "the store reports success although the stream broke",
			faults:    map[string]fault{"FileIO.StreamArchive": {cut: 4096, err: errSidecar}, "Objects.Put": {careless: true}},
			wantError: "Backup failed: reading the archive from the game server failed"},
		{name: "recording the asset fails", faults: map[string]fault{"Assets.CreateAsset": {err: errInfra}},
			wantError: "Backup failed: recording the download failed"},
		{name: "recording the finished backup fails", faults: updateFails,
			wantError: "Backup failed: recording the finished backup failed"},
		{name: "the sidecar panics", faults: map[string]fault{"FileIO.StreamArchive": {do: panics("index out of range in the gRPC client")}},
			wantError: "Backup failed: an internal error stopped the operation"},
		{name: "the asset store panics after the upload", faults: map[string]fault{"Assets.CreateAsset": {made: true, do: panics("nil map")}},
			wantError: "Backup failed: an internal error stopped the operation"},
		// The sidecar wrote the temp file before its answer was lost.
		{name: "compressing to the temp file fails", staged: true, faults: map[string]fault{"FileIO.CompressFiles": {made: true, err: errSidecar}},
			wantError: "Backup failed: compressing the server files failed"},
		{name: "reading the temp file fails", staged: true, faults: map[string]fault{"FileIO.ReadFile": {err: errSidecar}},
			wantError: "Backup failed: reading the archive from the game server failed"},
		{name: "the temp file's stream breaks mid-upload", staged: true, faults: map[string]fault{"FileIO.ReadFile": {cut: 10000, err: errSidecar}},
			wantError: "Backup failed: reading the archive from the game server failed"},
		{name: "the upload of the temp file fails", staged: true, faults: map[string]fault{"Objects.Put": {err: errInfra}},
			wantError: "Backup failed: uploading the archive to storage failed"},
		{name: "recording the finished backup of the temp file fails", staged: true, faults: updateFails,
			wantError: "Backup failed: recording the finished backup failed"},
		{name: "the upload fails and so does removing the partial archive",
			faults:    map[string]fault{"Objects.Put": {made: true, err: errInfra}, "Objects.Delete": {err: errInfra}},
			wantError: "Backup failed: uploading the archive to storage failed"},
	}
}

// TestCreateFailures makes each background step of a create fail in turn. Every
// case must end failed with the customer-readable reason, leave no archive,
// asset or staged file behind (unless removing it failed too), and free the
// order for the next operation.
func TestCreateFailures(t *testing.T) {
	t.Parallel() // with the other table of failures: both wait through retries
	for _, tc := range createFailures() {
		t.Run("ends failed when "+tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTwin(t, func(c *twinConfig) { c.noStreaming = tc.staged })
			writeFile(t, filepath.Join(tw.data, "world", "region.mca"), string(archive(64<<10)))
			for method, ft := range tc.faults {
				tw.inject(method, ft)
			}
			b, err := tw.create("Before the update")
			must(t, err)
			got := tw.settled(b.ID)

			if got.Status != ports.StatusFailed || got.Error != tc.wantError {
				t.Fatalf("ended %s %q, want failed %q", got.Status, got.Error, tc.wantError)
			}
			if !got.CompletedAt.Equal(fixedNow) || !got.AssetID.IsZero() || got.SizeBytes != 0 || got.SHA256 != "" {
				t.Fatalf("a failed backup records an archive: %+v", got)
			}
			_, deleteFails := tc.faults["Objects.Delete"]
			if tw.objectExists(b) != deleteFails {
				t.Fatalf("archive stored: %v, want %v", tw.objectExists(b), deleteFails)
			}
			if tw.assetExists(ports.ArchiveAssetID(b.ID)) {
				t.Fatal("the asset of a failed backup is recorded")
			}
			if left := tw.tempFiles(); len(left) != 0 {
				t.Fatalf("the sidecar's temp directory holds %v", left)
			}
			must(t, tw.svc.EnsureNoActiveOperation(context.Background(), tw.order.ID))
		})
	}
}

func TestCreateCleanupIsBestEffort(t *testing.T) {
	t.Run("a backup is ready even if its temp file cannot be removed", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.noStreaming = true })
		tw.inject("FileIO.DeleteFile", fault{err: errSidecar})
		tw.ready("Before the update")
	})
}

func TestCreateSettledElsewhereMeanwhile(t *testing.T) {
	// Another replica's recovery declared the backup stale and failed it while
	// the upload ran. The late worker must not resurrect it, and must remove what
	// it stored, since nothing will ever point at it.
	tw := newTwin(t)
	const theirs = "Backup failed: the server running the operation stopped responding"
	tw.inject("Objects.Put", fault{do: func(ctx context.Context) error {
		list, err := tw.repo.ListByOrder(ctx, tw.order.ID)
		if err == nil && len(list) == 1 {
			list[0].Status, list[0].Error, list[0].CompletedAt = ports.StatusFailed, theirs, fixedNow
			err = tw.repo.Update(ctx, list[0], ports.StatusCreating)
		}
		return err
	}})
	b, err := tw.create("Before the update")
	must(t, err)
	tw.shutdown()

	if got := tw.stored(b.ID); got.Status != ports.StatusFailed || got.Error != theirs || !got.AssetID.IsZero() {
		t.Fatalf("backup %+v, want it left as the other replica settled it", got)
	}
	if tw.objectExists(b) || tw.assetExists(ports.ArchiveAssetID(b.ID)) {
		t.Fatal("the late worker left its archive or asset behind")
	}
}

func TestCreateDownloadFileName(t *testing.T) {
	for _, tc := range []struct{ name, backupName, want string }{
		{"replaces characters file systems refuse", `Save: "A/B" <1>?`, "Save_ _A_B_ _1__.tar.gz"},
		{"falls back to backup for a name of dots", ". . .", "backup.tar.gz"},
		{"keeps Unicode", "世界 🎮", "世界 🎮.tar.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTwin(t)
			if got := tw.download(tw.ready(tc.backupName)).Asset.FileName; got != tc.want {
				t.Fatalf("file name %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCreateForAnAdministratorGivesTheDownloadToTheOwner(t *testing.T) {
	tw := newTwin(t)
	b, err := tw.svc.CreateBackup(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{})
	must(t, err)
	b = tw.settled(b.ID)
	if owner := tw.download(b).Asset.OwnerID; owner != tw.owner {
		t.Fatalf("the asset is recorded for %s, want the order's owner %s", owner, tw.owner)
	}
}

func TestCreateRetriesTheFinalWrite(t *testing.T) {
	// keepsItsArchive creates a backup whose final write meets ft, and checks
	// it ends ready with its archive and asset once the service is done.
	keepsItsArchive := func(t *testing.T, ft fault, cfgs ...func(*twinConfig)) {
		tw := newTwin(t, cfgs...)
		tw.inject("Repository.Update", ft)
		b := tw.ready("Before the update")
		tw.shutdown()
		if b = tw.stored(b.ID); b.Status != ports.StatusReady || b.Error != "" || !tw.objectExists(b) || !tw.assetExists(b.AssetID) {
			t.Fatalf("backup %+v: not ready, or its archive or asset is gone", b)
		}
	}
	t.Run("a dropped connection at the end does not throw the backup away", func(t *testing.T) {
		keepsItsArchive(t, fault{err: errInfra, times: 1})
	})
	// The first attempt commits, then the connection drops before the answer.
	// No heartbeat comes during the retry here: see the test below.
	t.Run("a write that applied but whose answer was lost counts as done", func(t *testing.T) {
		keepsItsArchive(t, fault{made: true, err: errInfra, times: 1}, func(c *twinConfig) {
			c.opts = func(o *backup.Options) { o.HeartbeatInterval, o.StaleAfter = time.Minute, 2*time.Minute }
		})
	})
}

// TestCreateKeepsTheArchiveWhenAHeartbeatMeetsItsLostWrite: when the final
// write commits but its answer is lost, the next heartbeat finds the backup
// ready, takes the operation for settled elsewhere and cancels it; the create
// must still see that its write landed, and keep the archive and asset of the
// ready backup.
func TestCreateKeepsTheArchiveWhenAHeartbeatMeetsItsLostWrite(t *testing.T) {
	tw := newTwin(t)
	tw.inject("Repository.Update", fault{made: true, err: errInfra, times: 1})
	b := tw.ready("Before the update")
	tw.shutdown()
	if !tw.objectExists(b) || !tw.assetExists(b.AssetID) {
		t.Fatal("the archive or asset of a ready backup was deleted")
	}
}

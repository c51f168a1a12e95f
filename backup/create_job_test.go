package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

var errUnsupported = fmt.Errorf("sidecar v1: %w", ports.ErrUnsupported)

func TestCreateStreamsTheArchiveIntoStorage(t *testing.T) {
	f := newFixture(t)
	data := archive(300 << 10)
	src := stream(data)
	var stored bytes.Buffer
	var asset ports.Asset

	f.expectCreateAccepted()
	f.expectDial()
	f.fio.EXPECT().StreamArchive(gomock.Any(), []string{"/data"}).Return(src, nil)
	f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(drainInto(&stored))
	f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, a ports.Asset) error { asset = a; return nil })
	f.expectUpdates(1)
	// Streaming writes nothing to the pod's disk, so there is no temp file to
	// remove: gomock fails the test if DeleteFile, CompressFiles or ReadFile run.

	b := f.create()
	f.wait()

	got := f.row(b.ID)
	if got.Status != ports.StatusReady || got.Error != "" || !got.CompletedAt.Equal(fixedNow) {
		t.Fatalf("backup after a successful create: %+v", got)
	}
	if !bytes.Equal(stored.Bytes(), data) {
		t.Fatalf("storage received %d bytes that differ from the %d the sidecar sent", stored.Len(), len(data))
	}
	if got.SizeBytes != int64(len(data)) || got.SHA256 != sha256Hex(data) {
		t.Fatalf("recorded size %d sha256 %s, want %d %s", got.SizeBytes, got.SHA256, len(data), sha256Hex(data))
	}
	want := ports.Asset{
		ID: got.AssetID, OwnerID: f.owner, Key: backup.ObjectKey(f.order.ID, b.ID),
		FileName: "Before the update.tar.gz", ContentType: "application/gzip",
		SizeBytes: int64(len(data)), SHA256: sha256Hex(data), CreatedAt: fixedNow,
	}
	if asset.ID.IsZero() || asset != want {
		t.Fatalf("asset %+v, want %+v", asset, want)
	}
	if !src.closed.Load() {
		t.Fatal("the archive stream was never closed")
	}
	if u := f.allUpdates(); len(u) != 1 || u[0].from != ports.StatusCreating {
		t.Fatalf("updates %+v, want one from creating", u)
	}
}

func TestCreateFallsBackToATempFileWhenTheSidecarCannotStream(t *testing.T) {
	for _, tc := range []struct {
		name            string
		dataDir, tmpDir string
		wantTemp        string
		wantSources     []string
	}{
		{"stages the archive in /tmp by default", "", "", "/tmp/backup-%s.tar.gz", []string{"/data"}},
		{"uses the configured directories", "/srv/game", "/var/scratch", "/var/scratch/backup-%s.tar.gz", []string{"/srv/game"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, withOptions(func(o *backup.Options) { o.DataDir, o.TempDir = tc.dataDir, tc.tmpDir }))
			data := archive(100 << 10)
			src := stream(data)
			temp := gomock.Cond(func(p string) bool { return p == fmt.Sprintf(tc.wantTemp, f.createdID()) })
			var stored bytes.Buffer

			f.expectCreateAccepted()
			f.expectDial()
			f.fio.EXPECT().StreamArchive(gomock.Any(), tc.wantSources).Return(nil, errUnsupported)
			gomock.InOrder(
				f.fio.EXPECT().CompressFiles(gomock.Any(), tc.wantSources, temp).Return(ports.ArchiveReport{}, nil),
				f.fio.EXPECT().ReadFile(gomock.Any(), temp).Return(src, nil),
				f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(drainInto(&stored)),
				f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil),
				f.fio.EXPECT().DeleteFile(gomock.Any(), temp).Return(nil),
			)
			f.expectUpdates(1)

			b := f.create()
			f.wait()
			got := f.row(b.ID)
			if got.Status != ports.StatusReady || got.SizeBytes != int64(len(data)) || got.SHA256 != sha256Hex(data) || !bytes.Equal(stored.Bytes(), data) {
				t.Fatalf("backup %+v after storing %d bytes", got, stored.Len())
			}
			if !src.closed.Load() {
				t.Fatal("the temp file's stream was never closed")
			}
		})
	}
}

// TestCreateFailures makes each background step of a create fail in turn. Every
// case declares the cleanup it expects (gomock fails on a missing or an extra
// call); every case must end failed, with the customer-readable reason.
func TestCreateFailures(t *testing.T) {
	data := archive(64 << 10)
	errSidecar := fmt.Errorf("rpc: %w: disk quota exceeded", ports.ErrCluster)

	// streaming expects the connection and a stream of data.
	streaming := func(f *fixture) *trackedReader {
		f.expectDial()
		src := stream(data)
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(src, nil)
		return src
	}
	// fallback expects the connection, the staging and its removal.
	fallback := func(f *fixture) {
		f.expectDial()
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(nil, errUnsupported)
		f.fio.EXPECT().CompressFiles(gomock.Any(), gomock.Any(), f.createdTemp()).Return(ports.ArchiveReport{}, nil)
		f.fio.EXPECT().DeleteFile(gomock.Any(), f.createdTemp()).Return(nil)
	}
	putOK := func(f *fixture) {
		var sink bytes.Buffer
		f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(drainInto(&sink))
	}
	objectRemoved := func(f *fixture) {
		f.objects.EXPECT().Delete(gomock.Any(), f.createdKey()).Return(nil)
	}

	for _, tc := range []struct {
		name      string
		setup     func(f *fixture)
		wantError string
	}{
		{
			name: "the sidecar cannot be reached",
			setup: func(f *fixture) {
				f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(nil, errSidecar)
			},
			wantError: "Backup failed: could not reach the game server's file service",
		},
		{
			name: "the sidecar refuses to stream the archive",
			setup: func(f *fixture) {
				f.expectDial()
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(nil, errSidecar)
			},
			wantError: "Backup failed: compressing the server files failed",
		},
		{
			name: "the archive stream breaks mid-upload",
			setup: func(f *fixture) {
				f.expectDial()
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(brokenStream(data, 4096, errSidecar), nil)
				putOK(f)
				objectRemoved(f)
			},
			wantError: "Backup failed: reading the archive from the game server failed",
		},
		{
			name: "the upload fails",
			setup: func(f *fixture) {
				streaming(f)
				f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(func(_ context.Context, _ string, r io.Reader) error {
					_, _ = io.CopyN(io.Discard, r, 1000)
					return fmt.Errorf("multipart: %w", errInfra)
				})
				objectRemoved(f)
			},
			wantError: "Backup failed: uploading the archive to storage failed",
		},
		{
			name: "the store reports success although the stream broke",
			setup: func(f *fixture) {
				f.expectDial()
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(brokenStream(data, 4096, errSidecar), nil)
				f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(func(_ context.Context, _ string, r io.Reader) error {
					_, _ = io.Copy(io.Discard, r) // a careless store that keeps what it got
					return nil
				})
				objectRemoved(f)
			},
			wantError: "Backup failed: reading the archive from the game server failed",
		},
		{
			name: "recording the asset fails",
			setup: func(f *fixture) {
				streaming(f)
				putOK(f)
				f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(errInfra)
				objectRemoved(f)
			},
			wantError: "Backup failed: recording the download failed",
		},
		{
			name: "recording the finished backup fails",
			setup: func(f *fixture) {
				streaming(f)
				putOK(f)
				var asset ports.AssetID
				f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, a ports.Asset) error { asset = a.ID; return nil })
				f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).Return(errInfra).Times(4) // the first try and three retries
				objectRemoved(f)
				f.assets.EXPECT().DeleteAsset(gomock.Any(), gomock.Cond(func(id ports.AssetID) bool { return id == asset })).Return(nil)
			},
			wantError: "Backup failed: recording the finished backup failed",
		},
		{
			name: "the sidecar panics",
			setup: func(f *fixture) {
				f.expectDial()
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, []string) (ports.ArchiveStream, error) {
					panic("index out of range in the gRPC client")
				})
			},
			wantError: "Backup failed: an internal error stopped the operation",
		},
		{
			name: "the asset store panics after the upload",
			setup: func(f *fixture) {
				streaming(f)
				putOK(f)
				f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, ports.Asset) error {
					panic("nil map")
				})
				// The asset may or may not exist after a panic; deleting a missing
				// one is not an error, so both are removed.
				objectRemoved(f)
				f.assets.EXPECT().DeleteAsset(gomock.Any(), gomock.Any()).Return(nil)
			},
			wantError: "Backup failed: an internal error stopped the operation",
		},
		{
			name: "compressing to the temp file fails",
			setup: func(f *fixture) {
				f.expectDial()
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(nil, errUnsupported)
				f.fio.EXPECT().CompressFiles(gomock.Any(), gomock.Any(), f.createdTemp()).Return(ports.ArchiveReport{}, errSidecar)
				f.fio.EXPECT().DeleteFile(gomock.Any(), f.createdTemp()).Return(nil)
			},
			wantError: "Backup failed: compressing the server files failed",
		},
		{
			name: "reading the temp file fails",
			setup: func(f *fixture) {
				fallback(f)
				f.fio.EXPECT().ReadFile(gomock.Any(), f.createdTemp()).Return(nil, errSidecar)
			},
			wantError: "Backup failed: reading the archive from the game server failed",
		},
		{
			name: "the temp file's stream breaks mid-upload",
			setup: func(f *fixture) {
				fallback(f)
				f.fio.EXPECT().ReadFile(gomock.Any(), f.createdTemp()).Return(brokenStream(data, 10000, errSidecar), nil)
				putOK(f)
				objectRemoved(f)
			},
			wantError: "Backup failed: reading the archive from the game server failed",
		},
		{
			name: "the upload of the temp file fails",
			setup: func(f *fixture) {
				fallback(f)
				f.fio.EXPECT().ReadFile(gomock.Any(), f.createdTemp()).Return(stream(data), nil)
				f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).Return(errInfra)
				objectRemoved(f)
			},
			wantError: "Backup failed: uploading the archive to storage failed",
		},
		{
			name: "recording the finished backup of the temp file fails",
			setup: func(f *fixture) {
				fallback(f)
				f.fio.EXPECT().ReadFile(gomock.Any(), f.createdTemp()).Return(stream(data), nil)
				putOK(f)
				f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
				f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).Return(errInfra).Times(4)
				objectRemoved(f)
				f.assets.EXPECT().DeleteAsset(gomock.Any(), gomock.Any()).Return(nil)
			},
			wantError: "Backup failed: recording the finished backup failed",
		},
		{
			name: "the upload fails and so does removing the partial archive",
			setup: func(f *fixture) {
				streaming(f)
				f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).Return(errInfra)
				f.objects.EXPECT().Delete(gomock.Any(), f.createdKey()).Return(errInfra)
			},
			wantError: "Backup failed: uploading the archive to storage failed",
		},
	} {
		t.Run("ends failed when "+tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectCreateAccepted()
			tc.setup(f)
			f.expectUpdates(1)

			b := f.create()
			f.wait()

			got := f.row(b.ID)
			if got.Status != ports.StatusFailed {
				t.Fatalf("status %s, want failed", got.Status)
			}
			if got.Error != tc.wantError {
				t.Fatalf("error text %q, want %q", got.Error, tc.wantError)
			}
			if !got.CompletedAt.Equal(fixedNow) || !got.AssetID.IsZero() || got.SizeBytes != 0 || got.SHA256 != "" {
				t.Fatalf("a failed backup records an archive: %+v", got)
			}
			for _, u := range f.allUpdates() {
				if u.ctxErr != nil {
					t.Fatalf("Update ran on a finished context: %v", u.ctxErr)
				}
			}
		})
	}
}

func TestCreateCleanupIsBestEffort(t *testing.T) {
	t.Run("a backup is ready even if its temp file cannot be removed", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectDial()
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(nil, errUnsupported)
		f.fio.EXPECT().CompressFiles(gomock.Any(), gomock.Any(), f.createdTemp()).Return(ports.ArchiveReport{}, nil)
		f.fio.EXPECT().ReadFile(gomock.Any(), f.createdTemp()).Return(stream(archive(1000)), nil)
		var sink bytes.Buffer
		f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&sink))
		f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
		f.fio.EXPECT().DeleteFile(gomock.Any(), f.createdTemp()).Return(errors.New("sidecar went away"))
		f.expectUpdates(1)

		b := f.create()
		f.wait()
		if got := f.row(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("status %s, want ready", got.Status)
		}
	})
}

func TestCreateSettledElsewhereMeanwhile(t *testing.T) {
	// Another replica's recovery declared the backup stale and failed it while
	// the upload ran. The late worker must not resurrect it, and must remove what
	// it stored, since nothing will ever point at it.
	f := newFixture(t)
	f.expectCreateAccepted()
	f.expectDial()
	f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(archive(5000)), nil)
	f.objects.EXPECT().Put(gomock.Any(), f.createdKey(), gomock.Any()).DoAndReturn(func(_ context.Context, _ string, r io.Reader) error {
		f.setStatus(f.createdID(), ports.StatusFailed)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	var asset ports.AssetID
	f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, a ports.Asset) error { asset = a.ID; return nil })
	f.objects.EXPECT().Delete(gomock.Any(), f.createdKey()).Return(nil)
	f.assets.EXPECT().DeleteAsset(gomock.Any(), gomock.Cond(func(id ports.AssetID) bool { return id == asset })).Return(nil)
	f.expectUpdates(2) // the lost compare-and-set to ready, then the failure, also lost

	b := f.create()
	f.wait()
	for _, u := range f.allUpdates() {
		if u.applied {
			t.Fatalf("an update from creating was applied to a backup settled elsewhere: %+v", u.b)
		}
	}
	if got := f.row(b.ID); got.Status != ports.StatusFailed || !got.AssetID.IsZero() {
		t.Fatalf("backup %+v, want it left failed without an asset", got)
	}
}

func TestCreateDownloadFileName(t *testing.T) {
	for _, tc := range []struct{ name, backupName, want string }{
		{"replaces characters file systems refuse", `Save: "A/B" <1>?`, "Save_ _A_B_ _1__.tar.gz"},
		{"falls back to backup for a name of dots", ". . .", "backup.tar.gz"},
		{"keeps Unicode", "世界 🎮", "世界 🎮.tar.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectCreateAccepted()
			f.expectDial()
			f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(archive(10)), nil)
			var sink bytes.Buffer
			f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&sink))
			var asset ports.Asset
			f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, a ports.Asset) error { asset = a; return nil })
			f.expectUpdates(1)
			if _, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, tc.backupName); err != nil {
				t.Fatal(err)
			}
			f.wait()
			if asset.FileName != tc.want {
				t.Fatalf("file name %q, want %q", asset.FileName, tc.want)
			}
		})
	}
}

func TestCreateForAnAdministratorGivesTheDownloadToTheOwner(t *testing.T) {
	f := newFixture(t)
	f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
	f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
	f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
	f.expectSidecarLookup()
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
	f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, nil)
	f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(f.recordCreate)
	f.expectDial()
	f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any()).Return(stream(archive(10)), nil)
	var sink bytes.Buffer
	f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&sink))
	f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Cond(func(a ports.Asset) bool { return a.OwnerID == f.owner })).Return(nil)
	f.expectUpdates(1)
	if _, err := f.svc.CreateBackup(context.Background(), f.admin, f.order.ID, f.primary.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.wait()
}

func TestCreateRetriesTheFinalWrite(t *testing.T) {
	t.Run("a dropped connection at the end does not throw the backup away", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectDial()
		f.expectArchiveStored(archive(5000))
		gomock.InOrder(
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).Return(errInfra),
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).DoAndReturn(f.compareAndSet),
		)
		b := f.create()
		f.wait()
		if got := f.row(b.ID); got.Status != ports.StatusReady || got.Error != "" {
			t.Fatalf("backup %s %q, want ready", got.Status, got.Error)
		}
	})
	t.Run("a write that applied but whose answer was lost counts as done", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectDial()
		f.expectArchiveStored(archive(5000))
		gomock.InOrder(
			// The first attempt commits, then the connection drops before the answer.
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).DoAndReturn(
				func(ctx context.Context, b ports.Backup, from ports.Status) error {
					if err := f.compareAndSet(ctx, b, from); err != nil {
						return err
					}
					return errInfra
				}),
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).DoAndReturn(f.compareAndSet),
		)
		// The retry's Find, to recognise its own earlier write, is served by the
		// fixture's read of created records. No Delete or DeleteAsset: the stored
		// archive is the finished backup's.
		b := f.create()
		f.wait()
		if got := f.row(b.ID); got.Status != ports.StatusReady || got.AssetID.IsZero() {
			t.Fatalf("backup %+v, want ready with its asset", got)
		}
	})
}

package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

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

func TestRestoreStreamsTheArchiveToTheSidecar(t *testing.T) {
	f := newFixture(t)
	data := archive(300 << 10)
	b := f.readyBackup(data)
	key := backup.ObjectKey(f.order.ID, b.ID)
	obj := stream(data)
	var written bytes.Buffer
	restoredAt := fixedNow.Add(2 * time.Hour)
	f.clock.Set(restoredAt)

	f.expectRestoreAccepted(b)
	f.expectUpdates(2)
	f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{ID: b.AssetID, OwnerID: f.owner, Key: key, SizeBytes: int64(len(data))}, nil)
	f.expectDial()
	f.objects.EXPECT().Get(gomock.Any(), key, nil).Return(obj, ports.ObjectInfo{Key: key, SizeBytes: int64(len(data))}, nil)
	gomock.InOrder(
		f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), int64(len(data)), gomock.Any()).DoAndReturn(writeInto(&written)),
		f.fio.EXPECT().ExtractTo(gomock.Any(), restoreTemp(b), "/data").Return(nil),
		f.fio.EXPECT().DeleteFile(gomock.Any(), restoreTemp(b)).Return(nil),
	)

	accepted := f.restore(b)
	if accepted.Status != ports.StatusRestoring {
		t.Fatalf("RestoreBackup returned status %s, want restoring", accepted.Status)
	}
	f.wait()

	if !bytes.Equal(written.Bytes(), data) {
		t.Fatalf("the sidecar received %d bytes that differ from the %d stored", written.Len(), len(data))
	}
	got := f.row(b.ID)
	if got.Status != ports.StatusReady || got.Error != "" || !got.LastRestoredAt.Equal(restoredAt) {
		t.Fatalf("backup after a successful restore: %+v", got)
	}
	if got.AssetID != b.AssetID || got.SHA256 != b.SHA256 || got.SizeBytes != b.SizeBytes || !got.CompletedAt.Equal(b.CompletedAt) {
		t.Fatalf("a restore changed the archive's record: %+v, was %+v", got, b)
	}
	if !obj.closed.Load() {
		t.Fatal("the object's stream was never closed")
	}
	if u := f.allUpdates(); u[1].from != ports.StatusRestoring {
		t.Fatalf("the finished restore was recorded from %s, want restoring", u[1].from)
	}
}

func TestRestoreUsesTheConfiguredDirectories(t *testing.T) {
	f := newFixture(t, withOptions(func(o *backup.Options) { o.DataDir, o.TempDir = "/srv/game", "/var/scratch" }))
	data := archive(1000)
	b := f.readyBackup(data)
	temp := "/var/scratch/restore-" + b.ID.String() + ".tar.gz"
	var written bytes.Buffer
	f.expectRestoreAccepted(b)
	f.expectUpdates(2)
	f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
	f.expectDial()
	f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(stream(data), ports.ObjectInfo{SizeBytes: int64(len(data))}, nil)
	f.fio.EXPECT().WriteFile(gomock.Any(), temp, int64(len(data)), gomock.Any()).DoAndReturn(writeInto(&written))
	f.fio.EXPECT().ExtractTo(gomock.Any(), temp, "/srv/game").Return(nil)
	f.fio.EXPECT().DeleteFile(gomock.Any(), temp).Return(nil)
	f.restore(b)
	f.wait()
	if got := f.row(b.ID); got.Status != ports.StatusReady || got.Error != "" {
		t.Fatalf("backup %+v", got)
	}
}

// TestRestoreFailures makes each background step of a restore fail in turn. A
// failed restore returns the backup to ready (its archive is intact) with an
// Error that says the restore failed, and removes the sidecar's temp file.
func TestRestoreFailures(t *testing.T) {
	data := archive(64 << 10)
	errSidecar := fmt.Errorf("rpc: %w: no space left on device", ports.ErrCluster)

	// upTo expects the steps that succeed before the write, and the temp file's removal.
	upTo := func(f *fixture, b ports.Backup, obj io.ReadCloser) {
		f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: backup.ObjectKey(f.order.ID, b.ID)}, nil)
		f.expectDial()
		f.objects.EXPECT().Get(gomock.Any(), backup.ObjectKey(f.order.ID, b.ID), nil).Return(obj, ports.ObjectInfo{SizeBytes: int64(len(data))}, nil)
		f.fio.EXPECT().DeleteFile(gomock.Any(), restoreTemp(b)).Return(nil)
	}
	writeOK := func(f *fixture, b ports.Backup) {
		var sink bytes.Buffer
		f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), int64(len(data)), gomock.Any()).DoAndReturn(writeInto(&sink))
	}

	for _, tc := range []struct {
		name      string
		setup     func(f *fixture, b ports.Backup)
		wantError string
	}{
		{
			name: "the archive's asset cannot be read",
			setup: func(f *fixture, b ports.Backup) {
				f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{}, errInfra)
			},
			wantError: "Restore failed: the backup's archive record could not be read",
		},
		{
			name: "the sidecar cannot be reached",
			setup: func(f *fixture, b ports.Backup) {
				f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
				f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(nil, errSidecar)
			},
			wantError: "Restore failed: could not reach the game server's file service",
		},
		{
			name: "the archive cannot be read from storage",
			setup: func(f *fixture, b ports.Backup) {
				f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
				f.expectDial()
				f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(nil, ports.ObjectInfo{}, ports.ErrNotFound)
			},
			wantError: "Restore failed: downloading the archive from storage failed",
		},
		{
			name: "the storage stream breaks mid-transfer",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, brokenStream(data, 4096, errInfra))
				writeOK(f, b)
			},
			wantError: "Restore failed: downloading the archive from storage failed",
		},
		{
			name: "the sidecar cannot write the temp file",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, stream(data))
				f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), int64(len(data)), gomock.Any()).DoAndReturn(func(_ context.Context, _ string, _ int64, r io.Reader) error {
					_, _ = io.CopyN(io.Discard, r, 100)
					return errSidecar
				})
			},
			wantError: "Restore failed: copying the archive to the game server failed",
		},
		{
			name: "the archive's checksum does not match",
			setup: func(f *fixture, b ports.Backup) {
				damaged := bytes.Clone(data)
				damaged[len(damaged)/2] ^= 0x01
				upTo(f, b, stream(damaged))
				writeOK(f, b)
				f.fio.EXPECT().ExtractTo(gomock.Any(), gomock.Any(), gomock.Any()).Times(0)
			},
			wantError: "Restore failed: the stored archive is damaged (its checksum does not match); your server files were not changed",
		},
		{
			name: "the archive is shorter than recorded",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, stream(data[:len(data)-1]))
				writeOK(f, b)
				f.fio.EXPECT().ExtractTo(gomock.Any(), gomock.Any(), gomock.Any()).Times(0)
			},
			wantError: "Restore failed: the stored archive is damaged (its checksum does not match); your server files were not changed",
		},
		{
			name: "extraction fails",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, stream(data))
				writeOK(f, b)
				f.fio.EXPECT().ExtractTo(gomock.Any(), restoreTemp(b), "/data").Return(errSidecar)
			},
			wantError: "Restore failed: extracting the archive failed; your server files were not changed",
		},
		{
			name: "the sidecar panics while extracting",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, stream(data))
				writeOK(f, b)
				f.fio.EXPECT().ExtractTo(gomock.Any(), restoreTemp(b), "/data").DoAndReturn(func(context.Context, string, string) error {
					panic("nil pointer dereference")
				})
			},
			wantError: "Restore failed: an internal error stopped the operation",
		},
		{
			name: "recording the finished restore fails",
			setup: func(f *fixture, b ports.Backup) {
				upTo(f, b, stream(data))
				writeOK(f, b)
				f.fio.EXPECT().ExtractTo(gomock.Any(), restoreTemp(b), "/data").Return(nil)
				f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusRestoring).Return(errInfra).Times(4) // the first try and three retries
			},
			wantError: "Restore failed: recording the finished restore failed",
		},
	} {
		t.Run("returns the backup to ready when "+tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := f.readyBackup(data)
			f.expectRestoreAccepted(b)
			// The restore's own update to restoring is served first; a case's
			// failing Update (declared in setup, from restoring) then matches
			// before the row store's failure record.
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusReady).DoAndReturn(f.compareAndSet)
			tc.setup(f, b)
			f.expectUpdates(1)

			f.restore(b)
			f.wait()

			got := f.row(b.ID)
			if got.Status != ports.StatusReady {
				t.Fatalf("status %s, want ready", got.Status)
			}
			if got.Error != tc.wantError {
				t.Fatalf("error text %q, want %q", got.Error, tc.wantError)
			}
			if got.AssetID != b.AssetID || got.SHA256 != b.SHA256 || got.SizeBytes != b.SizeBytes || !got.LastRestoredAt.IsZero() {
				t.Fatalf("a failed restore changed the archive's record: %+v, was %+v", got, b)
			}
			for _, u := range f.allUpdates() {
				if u.ctxErr != nil {
					t.Fatalf("Update ran on a finished context: %v", u.ctxErr)
				}
			}
		})
	}
}

func TestRestoreCanBeRetriedAfterAFailure(t *testing.T) {
	f := newFixture(t)
	data := archive(2000)
	b := f.readyBackup(data)
	b.Error = "Restore failed: extracting the archive failed; your server files were not changed"
	f.seed(b)
	f.expectRestoreAccepted(b)
	f.expectUpdates(2)
	f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{Key: "k"}, nil)
	f.expectDial()
	f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(stream(data), ports.ObjectInfo{SizeBytes: int64(len(data))}, nil)
	var sink bytes.Buffer
	f.fio.EXPECT().WriteFile(gomock.Any(), restoreTemp(b), int64(len(data)), gomock.Any()).DoAndReturn(writeInto(&sink))
	f.fio.EXPECT().ExtractTo(gomock.Any(), restoreTemp(b), "/data").Return(nil)
	f.fio.EXPECT().DeleteFile(gomock.Any(), restoreTemp(b)).Return(nil)
	f.restore(b)
	f.wait()
	if got := f.row(b.ID); got.Status != ports.StatusReady || got.Error != "" || got.LastRestoredAt.IsZero() {
		t.Fatalf("backup after a successful retry: %+v", got)
	}
}

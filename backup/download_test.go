package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func (f *fixture) asset() ports.Asset {
	id := ports.NewBackupID()
	return ports.Asset{
		ID: ports.NewAssetID(), OwnerID: f.owner, Key: backup.ObjectKey(f.order.ID, id),
		FileName: "Before the update.tar.gz", ContentType: "application/gzip", SizeBytes: 1000, SHA256: "ab", CreatedAt: fixedNow,
	}
}

func TestDownload(t *testing.T) {
	t.Run("gives the owner the asset and streams the whole archive", func(t *testing.T) {
		f := newFixture(t)
		a := f.asset()
		data := archive(1000)
		f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
		f.objects.EXPECT().Get(gomock.Any(), a.Key, nil).Return(io.NopCloser(bytes.NewReader(data)), ports.ObjectInfo{Key: a.Key, SizeBytes: 1000}, nil)

		d, err := f.svc.Download(context.Background(), f.owner, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Asset != a {
			t.Fatalf("asset %+v, want %+v", d.Asset, a)
		}
		rc, err := d.Open(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v; want the archive", len(got), err)
		}
	})
	t.Run("passes a byte range through to storage", func(t *testing.T) {
		f := newFixture(t)
		a := f.asset()
		data := archive(1000)
		rng := &backup.ByteRange{Offset: 100, Length: 50}
		f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
		f.objects.EXPECT().Get(gomock.Any(), a.Key, &ports.ByteRange{Offset: 100, Length: 50}).
			Return(io.NopCloser(bytes.NewReader(data[100:150])), ports.ObjectInfo{Key: a.Key, SizeBytes: 1000}, nil)
		d, err := f.svc.Download(context.Background(), f.owner, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := d.Open(context.Background(), rng)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, _ := io.ReadAll(rc); !bytes.Equal(got, data[100:150]) {
			t.Fatalf("got %d bytes, want bytes 100–149", len(got))
		}
	})

	for _, tc := range []struct {
		name  string
		user  func(f *fixture) backup.UserID
		setup func(f *fixture, a ports.Asset)
	}{
		{
			name: "hides another customer's asset",
			user: stranger,
			setup: func(f *fixture, a ports.Asset) {
				f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
			},
		},
		{
			name: "hides an asset even from a holder of ViewAllOrders",
			user: func(f *fixture) backup.UserID { return f.admin },
			setup: func(f *fixture, a ports.Asset) {
				f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
			},
		},
		{
			name: "reports an asset that does not exist the same way",
			setup: func(f *fixture, a ports.Asset) {
				f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(ports.Asset{}, fmt.Errorf("assets: %w", ports.ErrNotFound))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.asset()
			tc.setup(f, a)
			user := f.owner
			if tc.user != nil {
				user = tc.user(f)
			}
			d, err := f.svc.Download(context.Background(), user, a.ID)
			errorCase{want: backup.ErrAssetNotFound}.check(t, err)
			if d != nil {
				t.Fatalf("a refused download returned %+v", d)
			}
		})
	}
	t.Run("wraps a failing asset lookup as a database error", func(t *testing.T) {
		f := newFixture(t)
		a := f.asset()
		f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(ports.Asset{}, errInfra)
		_, err := f.svc.Download(context.Background(), f.owner, a.ID)
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
	})

	for _, tc := range []struct {
		name     string
		storeErr error
		want     error
		infra    bool
	}{
		{"reports an archive gone from storage as a missing asset", ports.ErrNotFound, backup.ErrAssetNotFound, false},
		{"reports a range outside the archive", ports.ErrInvalidRange, backup.ErrInvalidRange, false},
		{"wraps a storage failure", errInfra, backup.ErrStorage, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.asset()
			f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
			f.objects.EXPECT().Get(gomock.Any(), a.Key, gomock.Any()).Return(nil, ports.ObjectInfo{}, fmt.Errorf("s3: %w", tc.storeErr))
			d, err := f.svc.Download(context.Background(), f.owner, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := d.Open(context.Background(), &backup.ByteRange{Offset: 5000, Length: 10})
			errorCase{want: tc.want, infra: tc.infra}.check(t, err)
			if rc != nil {
				t.Fatal("a failed Open returned a reader")
			}
		})
	}
}

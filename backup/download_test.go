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

// asset returns a ready backup of the fixture's order and the asset of its
// archive.
func (f *fixture) asset() (ports.Backup, ports.Asset) {
	id := ports.NewBackupID()
	a := ports.Asset{
		ID: ports.ArchiveAssetID(id), OwnerID: f.owner, Key: backup.ObjectKey(f.order.ID, id),
		FileName: "Before the update.tar.gz", ContentType: "application/gzip", SizeBytes: 1000, SHA256: "ab", CreatedAt: fixedNow,
	}
	b := ports.Backup{
		ID: id, OrderID: f.order.ID, ProvisionID: f.primary.ID, Name: "Before the update", Status: ports.StatusReady,
		AssetID: a.ID, SizeBytes: a.SizeBytes, SHA256: a.SHA256, CreatedAt: fixedNow, CompletedAt: fixedNow,
	}
	return b, a
}

// expectDownloadAuthorized expects the lookups that let the order's owner
// download a's archive.
func (f *fixture) expectDownloadAuthorized(b ports.Backup, a ports.Asset) {
	f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil)
	f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
	f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)
}

func TestDownload(t *testing.T) {
	t.Run("gives the owner the asset and streams the whole archive", func(t *testing.T) {
		f := newFixture(t)
		b, a := f.asset()
		data := archive(1000)
		f.expectDownloadAuthorized(b, a)
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
	t.Run("follows the order to its new owner, not the owner recorded on the asset", func(t *testing.T) {
		f := newFixture(t)
		b, a := f.asset()
		buyer := ports.NewUserID()
		sold := ports.Order{ID: f.order.ID, OwnerID: buyer}
		f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil).Times(2)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(sold, nil).Times(2)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.owner).Return(false, nil)
		f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)

		if _, err := f.svc.Download(context.Background(), f.owner, a.ID); !errors.Is(err, backup.ErrAssetNotFound) {
			t.Fatalf("the former owner's download: %v, want ErrAssetNotFound", err)
		}
		if _, err := f.svc.Download(context.Background(), buyer, a.ID); err != nil {
			t.Fatalf("the new owner's download: %v", err)
		}
	})
	t.Run("lets staff download only when the host's hook allows it for that order", func(t *testing.T) {
		var asked []ports.OrderID
		allow := false
		f := newFixture(t, withOptions(func(o *backup.Options) {
			o.AllowStaffDownload = func(_ context.Context, _ ports.UserID, order ports.OrderID) (bool, error) {
				asked = append(asked, order)
				return allow, nil
			}
		}))
		b, a := f.asset()
		f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil).Times(2)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil).Times(2)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil).Times(2)
		f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(a, nil)

		if _, err := f.svc.Download(context.Background(), f.admin, a.ID); !errors.Is(err, backup.ErrAssetNotFound) {
			t.Fatalf("refused by the hook: %v, want ErrAssetNotFound", err)
		}
		allow = true
		if _, err := f.svc.Download(context.Background(), f.admin, a.ID); err != nil {
			t.Fatalf("allowed by the hook: %v", err)
		}
		if len(asked) != 2 || asked[0] != f.order.ID {
			t.Fatalf("the hook was asked about %v, want the order twice", asked)
		}
	})
	t.Run("passes a byte range through to storage", func(t *testing.T) {
		f := newFixture(t)
		b, a := f.asset()
		data := archive(1000)
		rng := &ports.ByteRange{Offset: 100, Length: 50}
		f.expectDownloadAuthorized(b, a)
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
		user  func(f *fixture) ports.UserID
		setup func(f *fixture, b ports.Backup, a ports.Asset)
	}{
		{
			name: "hides another customer's asset",
			user: stranger,
			setup: func(f *fixture, b ports.Backup, a ports.Asset) {
				f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil)
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.stranger).Return(false, nil)
			},
		},
		{
			name: "hides an asset from a holder of ViewAllOrders when the host has no staff policy",
			user: func(f *fixture) ports.UserID { return f.admin },
			setup: func(f *fixture, b ports.Backup, a ports.Asset) {
				f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil)
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
			},
		},
		{
			name: "reports an asset that no backup has the same way",
			setup: func(f *fixture, b ports.Backup, a ports.Asset) {
				f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(ports.Backup{}, fmt.Errorf("repo: %w", ports.ErrNotFound))
			},
		},
		{
			name: "reports the asset of a backup being deleted the same way",
			setup: func(f *fixture, b ports.Backup, a ports.Asset) {
				b.Deleting = true
				f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil)
			},
		},
		{
			name: "reports an asset record that is gone the same way",
			setup: func(f *fixture, b ports.Backup, a ports.Asset) {
				f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(b, nil)
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.assets.EXPECT().GetAsset(gomock.Any(), a.ID).Return(ports.Asset{}, fmt.Errorf("assets: %w", ports.ErrNotFound))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b, a := f.asset()
			tc.setup(f, b, a)
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
	t.Run("wraps a failing lookup as a database error", func(t *testing.T) {
		f := newFixture(t)
		_, a := f.asset()
		f.repo.EXPECT().FindByAsset(gomock.Any(), a.ID).Return(ports.Backup{}, errInfra)
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
			b, a := f.asset()
			f.expectDownloadAuthorized(b, a)
			f.objects.EXPECT().Get(gomock.Any(), a.Key, gomock.Any()).Return(nil, ports.ObjectInfo{}, fmt.Errorf("s3: %w", tc.storeErr))
			d, err := f.svc.Download(context.Background(), f.owner, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := d.Open(context.Background(), &ports.ByteRange{Offset: 5000, Length: 10})
			errorCase{want: tc.want, infra: tc.infra}.check(t, err)
			if rc != nil {
				t.Fatal("a failed Open returned a reader")
			}
		})
	}
}

func stranger(f *fixture) ports.UserID { return f.stranger }

package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// downloadable makes a ready backup whose archive is a few kilobytes.
func (tw *twin) downloadable() ports.Backup {
	tw.t.Helper()
	writeFile(tw.t, filepath.Join(tw.data, "world", "region.mca"), string(archive(4096)))
	return tw.ready("Before the update")
}

func TestDownload(t *testing.T) {
	ctx := context.Background()
	t.Run("gives the owner the asset and streams the whole archive", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.downloadable()
		d, err := tw.svc.Download(ctx, tw.owner, b.AssetID)
		must(t, err)
		if want, err := tw.assets.GetAsset(ctx, b.AssetID); err != nil || d.Asset != want {
			t.Fatalf("asset %+v, want %+v (%v)", d.Asset, want, err)
		}
		if got := read(t, d, nil); !bytes.Equal(got, tw.archiveBytes(b)) {
			t.Fatalf("read %d bytes that are not the archive", len(got))
		}
	})
	t.Run("follows the order to its new owner, not the owner recorded on the asset", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.downloadable()
		buyer := ports.NewUserID()
		tw.catalog.sell(tw.order.ID, buyer)
		if _, err := tw.svc.Download(ctx, tw.owner, b.AssetID); !errors.Is(err, backup.ErrAssetNotFound) {
			t.Fatalf("the former owner's download: %v, want ErrAssetNotFound", err)
		}
		if _, err := tw.svc.Download(ctx, buyer, b.AssetID); err != nil {
			t.Fatalf("the new owner's download: %v", err)
		}
	})
	t.Run("lets staff download only when the host's hook allows it for that order", func(t *testing.T) {
		var asked []ports.OrderID
		allow := false
		tw := newTwin(t, func(c *twinConfig) {
			c.opts = func(o *backup.Options) {
				o.AllowStaffDownload = func(_ context.Context, _ ports.UserID, order ports.OrderID) (bool, error) {
					asked = append(asked, order)
					return allow, nil
				}
			}
		})
		b := tw.downloadable()
		if _, err := tw.svc.Download(ctx, tw.admin, b.AssetID); !errors.Is(err, backup.ErrAssetNotFound) {
			t.Fatalf("refused by the hook: %v, want ErrAssetNotFound", err)
		}
		allow = true
		if _, err := tw.svc.Download(ctx, tw.admin, b.AssetID); err != nil {
			t.Fatalf("allowed by the hook: %v", err)
		}
		if len(asked) != 2 || asked[0] != tw.order.ID || asked[1] != tw.order.ID {
			t.Fatalf("the hook was asked about %v, want the order twice", asked)
		}
	})
	t.Run("passes a byte range through to storage", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.downloadable()
		if got := read(t, tw.download(b), &ports.ByteRange{Offset: 100, Length: 50}); !bytes.Equal(got, tw.archiveBytes(b)[100:150]) {
			t.Fatalf("got %d bytes, want bytes 100–149 of the archive", len(got))
		}
	})
	for _, tc := range downloadRefusals() {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTwin(t)
			b := tw.downloadable()
			c := downloadCall{user: tw.owner, asset: b.AssetID}
			tc.setup(tw, &c)
			d, err := tw.svc.Download(ctx, c.user, c.asset)
			tc.check(t, err)
			if d != nil {
				t.Fatalf("a refused download returned %+v", d)
			}
		})
	}
	downloadOpenFailures(t)
}

// downloadRefusals are the downloads refused. Every refusal but an
// infrastructure failure looks the same, so asset IDs cannot be probed.
func downloadRefusals() []downloadRefusal {
	notFound := func(name string, setup func(tw *twin, c *downloadCall)) downloadRefusal {
		return downloadRefusal{errorCase{name: name, want: backup.ErrAssetNotFound}, setup}
	}
	return []downloadRefusal{
		notFound("hides another customer's asset", func(tw *twin, c *downloadCall) { c.user = tw.stranger }),
		notFound("hides an asset from a holder of ViewAllOrders when the host has no staff policy",
			func(tw *twin, c *downloadCall) { c.user = tw.admin }),
		notFound("reports an asset that no backup has the same way", func(_ *twin, c *downloadCall) { c.asset = ports.NewAssetID() }),
		notFound("reports the asset of a backup being deleted the same way", func(tw *twin, c *downloadCall) {
			b, err := tw.repo.FindByAsset(context.Background(), c.asset)
			must(tw.t, err)
			_, err = tw.repo.ClaimForDelete(context.Background(), b.ID, false)
			must(tw.t, err)
		}),
		notFound("reports an asset record that is gone the same way", func(tw *twin, c *downloadCall) {
			must(tw.t, tw.assets.DeleteAsset(context.Background(), c.asset))
		}),
		{errorCase{name: "wraps a failing lookup as a database error", want: backup.ErrDatabase, infra: true},
			func(tw *twin, _ *downloadCall) { tw.inject("Repository.FindByAsset", fault{err: errInfra}) }},
	}
}

// downloadCall is a download request: who asks for which asset.
type downloadCall struct {
	user  ports.UserID
	asset ports.AssetID
}

type downloadRefusal struct {
	errorCase
	setup func(tw *twin, c *downloadCall)
}

// downloadOpenFailures are the downloads authorized whose archive then cannot
// be read.
func downloadOpenFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(tw *twin, b ports.Backup)
		rng   func(b ports.Backup) *ports.ByteRange
		want  error
		infra bool
	}{
		{name: "reports an archive gone from storage as a missing asset", want: backup.ErrAssetNotFound,
			setup: func(tw *twin, b ports.Backup) {
				must(tw.t, tw.objects.Delete(context.Background(), backup.ObjectKey(b.OrderID, b.ID)))
			}},
		{name: "reports a range outside the archive", want: backup.ErrInvalidRange,
			rng: func(b ports.Backup) *ports.ByteRange { return &ports.ByteRange{Offset: b.SizeBytes, Length: 10} }},
		{name: "wraps a storage failure", want: backup.ErrStorage, infra: true,
			setup: func(tw *twin, _ ports.Backup) { tw.inject("Objects.Get", fault{err: fmt.Errorf("s3: %w", errInfra)}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTwin(t)
			b := tw.downloadable()
			d := tw.download(b)
			if tc.setup != nil {
				tc.setup(tw, b)
			}
			var rng *ports.ByteRange
			if tc.rng != nil {
				rng = tc.rng(b)
			}
			rc, err := d.Open(context.Background(), rng)
			errorCase{want: tc.want, infra: tc.infra}.check(t, err)
			if rc != nil {
				t.Fatal("a failed Open returned a reader")
			}
		})
	}
}

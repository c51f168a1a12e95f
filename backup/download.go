package backup

import (
	"context"
	"errors"
	"io"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Download is an authorized asset, ready to be streamed: the HTTP layer reads the
// size and name from Asset to answer range requests, then calls Open.
type Download struct {
	// Asset describes the file: size, name, content type, checksum.
	Asset   ports.Asset
	objects ports.ObjectStore
}

// Download authorizes the caller to download an asset, the archive of a backup,
// the way every backup route is authorized: against the current owner of the
// backup's order (an order can change hands, and the former owner must lose
// access). A user holding ViewAllOrders who does not own the order may download
// only if Options.AllowStaffDownload says so. An asset that does not exist, one
// whose backup is being deleted, and one the caller may not download give the
// same ErrAssetNotFound, so IDs cannot be probed. Otherwise returns an error
// wrapping ErrDatabase.
func (s *Service) Download(ctx context.Context, user ports.UserID, id ports.AssetID) (*Download, error) {
	b, err := s.deps.Repository.FindByAsset(ctx, id)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "finding the asset's backup", s.notFound(err, ErrAssetNotFound))
	}
	if b.Deleting {
		return nil, ErrAssetNotFound
	}
	if err := s.mayDownload(ctx, user, b.OrderID); err != nil {
		return nil, err
	}
	a, err := s.deps.Assets.GetAsset(ctx, id)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "loading asset", s.notFound(err, ErrAssetNotFound))
	}
	return &Download{Asset: a, objects: s.deps.Objects}, nil
}

// mayDownload is authorizeOrder for downloads: staff need the host's consent,
// and every refusal looks like a missing asset.
func (s *Service) mayDownload(ctx context.Context, user ports.UserID, orderID ports.OrderID) error {
	_, staff, err := s.authorizeOrder(ctx, user, orderID, ErrAssetNotFound)
	switch {
	case errors.Is(err, ErrUnauthorized):
		return ErrAssetNotFound
	case err != nil || !staff:
		return err
	case s.opts.AllowStaffDownload == nil:
		return ErrAssetNotFound
	}
	ok, err := s.opts.AllowStaffDownload(ctx, user, orderID)
	if err != nil {
		return wrapInfra(ErrDatabase, "asking whether staff may download", err)
	}
	if !ok {
		return ErrAssetNotFound
	}
	return nil
}

// Open streams the file, or the byte range rng of it (nil for all of it). The
// caller closes the reader. Returns ErrAssetNotFound if the archive is gone,
// ErrInvalidRange, or an error wrapping ErrStorage.
func (d *Download) Open(ctx context.Context, rng *ports.ByteRange) (io.ReadCloser, error) {
	rc, _, err := d.objects.Get(ctx, d.Asset.Key, rng)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil, ErrAssetNotFound
	case err != nil:
		return nil, wrapInfra(ErrStorage, "opening archive", err)
	}
	return rc, nil
}

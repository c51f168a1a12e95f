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
	Asset   Asset
	objects ports.ObjectStore
}

// Download authorizes the caller to download an asset: only its owner may. An
// asset that does not exist and one that belongs to someone else give the same
// ErrAssetNotFound, so IDs cannot be probed. Otherwise returns an error wrapping
// ErrDatabase.
func (s *Service) Download(ctx context.Context, user UserID, id AssetID) (*Download, error) {
	a, err := s.deps.Assets.GetAsset(ctx, id)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "loading asset", s.notFound(err, ErrAssetNotFound))
	}
	if a.OwnerID != user {
		return nil, ErrAssetNotFound
	}
	return &Download{Asset: a, objects: s.deps.Objects}, nil
}

// Open streams the file, or the byte range rng of it (nil for all of it). The
// caller closes the reader. Returns ErrAssetNotFound if the archive is gone,
// ErrInvalidRange, or an error wrapping ErrStorage.
func (d *Download) Open(ctx context.Context, rng *ByteRange) (io.ReadCloser, error) {
	rc, _, err := d.objects.Get(ctx, d.Asset.Key, rng)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil, ErrAssetNotFound
	case err != nil:
		return nil, wrapInfra(ErrStorage, "opening archive", err)
	}
	return rc, nil
}

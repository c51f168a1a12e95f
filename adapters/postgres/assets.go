package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Assets implements ports.Assets on savepoint's own backup_assets table, which
// Migrate creates in the layout's schema. It works beside any host, whatever its
// own assets table (if it has one) looks like; a host that wants the archives in
// its own table implements ports.Assets itself instead.
type Assets struct {
	db                           DB
	createSQL, getSQL, deleteSQL string
}

var _ ports.Assets = (*Assets)(nil)

// NewAssets returns an Assets that runs its queries on db, on the backup_assets
// table Migrate created with the same layout.
func NewAssets(db DB, layout Layout) *Assets {
	t := layout.tables()
	return &Assets{
		db: db,
		createSQL: mustRender(`INSERT INTO {{.Assets}}
			(id, owner_id, key, file_name, content_type, size_bytes, sha256, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))`, t),
		getSQL: mustRender(`SELECT id, owner_id, key, file_name, content_type, size_bytes, sha256, created_at
			FROM {{.Assets}} WHERE id = $1`, t),
		deleteSQL: mustRender(`DELETE FROM {{.Assets}} WHERE id = $1`, t),
	}
}

// CreateAsset records a. Its ID must be new; ID, OwnerID and Key are required, and
// a zero CreatedAt means now.
func (s *Assets) CreateAsset(ctx context.Context, a ports.Asset) error {
	if a.ID.IsZero() || a.OwnerID.IsZero() || a.Key == "" {
		return fmt.Errorf("postgres: create asset %s: ID, owner and key are required", a.ID)
	}
	_, err := s.db.Exec(ctx, s.createSQL,
		a.ID, a.OwnerID, a.Key, a.FileName, a.ContentType, a.SizeBytes, a.SHA256, nullTime(a.CreatedAt))
	if violates(err, codeUniqueViolation, "backup_assets_pkey") {
		return dbError("create asset", fmt.Errorf("asset %s already exists: %w", a.ID, err))
	}
	if err != nil {
		return dbError("create asset "+a.ID.String(), err)
	}
	return nil
}

// GetAsset returns the asset. Returns ErrNotFound.
func (s *Assets) GetAsset(ctx context.Context, id ports.AssetID) (ports.Asset, error) {
	var a ports.Asset
	var created time.Time
	err := s.db.QueryRow(ctx, s.getSQL, id).
		Scan(&a.ID, &a.OwnerID, &a.Key, &a.FileName, &a.ContentType, &a.SizeBytes, &a.SHA256, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Asset{}, fmt.Errorf("postgres: asset %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Asset{}, dbError("get asset "+id.String(), err)
	}
	a.CreatedAt = created.UTC()
	return a, nil
}

// DeleteAsset removes the asset; a missing asset is not an error. A backup that
// names it keeps the asset ID (backups do not refer to this table, as the port
// may be implemented anywhere): the delete flow removes the asset, then the
// backup.
func (s *Assets) DeleteAsset(ctx context.Context, id ports.AssetID) error {
	if _, err := s.db.Exec(ctx, s.deleteSQL, id); err != nil {
		return dbError("delete asset "+id.String(), err)
	}
	return nil
}

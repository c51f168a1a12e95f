package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Assets is an in-memory ports.Assets.
type Assets struct {
	mu     sync.Mutex
	assets map[ports.AssetID]ports.Asset
}

var _ ports.Assets = (*Assets)(nil)

// NewAssets returns an empty Assets.
func NewAssets() *Assets {
	return &Assets{assets: make(map[ports.AssetID]ports.Asset)}
}

// CreateAsset records a. Its ID must be new; ID, OwnerID and Key are required, and
// a zero CreatedAt means now.
func (s *Assets) CreateAsset(ctx context.Context, a ports.Asset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: create asset: %w", err)
	}
	if a.ID.IsZero() || a.OwnerID.IsZero() || a.Key == "" {
		return fmt.Errorf("local: create asset %s: ID, owner and key are required", a.ID)
	}
	if a.SizeBytes < 0 {
		return fmt.Errorf("local: create asset %s: negative size", a.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.assets[a.ID]; ok {
		return fmt.Errorf("local: create asset: asset %s already exists", a.ID)
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	a.CreatedAt = dbTime(a.CreatedAt)
	s.assets[a.ID] = a
	return nil
}

// GetAsset returns the asset. Returns ErrNotFound.
func (s *Assets) GetAsset(ctx context.Context, id ports.AssetID) (ports.Asset, error) {
	if err := ctx.Err(); err != nil {
		return ports.Asset{}, fmt.Errorf("local: get asset: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.assets[id]
	if !ok {
		return ports.Asset{}, fmt.Errorf("local: asset %s: %w", id, ports.ErrNotFound)
	}
	return a, nil
}

// DeleteAsset removes the asset; a missing asset is not an error.
func (s *Assets) DeleteAsset(ctx context.Context, id ports.AssetID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: delete asset: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.assets, id)
	return nil
}

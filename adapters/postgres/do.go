package postgres

import (
	"context"
	"time"

	"github.com/samber/do/v2"
)

// openTimeout bounds Open inside Package, whose providers get no context from do;
// it covers connecting and waiting for another replica's migration.
const openTimeout = time.Minute

// Package returns a samber/do package that provides *Pool (opened from cfg on
// first use, migrated as cfg says), and *Repository, *Assets (both on
// cfg.Layout's tables) and *Catalog on that pool. The injector's Shutdown closes the pool and its HealthCheck pings it.
// Hosts that want the ports interfaces can bind them with do.As, for example
// do.As[*postgres.Repository, ports.Repository](injector).
func Package(cfg Config) func(do.Injector) {
	return do.Package(
		do.Lazy(func(do.Injector) (*Pool, error) {
			ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
			defer cancel()
			return Open(ctx, cfg)
		}),
		do.Lazy(func(i do.Injector) (*Repository, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewRepository(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (*Assets, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewAssets(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (*Catalog, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewCatalog(pool), nil
		}),
	)
}

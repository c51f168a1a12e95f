package postgres

import (
	"context"
	"time"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// openTimeout bounds Open inside Package, whose providers get no context from do;
// it covers connecting and waiting for another replica's migration.
const openTimeout = time.Minute

// Package returns a samber/do package that provides *Pool (opened from cfg on
// first use, migrated as cfg says), and on that pool *Repository, *Assets,
// *Schedules and *ActivityLog (on cfg.Layout's tables), also as
// ports.Repository, ports.Assets, ports.Schedules and ports.ActivityLog,
// *WebhookCursors (also as ports.WebhookCursors), and *Catalog.
// The catalog stays a *Catalog: a deployment that uses it as its ports.Orders and
// ports.Permissions binds it so itself (do.As), and a host with its own catalog
// is not in its way. The injector's Shutdown closes the pool and its HealthCheck
// pings it.
//
//	injector := do.New(postgres.Package(postgres.Config{URL: url}))
//	repo := do.MustInvoke[ports.Repository](injector)
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
		do.Lazy(func(i do.Injector) (ports.Repository, error) { return do.Invoke[*Repository](i) }),
		do.Lazy(func(i do.Injector) (*Assets, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewAssets(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (ports.Assets, error) { return do.Invoke[*Assets](i) }),
		do.Lazy(func(i do.Injector) (*Schedules, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewSchedules(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (ports.Schedules, error) { return do.Invoke[*Schedules](i) }),
		do.Lazy(func(i do.Injector) (*ActivityLog, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewActivityLog(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (ports.ActivityLog, error) { return do.Invoke[*ActivityLog](i) }),
		do.Lazy(func(i do.Injector) (*WebhookCursors, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewWebhookCursors(pool, cfg.Layout), nil
		}),
		do.Lazy(func(i do.Injector) (ports.WebhookCursors, error) { return do.Invoke[*WebhookCursors](i) }),
		do.Lazy(func(i do.Injector) (*Catalog, error) {
			pool, err := do.Invoke[*Pool](i)
			if err != nil {
				return nil, err
			}
			return NewCatalog(pool), nil
		}),
	)
}

package spriver

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/samber/do/v2"
)

// startTimeout bounds the Runner's start inside Package, whose providers get no
// context from do.
const startTimeout = time.Minute

// Package returns a samber/do package that provides a *Runner for opts, started
// when first invoked, on the injector's *pgxpool.Pool and Scheduler. The host
// provides those (a *backup.Service bound as Scheduler, for example with
// do.MustAs[*backup.Service, spriver.Scheduler]), and migrates River's tables
// before (MigrateStep). The injector's Shutdown stops the Runner before the
// pool and the service it depends on.
//
//	injector := do.New(spriver.Package(spriver.Options{}))
//	runner := do.MustInvoke[*spriver.Runner](injector)
func Package(opts Options) func(do.Injector) {
	return do.Package(
		do.Lazy(func(i do.Injector) (*Runner, error) {
			pool, err := do.Invoke[*pgxpool.Pool](i)
			if err != nil {
				return nil, err
			}
			scheduler, err := do.Invoke[Scheduler](i)
			if err != nil {
				return nil, err
			}
			r, err := New(pool, scheduler, opts)
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			if err := r.Start(ctx); err != nil {
				return nil, err
			}
			return r, nil
		}),
	)
}

package s3

import (
	"context"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Package registers a lazily built *Store for cfg in a samber/do injector, and
// the same store as ports.ObjectStore. The injector's health check calls
// Store.HealthCheck.
//
//	injector := do.New(s3.Package(cfg))
//	store := do.MustInvoke[ports.ObjectStore](injector)
func Package(cfg Config) func(do.Injector) {
	return do.Package(
		do.Lazy(func(do.Injector) (*Store, error) {
			// The context only reaches the SDK's loading of shared config files.
			return New(context.Background(), cfg)
		}),
		do.Lazy(func(i do.Injector) (ports.ObjectStore, error) {
			return do.Invoke[*Store](i)
		}),
	)
}

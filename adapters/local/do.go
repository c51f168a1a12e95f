package local

import (
	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Package registers a new in-memory *Repository, *Assets, *Schedules,
// *ActivityLog and *Catalog in a samber/do injector, with the repository as
// ports.Repository, the assets as ports.Assets, the schedules as
// ports.Schedules and the log, which the repository and the schedules both
// write, as ports.ActivityLog, as the postgres package does, and
// *WebhookCursors, also as ports.WebhookCursors. The catalog stays a *Catalog: a
// host that uses it as its ports.Orders and ports.Permissions binds it so itself
// (do.As), and one with its own catalog is not in its way.
//
//	injector := do.New(local.Package(), local.ObjectStorePackage("var/objects"))
//	repo := do.MustInvoke[ports.Repository](injector)
func Package() func(do.Injector) {
	return do.Package(
		do.Lazy(func(do.Injector) (*ActivityLog, error) { return NewActivityLog(), nil }),
		do.Lazy(func(i do.Injector) (ports.ActivityLog, error) { return do.Invoke[*ActivityLog](i) }),
		do.Lazy(func(i do.Injector) (*Repository, error) {
			log, err := do.Invoke[*ActivityLog](i)
			return NewRepositoryWithLog(log), err
		}),
		do.Lazy(func(i do.Injector) (ports.Repository, error) { return do.Invoke[*Repository](i) }),
		do.Lazy(func(do.Injector) (*Assets, error) { return NewAssets(), nil }),
		do.Lazy(func(i do.Injector) (ports.Assets, error) { return do.Invoke[*Assets](i) }),
		do.Lazy(func(i do.Injector) (*Schedules, error) {
			log, err := do.Invoke[*ActivityLog](i)
			return NewSchedulesWithLog(log), err
		}),
		do.Lazy(func(i do.Injector) (ports.Schedules, error) { return do.Invoke[*Schedules](i) }),
		do.Lazy(func(do.Injector) (*Catalog, error) { return NewCatalog(), nil }),
		do.Lazy(func(do.Injector) (*WebhookCursors, error) { return NewWebhookCursors(), nil }),
		do.Lazy(func(i do.Injector) (ports.WebhookCursors, error) { return do.Invoke[*WebhookCursors](i) }),
	)
}

// ObjectStorePackage registers the *ObjectStore in dir (opened on first use) in
// a samber/do injector, and the same store as ports.ObjectStore.
func ObjectStorePackage(dir string) func(do.Injector) {
	return do.Package(
		do.Lazy(func(do.Injector) (*ObjectStore, error) { return OpenObjectStore(dir) }),
		do.Lazy(func(i do.Injector) (ports.ObjectStore, error) { return do.Invoke[*ObjectStore](i) }),
	)
}

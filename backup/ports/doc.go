// Package ports is the contract between the backup service and the outside world.
//
// The interfaces here are outbound: the service in package backup calls them, and
// hosts and adapters implement them (adapters/postgres, adapters/s3, adapters/sidecar,
// adapters/local, or the host platform's own code). Nothing here depends on the
// domain, so adapters import this package alone and never package backup.
//
// The package also holds the records the interfaces carry (Backup, Order, Provision,
// Asset, Fence, Schedule, ScheduleRun), the distinct ID types, and the sentinel errors adapters report.
// Hosts import it to implement the interfaces, and use its records and IDs with
// the service; package backup re-exports only the errors, under the names its
// methods document.
//
// Every method documents the errors it returns. Errors other than the listed
// sentinels are infrastructure failures; the service wraps them in ErrDatabase,
// ErrStorage or ErrCluster.
package ports

//go:generate go tool mockgen -typed -destination=portsmock/ports.go -package=portsmock . Repository,Orders,Permissions,Assets,ObjectStore,SidecarDialer,FileIO,Schedules

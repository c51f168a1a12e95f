// Package backup is the domain of savepoint: backups of a game server's data that
// its owner can create, list, download, restore and delete.
//
// # Service
//
// A [Service] is built from the ports it needs ([Deps]: repository, order catalog,
// permissions, assets, object storage, sidecar dialer) and [Options] whose zero value
// means the documented defaults. Every method takes the calling user and checks that
// the user owns the order or holds ViewAllOrders, and that the provision and backup
// belong to that order.
//
// Creates and restores are accepted synchronously (the backup is returned in status
// creating or restoring) and run in the background on the service's [runner], never
// on the request's context. While they run they heartbeat; [Service.RunRecovery] on
// any replica settles operations whose heartbeat stopped, releases fences whose
// holder died, and sweeps storage for archives whose backup is gone
// ([Service.SweepOrphans]).
//
// The host's side: [Service.FenceOrder] holds an order's operation slot while the
// host reprovisions its game server, and [Service.DeleteOrderBackups] removes an
// order's backups when the order goes.
//
// # Status lifecycle
//
// [Apply] is the state machine: one pure function from a backup and an event to
// the next backup, with the table of every transition in its documentation. A
// failed restore returns the backup to ready with Error set, because its archive
// is intact and can be restored again; a failed create ends failed. A lock
// ([Service.LockBackup]) is not a status: a backup keeps it through creates and
// restores, and while it holds, only the host deleting the order
// ([Service.DeleteOrderBackups]) removes the backup.
//
// # Errors
//
// Methods return the sentinel errors of this package, usually wrapped; compare with
// errors.Is. Infrastructure failures wrap [ErrDatabase], [ErrStorage] or [ErrCluster].
//
// # Invariants
//
// Each order has one operation slot, held by at most one create, restore or fence,
// and at most Options.MaxBackupsPerProvision backups exist per provision. The
// repository enforces both atomically, so several replicas sharing a database stay
// correct; the checks the service makes first only give early, precise errors.
package backup

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
// # Excludes and pausing the game
//
// A create leaves out what the data directory's .savepointignore file and the
// request's own gitignore-style patterns ([CreateRequest].Excludes, a
// schedule's Excludes) match; the backup records both sets, and a restore of
// it keeps the server's current files they match instead of deleting them.
// Every create also asks the sidecar to pause the game's writes while it
// archives, by whatever method the sidecar is configured with: when that fails
// the backup is made anyway and carries the sidecar's warning
// (Backup.Quiesce), unless Options.FailWithoutQuiesce makes it fail.
//
// # Schedules
//
// With a [ports.Schedules] store in Deps, each primary game server may have one
// backup schedule ([Service.PutSchedule]): a cron expression (five fields, or a
// descriptor such as @daily or @every 6h) read in an IANA time zone, a name
// template ([RenderName]) and a retention policy. The host runs schedules with
// three calls, typically from a job queue on every replica:
// [Service.DueScheduledRuns] lists the slots that have come, one per schedule
// (after an outage, only the latest), [Service.AdvanceSchedule] moves a schedule
// on by compare-and-set, and [Service.RunScheduledBackup] runs a slot once
// however many replicas try: the store refuses a second claim of a slot. A run
// deletes what the retention policy lets go, rotates the oldest deletable backup
// out when the provision is at its limit, and creates the backup as
// [Service.CreateBackup] does; an order that is busy or fenced skips the slot.
// Each run's outcome (started, skipped or failed, and why) is recorded on the
// schedule. Retention and rotation never delete a locked backup, and delete
// backups made by hand only if Options.RetentionIncludesManual says so.
//
// Time zones are loaded from the machine's time zone database; a host whose
// machines have none imports time/tzdata.
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

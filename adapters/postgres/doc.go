// Package postgres stores backups in PostgreSQL with pgx v5, and keeps the
// service's invariants in the database, where every replica sees them:
//
//   - one operation slot per order, held by at most one create or restore or one
//     fence: a partial unique index on backups(order_id) for rows creating or
//     restoring decides between two backups (the loser gets
//     ports.ErrOperationInProgress), and a per-order advisory lock, taken for the
//     transaction by Create, by Update into creating or restoring, and by
//     Repository.AcquireFence, makes each of them check the slot and take it
//     with no other in between, so a fence (a row in backup_fences) and an active
//     backup never coexist (ports.ErrFenced);
//   - at most a given number of backups per provision: the count and the insert run
//     in one transaction under an advisory lock keyed by the provision, always
//     taken after the order's, so no two transactions wait for each other;
//   - status changes are compare-and-set (UPDATE … WHERE id = $1 AND status = $2),
//     and a delete first claims the row, after which no restore can start on it;
//   - foreign keys to the host's orders and provisions: deleting an order deletes
//     its backups, deleting a provision that still has backups is refused;
//   - one schedule per provision (a unique constraint), deleted with its order or
//     provision; a schedule's slot runs once, because (schedule, slot) is the
//     primary key of its runs, and its next run time moves by compare-and-set.
//
// # Schema
//
// The SQL migrations are embedded in the package. Migrate creates savepoint's
// own tables — backups, backup_assets, backup_fences, backup_schedules,
// backup_schedule_runs and savepoint_migrations —
// against the host platform's orders and provisions tables; MigrateStandalone
// first creates minimal versions of those (plus assets and permissions tables
// for Catalog), for a deployment without a host platform such as the example
// server. Both are versioned (table savepoint_migrations), idempotent, and
// serialised by an advisory lock keyed by the schema, so every replica can run
// them at start-up and separate schemas migrate independently. A host may pass
// both MigrateSteps of its own, for tables that are not savepoint's (a job
// queue's, for example): they run after savepoint's migrations, under the same
// lock, so one call at start-up brings the whole schema up to date.
//
// A Layout says where the tables go. Its zero value keeps them in the first
// schema on search_path, referring to tables named orders and provisions there,
// exactly as earlier versions did. Layout.Schema puts savepoint's tables in a
// schema of their own (created if missing), so that they cannot clash with the
// host's: every statement then names them schema-qualified and quoted.
// Layout.Orders and Layout.Provisions name the host's tables the foreign keys
// refer to, and Layout.NoForeignKeys creates no foreign keys at all, for hosts
// whose orders live elsewhere; deleting an order then leaves its backups to the
// service's order-deletion call and orphan sweep. Give Migrate, NewRepository,
// NewAssets, NewSchedules, NewActivityLog and Config the same Layout.
//
// Backups refer to no assets table: Assets keeps the archives' records in
// backup_assets, whatever the host's own assets table looks like, and a host may
// implement ports.Assets anywhere instead. Upgrading a database set up by
// MigrateStandalone moves the standalone assets table's rows into backup_assets;
// a host's own assets table is never touched.
//
// # Types
//
// Repository implements ports.Repository, Assets ports.Assets, Schedules
// ports.Schedules, and ActivityLog ports.ActivityLog, on savepoint's tables.
// Repository and Schedules write each event into the activity table in the
// transaction of the change it records, so the log is an outbox: no event is
// lost or recorded for a change that did not happen. Events refer to no host
// table, so they outlive their order; ActivityLog.DeleteOrderActivity erases
// an order's history when the host must. Catalog (ports.Orders and ports.Permissions, plus methods
// to record orders, provisions and permissions) works on the standalone host
// tables in the search path; a host platform usually implements those ports over
// its own tables instead. All of them take a DB, which *pgxpool.Pool satisfies.
//
// WebhookCursors implements ports.WebhookCursors on the webhook_cursors table:
// each webhook endpoint's place in the activity log, leased to one replica's
// dispatcher at a time by a conditional update judged by the database's clock.
//
// Pool wraps a *pgxpool.Pool with the Shutdown and HealthCheck methods samber/do
// calls, and Package provides all of the above to a do injector.
//
// Errors other than the ports sentinels wrap ports.ErrDatabase.
package postgres

// Package postgres stores backups in PostgreSQL with pgx v5, and keeps the
// service's invariants in the database, where every replica sees them:
//
//   - one operation in progress per order: a partial unique index on
//     backups(order_id) for rows creating or restoring; a create (INSERT) or
//     restore (UPDATE) that loses the race gets ports.ErrOperationInProgress;
//   - at most a given number of backups per provision: the count and the insert run
//     in one transaction under an advisory lock keyed by the provision;
//   - status changes are compare-and-set (UPDATE … WHERE id = $1 AND status = $2),
//     and a delete first claims the row, after which no restore can start on it;
//   - the seed's foreign keys: deleting an order deletes its backups, deleting a
//     provision that still has backups is refused.
//
// # Schema
//
// The SQL migrations are embedded in the package. Migrate creates the backups
// table against the host platform's own orders, provisions and assets tables;
// MigrateStandalone first creates minimal versions of those (plus a permissions
// table), for a deployment without a host platform such as the example server.
// Both are versioned (table savepoint_migrations), idempotent, and serialised by an
// advisory lock, so every replica can run them at start-up.
//
// # Types
//
// Repository implements ports.Repository. Assets (ports.Assets) and Catalog
// (ports.Orders and ports.Permissions, plus methods to record orders, provisions
// and permissions) work on the tables MigrateStandalone creates; a host platform
// usually implements those ports over its own tables instead. All of them take a
// DB, which *pgxpool.Pool satisfies.
//
// Pool wraps a *pgxpool.Pool with the Shutdown and HealthCheck methods samber/do
// calls, and Package provides all of the above to a do injector.
//
// Errors other than the ports sentinels wrap ports.ErrDatabase.
package postgres

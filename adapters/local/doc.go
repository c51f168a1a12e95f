// Package local implements the ports within one process, with no servers to run:
// an in-memory Repository, Assets, Schedules and Catalog (orders, provisions,
// permissions), and a directory-backed ObjectStore. They are the example server's zero-config
// defaults, and the reference implementations the contract suites in
// backup/ports/portstest are checked against.
//
// They are not mocks. The in-memory Repository keeps the same invariants as the
// PostgreSQL adapter — one operation slot per order, held by at most one create
// or restore or one fence; a limit of backups per provision checked atomically
// with the insert; compare-and-set status changes; deletes that claim the backup
// first — so code tested against it behaves the same against PostgreSQL. It also
// stores what PostgreSQL stores: at most ports.MaxSkippedListed skipped files per
// backup, an empty list as none, times to the microsecond, and its own copy of
// every list it is given. What it does not reproduce is the database's foreign
// keys (as with postgres.Layout.NoForeignKeys): a backup may name an order or
// provision the Catalog does not hold, and nothing cascades.
//
// The in-memory types lose their contents when the process exits. All types are
// safe for concurrent use.
package local

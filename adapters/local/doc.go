// Package local implements the ports within one process, with no servers to run:
// an in-memory Repository, Assets and Catalog (orders, provisions, permissions), and
// a directory-backed ObjectStore. They are the example server's zero-config
// defaults, and the reference implementations the contract suites in
// backup/ports/portstest are checked against.
//
// They are not mocks. The in-memory Repository keeps the same invariants as the
// PostgreSQL adapter — one operation in progress per order, a limit of backups per
// provision checked atomically with the insert, compare-and-set status changes, and
// deletes that claim the backup first — so code tested against it behaves the same
// against PostgreSQL. What it does not reproduce is the database's foreign keys: a
// backup may name an order or provision the Catalog does not hold. Times are kept
// to the microsecond, as PostgreSQL keeps them.
//
// The in-memory types lose their contents when the process exits. All types are
// safe for concurrent use.
package local

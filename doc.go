// Package savepoint gives the customers of a game-server hosting platform backups of
// their server data (Minecraft, FiveM, …): create, list, download, restore, delete.
// It is a library: the platform imports it and plugs in its own orders, permissions
// and storage; a standalone example server (examples/server) and a React dashboard
// (examples/dashboard) show the whole system working on their own.
//
// This package holds only documentation; the code lives in the packages below.
//
// # Overview
//
//	browser ─▶ adapters/http (huma, OpenAPI) ─▶ backup.Service ─▶ backup/ports
//	                                                                 │
//	           adapters/postgres · adapters/s3 · adapters/sidecar · adapters/local · host code
//
// The packages:
//
//   - backup: the domain. [backup.Service] runs the flows, [backup.Apply] is the
//     status state machine, the service runs creates and restores in the
//     background, and the sentinel errors say what went wrong.
//   - backup/ports: the interfaces the service needs (repository, order catalog,
//     permissions, assets, object storage, sidecar FileIO) and the records they
//     carry. Adapters implement them; they never import the domain.
//   - adapters/postgres: the repository on PostgreSQL (pgx v5), with the invariants
//     enforced by the database, embedded migrations, and an assets table and order
//     catalog for hosts without their own.
//   - adapters/s3: object storage on any S3-compatible service, streaming multipart
//     uploads of unknown length with bounded memory.
//   - adapters/sidecar: the gRPC FileIO client the service dials; its protocol is
//     adapters/sidecar/sidecarpb, and adapters/sidecar/server is the hardened
//     server that runs beside the game server and is the only thing that touches
//     the customer's files.
//   - adapters/http: the HTTP API (huma v2) with its OpenAPI document
//     (openapi.yaml) and RFC 9457 errors carrying a stable code.
//   - adapters/local: in-memory and directory-backed implementations of the ports,
//     keeping the same invariants; the example server's zero-config default.
//   - adapters/river: runs backup schedules on River, each slot once across replicas.
//   - adapters/webhook: delivers the activity log (every state change, written by
//     the stores in the change's own transaction) to the host's endpoints, signed,
//     in order and at least once.
//
// Operations are observable through the host's OpenTelemetry providers
// (backup.Options.MeterProvider and TracerProvider, and each adapter's own
// option): one trace per create or restore, across the platform and the sidecar.
//
// # Data path
//
// Create: the sidecar archives /data as a gzip-compressed tar and streams it over
// gRPC (falling back to staging it in the pod's /tmp on older sidecars), reporting
// the files it had to skip; the service pipes it into object storage while hashing
// it, records an asset and marks the backup ready with its size, SHA-256 and the
// skipped files. Nothing is held whole in memory, and a create writes nothing to
// the customer's volume. Restore: the archive streams from storage into the
// sidecar's extraction, safely (no entry can escape the destination), into a
// staging directory, hashed as it arrives; only if its SHA-256 and size match
// those recorded at create is the staged tree swapped in (an older sidecar gets
// it staged in its /tmp, verified, then extracted). On success the data
// directory holds exactly the archive's contents; otherwise it is as it was.
//
// # Status lifecycle
//
// A backup is creating, then ready or failed; a ready backup can be restored
// (restoring, then ready again) and a ready or failed one deleted. A failed
// restore returns the backup to ready with Error set: the archive is intact. A
// backup can be locked in any status ([backup.Service.LockBackup]): it cannot be
// deleted until it is unlocked, except by the host deleting its order.
// [backup.Apply] is the state machine, with its table of transitions. At most one
// create or restore runs per order, and at most ten backups (by default) exist per
// provision; the repository enforces both atomically. Running operations
// heartbeat; any replica's recovery loop settles those whose heartbeat stopped,
// so nothing stays stuck.
//
// # Errors
//
// [backup.ErrOrderNotFound], [backup.ErrProvisionNotFound], [backup.ErrBackupNotFound],
// [backup.ErrAssetNotFound], [backup.ErrNoSidecar], [backup.ErrOperationInProgress],
// [backup.ErrLimitReached], [backup.ErrStatusConflict], [backup.ErrBackupLocked], [backup.ErrUnauthorized],
// [backup.ErrBackupInProgress] (a fence refused while an operation runs),
// [backup.ErrReprovisioning] (an operation refused while the host holds the
// order's fence), [backup.ErrInvalidName];
// infrastructure failures wrap [backup.ErrDatabase], [backup.ErrStorage] or
// [backup.ErrCluster]. Compare with errors.Is. adapters/http maps each to one HTTP
// status and code.
//
// # Embedding
//
// Build the service from the ports, run its recovery loop, mount the HTTP API on
// your router, and shut it down before exiting; Example_embedding shows a
// platform doing so on its own PostgreSQL, beside its own orders, provisions and
// assets tables. Your reprovision flow holds the order's fence
// ([backup.Service.FenceOrder]) while it tears the game server down and builds
// it again, and your order deletion calls [backup.Service.DeleteOrderBackups];
// the recovery loop's orphan sweep removes the archives of backups whose records
// were deleted some other way.
//
// # Testing
//
// backup/ports/portstest holds one contract suite per port, run against both the
// local and the real adapters; integration tests talk to real PostgreSQL, an
// S3-protocol server and the gRPC sidecar on loopback. See the README.
package savepoint

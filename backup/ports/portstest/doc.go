// Package portstest holds the contract suites for the ports in backup/ports: one
// importable suite per port that any implementation — the adapters in this module,
// the in-memory reference in adapters/local, or a host platform's own — runs from
// its tests to show it keeps the semantics the port documents, the way
// gocloud.dev's drivertest checks every blob driver.
//
// Every suite has the same shape. The implementation describes itself in a
// harness, a struct whose New returns a fresh instance for one subtest and
// registers its cleanup; some harnesses have optional fields besides (an object
// store's part size, for one). Harnesses are structs rather than interfaces so that
// a suite can gain an option without breaking the hosts' harnesses outside this
// module. The suite's one entry point takes the harness:
//
//	func TestRepositoryContract(t *testing.T) {
//		portstest.RunRepositoryTests(t, portstest.RepositoryHarness{
//			New: func(t *testing.T) (ports.Repository, portstest.Host) { … },
//		})
//	}
//
// An entry point runs each behaviour as a subtest named by a sentence
// ("create refuses a backup while the order has one being restored"), so that
// a failure reads as the rule that was broken. The behaviours are all listed in
// one table in the entry point, each name with the method that checks it.
// The Repository, Schedules, Activity, WebhookCursors, Assets and Catalog suites run their subtests in parallel, so
// their harnesses' New must be safe to call concurrently; the ObjectStore and
// FileIO suites run theirs one at a time.
//
// Each suite also requires what the sections below list, beyond the ports' doc
// comments.
//
// # Repository
//
//   - Create takes a backup in status creating with its ID, order and provision
//     set, and refuses anything else with an error; a zero CreatedAt means now.
//     A duplicate ID is an error but neither ErrOperationInProgress nor
//     ErrLimitReached.
//   - Update never changes the name, IDs or creation time, and refuses an invalid
//     status with an error. Into an active status, its compare-and-set errors
//     (ErrNotFound, ErrStatusConflict) win over ErrOperationInProgress and
//     ErrFenced.
//   - Create and Update refuse, with an error, more than MaxSkippedListed skipped
//     files or a SkippedCount below the number listed. An empty list is stored as
//     none, and the store keeps its own copy of the list.
//   - ListByProvision orders backups created at the same instant by ID, newest
//     first.
//   - A fence is not an operation: HasActiveOperation ignores it, and updates into
//     ready or failed go ahead while it holds the slot.
//   - ListStale uses the creation time of a backup that never had a heartbeat, and
//     "older than before" is strict.
//   - Times round-trip exactly at microsecond precision.
//
// # Assets
//
//   - ID, OwnerID and Key are required; an asset without one is refused with an
//     error.
//   - A duplicate ID is refused and leaves the first asset as it was.
//   - A zero CreatedAt means now, and times round-trip at microsecond precision.
//
// # Catalog
//
//   - A duplicate order ID is refused.
//   - A provision needs an existing order: CreateProvision refuses one of an
//     unknown order with ErrNotFound.
//   - Granting ViewAllOrders twice is not an error.
//
// # Schedules
//
//   - Put refuses, with an error, what ports.ValidateSchedule refuses; zero
//     CreatedAt and UpdatedAt mean now, and times round-trip at microsecond
//     precision.
//   - ListDue orders schedules due at the same instant by ID.
//   - Advance of a paused schedule (no next run) moves nothing.
//   - FinishRun refuses an outcome that is not one of the three.
//   - The runs of a schedule that is deleted go with it: a new schedule of the
//     provision starts with none.
//
// # Activity
//
//   - The Repository and the Schedules store write into the one log the harness
//     returns, and an event's actor is ports.ActorFrom of the change's context,
//     except a run's, which is always its schedule's.
//   - Every event has an ID above 0 and a time; a change refused for any reason,
//     a heartbeat, an update that changes no status, a claim for deletion and a
//     fence record none.
//
// # WebhookCursors
//
//   - Claim, Save and Cursor are safe to call concurrently; Claim refuses an
//     empty endpoint ID or owner, or a lease that is not positive, with an
//     error.
//   - A lease may be claimed by another owner once it has expired, however
//     short it was (the suite waits for one of 300 ms to expire).
//   - LastError round-trips unless it is longer than MaxWebhookErrorLen, is not
//     valid UTF-8 or holds NUL bytes: it is stored as TruncateWebhookError
//     returns it. NextAttemptAt round-trips at microsecond precision.
//
// # ObjectStore
//
//   - A range is valid when Offset >= 0, Length >= 1 and Offset+Length <= size;
//     anything else, including every range of an empty object, is ErrInvalidRange
//     (never a shortened read).
//   - A Put that fails (reader error, cancelled context) leaves no object under a
//     new key, and leaves an existing object under the key exactly as it was: a
//     store replaces atomically on success only.
//   - Keys are slash-separated relative paths; "", absolute paths, empty
//     segments and "." or ".." segments are rejected with an error by every
//     method.
//   - List orders keys by their bytes (as S3 does), so "a-b" comes before
//     "a/c", which comes before "a0", whatever a store's layout.
//   - RemoveAbandoned never disturbs a Put started after the given time, and
//     never removes a completed object.
//
// # FileIO
//
//   - Archives are gzip-compressed tars whose entries are named relative to the
//     source directory, and store directories, regular files (content and
//     permission bits) and symbolic links (as links, with their targets as they
//     are, wherever they point), whatever their names (".savepoint-…" included).
//   - Archive reports count the entries and file bytes archived.
//   - ExtractTo refuses an entry named with "..", wrapping ErrCluster.
//   - RestoreArchive either restores or reports ErrUnsupported before reading
//     anything; one that restores reports a flipped byte, missing bytes or
//     another recorded checksum as ErrArchiveDamaged.
//   - Errors of every method wrap ErrCluster, except a WriteFile whose reader
//     fails, which may report the reader's error instead.
package portstest

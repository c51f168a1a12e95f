// Package reliability holds savepoint's crash, replica and fault suites. It has
// no code of its own: its tests run the example server in real mode (PostgreSQL,
// versitygw, the FileIO sidecar binary) as separate processes on 127.0.0.1, break
// them the way production breaks them — kill -9, a second replica, a storage
// server that dies, database connections cut by the server, one flipped byte on
// disk — and check over HTTP, in the database, in the bucket and on the sidecar's
// disks what a user would find afterwards.
//
// What the tests prove:
//
//   - Crash: a server killed in the middle of a create or a restore leaves no
//     backup stuck: after a restart, within the stale timeout plus one recovery
//     interval, the create is failed and the restore is ready with an error; the
//     order accepts a new operation, which succeeds; no partial object, open
//     multipart upload or sidecar temp file is left; an interrupted restore leaves
//     the data directory as it was. A sidecar killed as well removes its own
//     stale files when it starts again.
//   - Two replicas: two servers started at the same moment on one database both
//     migrate and come up; each sees the other's backups; when the one running an
//     operation is killed, the other's recovery loop settles it and the order
//     accepts new work through the survivor.
//   - Faults: the sidecar killed mid-stream, the S3 server stopped mid-upload and
//     mid-download, the server's PostgreSQL connections terminated mid-operation,
//     and a stored archive with one byte flipped each end in the documented state
//     with a short, user-readable error, leave the data directory as it was where
//     the design promises it, and a retry succeeds once the fault is gone.
//
// The tests share one generated game world (internal/gamedata, large enough that
// a create or restore lasts seconds, so a kill reliably lands mid-flight, and
// each test checks that it did); restore tests work on their own copy. Run with:
//
//	go test -race ./internal/reliability/
//
// They need PostgreSQL (SAVEPOINT_TEST_DATABASE_URL) and versitygw
// (scripts/install-tool-versitygw.sh); without them they skip, and fail in CI.
package reliability

// Package hardening holds savepoint's load, authorization and abuse suites. It
// has no code of its own: its tests run the example server (and, in real mode,
// PostgreSQL, versitygw and the FileIO sidecar binary) as separate processes and
// attack them over HTTP and raw TCP, the way a client on the internet would.
//
// What the tests prove:
//
//   - Load: 200 orders creating and listing backups at once all reach ready,
//     with no 5xx, no deadlock, and 409s only where the one-operation-per-order
//     rule says; throughput and p50/p99 latencies are logged.
//   - Authorization: every route × {owner, another user, a ViewAllOrders support
//     user, no credentials, bad credentials} answers the expected status and
//     code, and a refused request changes nothing.
//   - Abuse: oversized, malformed, mistyped and over-long bodies, hostile names,
//     invalid and mismatched IDs, path traversal, slow and huge requests are
//     refused with a problem+json invalid_input or not_found, never a 5xx; 5xx
//     bodies carry only a generic sentence and an instance ID; tokens, sidecar
//     secrets and S3 credentials appear neither in any process's output nor
//     (for secrets) in its command line.
//
// Run with:
//
//	go test -race ./internal/hardening/
//
// Real-mode tests need PostgreSQL (SAVEPOINT_TEST_DATABASE_URL) and versitygw
// (scripts/install-tool-versitygw.sh); without them they skip, and fail in CI.
package hardening

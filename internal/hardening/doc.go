// Package hardening holds savepoint's load, authorization and abuse suites. It
// has no code of its own: its tests run the example server (and, in real mode,
// PostgreSQL, versitygw and the FileIO sidecar binary) as separate processes and
// attack them over HTTP and raw TCP, the way a client on the internet would.
//
// What the tests prove:
//
//   - TestLoad: 200 orders creating and listing backups at once all reach
//     ready with their archives stored, with no 5xx and no deadlock, and a 409
//     only while the order really has a backup running; it logs throughput and
//     p50/p99 latencies.
//   - TestAuthorizationMatrix: every route × {owner, another user, a
//     ViewAllOrders user, no credentials, bad credentials} answers the expected
//     status and code, and a refused request changes and reveals nothing;
//     TestAuthorizationMatrixCoversEveryOperation fails when an operation of
//     the API has no row in it.
//   - TestHostileCreateBodies, TestHostileIDs: oversized, malformed, mistyped
//     and over-long bodies, hostile names, invalid, mismatched and
//     path-climbing IDs are refused with invalid_input or not_found, never a
//     5xx, and change nothing.
//   - TestSlowClients, TestHugeHeaders: slowloris clients are cut off by the
//     server's timeouts while others are served; oversized headers get 431.
//   - TestServerErrorsRevealNothing: a 5xx carries only a fixed sentence and an
//     instance ID, whose log line holds the cause.
//   - TestSecretsStayOutOfLogs: tokens, sidecar secrets and S3 keys appear in
//     no process's output, no response, and (secrets) no command line.
//
// Run with:
//
//	go test -race ./internal/hardening/
//
// Real-mode tests need PostgreSQL (SAVEPOINT_TEST_DATABASE_URL) and versitygw
// (scripts/install-tool-versitygw.sh); without them they skip, and fail in CI.
// TestLoad is skipped under -short outside CI.
package hardening

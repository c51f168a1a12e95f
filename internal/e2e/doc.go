// Package e2e runs savepoint's real processes for end-to-end tests and the
// throughput benchmark: the example server (zero-config or real mode), the FileIO
// sidecar binary, and an HTTP client for the backup API. Everything listens on
// 127.0.0.1 and is stopped when the test ends.
package e2e

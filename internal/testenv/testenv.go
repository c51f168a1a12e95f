// Package testenv finds the real servers that integration tests talk to (PostgreSQL,
// an S3-protocol server, tool binaries) and decides what happens when one is
// missing: on a laptop the test is skipped with the reason; in CI (CI=true) a
// missing server is a failure, so a test can never skip silently there.
package testenv

import (
	"os"
	"strconv"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true, as set by .ci/run).
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Unavailable stops the test because a server or tool it needs is missing: a skip
// on a laptop, a fatal failure in CI.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("required in CI: "+format, args...)
	}
	tb.Skipf("skipped (set CI=true to make this a failure): "+format, args...)
}

// Short skips a slow test under -short, except in CI where every test runs.
func Short(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() && !InCI() {
		tb.Skip("slow test skipped under -short: " + why)
	}
}

package portstest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// behaviour is one behaviour a suite checks: the subtest's name, a sentence that
// people search the code for, and the suite's method that checks it.
type behaviour[S any] struct {
	name string
	test func(S, *testing.T)
}

// run runs each behaviour in a subtest of its own, on the suite setUp returns for
// that subtest. setUp decides whether the subtests run in parallel, because only
// it knows whether the harness's instances may be made concurrently.
func run[S any](t *testing.T, setUp func(t *testing.T) S, behaviours []behaviour[S]) {
	t.Helper()
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) { b.test(setUp(t), t) })
	}
}

// epoch is where the suites' clocks start: fixed, so that stored times can be
// compared exactly, and with microseconds, the precision PostgreSQL keeps.
func epoch() time.Time { return time.Date(2026, time.March, 14, 15, 9, 26, 535_897_000, time.UTC) }

// digest is a SHA-256 in the form records keep it, for records whose content the
// suite never reads.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

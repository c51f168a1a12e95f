package portstest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
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

// failingReader delivers remaining bytes of r and then fails with err.
type failingReader struct {
	r         io.Reader
	remaining int64
	err       error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if f.remaining <= 0 {
		return 0, f.err
	}
	if int64(len(b)) > f.remaining {
		b = b[:f.remaining]
	}
	n, err := f.r.Read(b)
	f.remaining -= int64(n)
	return n, err
}

// callbackReader calls fn once, after at bytes have been read, and keeps reading.
type callbackReader struct {
	r    io.Reader
	at   int64
	read int64
	fn   func()
	done bool
}

func (c *callbackReader) Read(b []byte) (int, error) {
	if !c.done && c.read+int64(len(b)) > c.at {
		b = b[:max(c.at-c.read, 1)]
	}
	n, err := c.r.Read(b)
	c.read += int64(n)
	if !c.done && c.read >= c.at {
		c.done = true
		c.fn()
	}
	return n, err
}

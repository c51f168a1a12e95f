package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries a delivery's signature.
const SignatureHeader = "Savepoint-Signature"

// DefaultTolerance is how far a signature's time may be from the receiver's
// clock when Verify is given no tolerance: long enough for a delivery's
// retries of one attempt and some clock skew, short enough that a captured
// request cannot be replayed for long.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns.
var (
	// ErrMalformedSignature: the header is missing, or not of the form
	// t=<unix seconds>,v1=<hex>.
	ErrMalformedSignature = errors.New("webhook: malformed " + SignatureHeader + " header")
	// ErrSignatureMismatch: no v1 signature in the header is the body's under
	// the secret: the body was changed, or the secret is not the sender's.
	ErrSignatureMismatch = errors.New("webhook: signature does not match")
	// ErrSignatureExpired: the signature's time is further from now than the
	// tolerance, so the request may be a replay.
	ErrSignatureExpired = errors.New("webhook: signature time outside the tolerance")
)

// Sign returns the SignatureHeader value for body signed with secret at t:
// t=<unix seconds>,v1=<hex of HMAC-SHA256(secret, "<unix seconds>.<body>")>.
// The dispatcher signs every delivery so; receivers' tests may use it to make
// signed requests.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks that header, a request's SignatureHeader, signs body with
// secret at a time within tolerance of now (DefaultTolerance when tolerance is
// not positive). Receivers call it on the raw body, before decoding it, and
// answer a non-2xx status when it fails. The comparison takes constant time.
// It accepts several v1 entries (any one may match), so a sender may sign with
// two secrets while one replaces the other.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("webhook: verify: empty secret")
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts   string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformedSignature
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrMalformedSignature
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil {
				return ErrMalformedSignature
			}
			sigs = append(sigs, sig)
		}
		// Other schemes are ignored, so that a sender may add one without
		// breaking receivers.
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformedSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrSignatureMismatch
}

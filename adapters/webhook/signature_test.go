package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
)

func TestVerify(t *testing.T) {
	secret := []byte("whsec-test")
	body := []byte(`{"id":1,"type":"backup.ready"}`)
	at := time.Unix(1_780_000_000, 0)
	header := webhook.Sign(secret, body, at)

	for _, tc := range []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"a signature made with the secret verifies", secret, header, body, at, nil},
		{"a signature verifies within the tolerance either way", secret, header, body, at.Add(-4 * time.Minute), nil},
		{"one matching v1 among several verifies", secret, header + ",v1=" + strings.Repeat("00", 32), body, at, nil},
		{"spaces after the commas are accepted", secret, strings.ReplaceAll(header, ",", ", "), body, at, nil},
		{"another scheme's entry is ignored", secret, header + ",v0=abc", body, at, nil},
		{"a changed body does not verify", secret, header, []byte(`{"id":2,"type":"backup.ready"}`), at, webhook.ErrSignatureMismatch},
		{"another secret does not verify", []byte("whsec-other"), header, body, at, webhook.ErrSignatureMismatch},
		{"a changed time does not verify", secret, strings.Replace(header, "t=1780000000", "t=1780000001", 1), body, at, webhook.ErrSignatureMismatch},
		{"a signature older than the tolerance is refused", secret, header, body, at.Add(6 * time.Minute), webhook.ErrSignatureExpired},
		{"a signature from the future beyond the tolerance is refused", secret, header, body, at.Add(-6 * time.Minute), webhook.ErrSignatureExpired},
		{"a missing header is malformed", secret, "", body, at, webhook.ErrMalformedSignature},
		{"a header without t is malformed", secret, "v1=" + strings.Repeat("ab", 32), body, at, webhook.ErrMalformedSignature},
		{"a header without v1 is malformed", secret, "t=1780000000", body, at, webhook.ErrMalformedSignature},
		{"a header with two times is malformed", secret, "t=1,t=2," + header, body, at, webhook.ErrMalformedSignature},
		{"a v1 that is not hex is malformed", secret, "t=1780000000,v1=zz", body, at, webhook.ErrMalformedSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("no tolerance means the default", func(t *testing.T) {
		if err := webhook.Verify(secret, header, body, at.Add(webhook.DefaultTolerance-time.Second), 0); err != nil {
			t.Errorf("within the default: %v", err)
		}
		if err := webhook.Verify(secret, header, body, at.Add(webhook.DefaultTolerance+time.Second), 0); !errors.Is(err, webhook.ErrSignatureExpired) {
			t.Errorf("beyond the default: %v, want ErrSignatureExpired", err)
		}
	})
	t.Run("an empty secret verifies nothing", func(t *testing.T) {
		if err := webhook.Verify(nil, webhook.Sign(nil, body, at), body, at, 0); err == nil {
			t.Error("Verify with an empty secret succeeded")
		}
	})
}

// TestSignatureIsPlainHMAC: the header is what the package doc tells other
// languages to compute, byte for byte.
func TestSignatureIsPlainHMAC(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"id":7}`)
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.%s", 1_780_000_000, body)
	want := "t=1780000000,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := webhook.Sign(secret, body, time.Unix(1_780_000_000, 0)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

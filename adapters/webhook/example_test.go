package webhook_test

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
)

// A receiver checks the signature on the raw body before using it, and
// answers 2xx once it has taken the event; it ignores an Idempotency-Key it
// has seen, since an event may come more than once.
func ExampleVerify() {
	secret := []byte("the endpoint's secret")
	var (
		mu   sync.Mutex
		seen = map[string]bool{} // a real receiver keeps these durably
	)
	http.HandleFunc("/savepoint", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if key := r.Header.Get("Idempotency-Key"); !seen[key] {
			seen[key] = true
			// decode body into a webhook.Event and act on it
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

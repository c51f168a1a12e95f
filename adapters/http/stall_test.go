package http

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A client that stops reading a download is cut off once the stall timeout
// passes, while one that keeps reading gets everything however long it takes.
func TestStallGuardCutsOffAClientThatStopsReading(t *testing.T) {
	const size = 64 << 20 // more than loopback socket buffers absorb
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "67108864")
		g := newStallGuard(w, 200*time.Millisecond)
		io.CopyBuffer(g, io.LimitReader(zeros{}, size), make([]byte, 256<<10))
	}))
	defer srv.Close()

	t.Run("a stalled reader loses the connection", func(t *testing.T) {
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		time.Sleep(time.Second) // stop reading for five times the timeout
		n, err := io.Copy(io.Discard, res.Body)
		if err == nil && n == size {
			t.Fatalf("the stalled client still received all %d bytes", n)
		}
	})
	t.Run("a reader that keeps reading gets everything", func(t *testing.T) {
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err != nil || n != size {
			t.Fatalf("read %d bytes, %v; want %d", n, err, size)
		}
	})
}

// Writers that cannot set deadlines are written to plainly.
func TestStallGuardWithoutDeadlines(t *testing.T) {
	var buf bytes.Buffer
	if _, err := newStallGuard(&buf, time.Millisecond).Write([]byte("ok")); err != nil || buf.String() != "ok" {
		t.Fatalf("wrote %q, %v", buf.String(), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

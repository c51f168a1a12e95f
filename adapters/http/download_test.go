package http_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// hundredBytes is a file whose every byte says where it is, so a wrong range
// cannot go unnoticed.
func hundredBytes() []byte {
	b := make([]byte, 100)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestDownloadWholeFile(t *testing.T) {
	w := newWorld(t)
	content := hundredBytes()
	a := w.seedAsset(w.alice, "world.tar.gz", content)

	rec := w.call(http.MethodGet, assetURL(a.ID), aliceToken, nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), content) {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body.Bytes())
	}
	for header, want := range map[string]string{
		"Content-Type":        "application/gzip",
		"Content-Length":      "100",
		"Content-Disposition": `attachment; filename=world.tar.gz`,
		"Accept-Ranges":       "bytes",
		"ETag":                `"` + a.SHA256 + `"`,
		"Last-Modified":       "Sat, 01 Mar 2025 12:00:00 GMT",
		"Cache-Control":       "private, no-store",
		"Content-Range":       "",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
}

func TestDownloadRanges(t *testing.T) {
	w := newWorld(t)
	content := hundredBytes()
	a := w.seedAsset(w.alice, "world.tar.gz", content)
	etag := `"` + a.SHA256 + `"`

	tests := []struct {
		name         string
		headers      []string
		status       int
		first, last  int // the bytes expected, inclusive (206 only)
		contentRange string
	}{
		{name: "the first byte", headers: []string{"Range: bytes=0-0"}, status: 206, first: 0, last: 0, contentRange: "bytes 0-0/100"},
		{name: "a range in the middle", headers: []string{"Range: bytes=10-19"}, status: 206, first: 10, last: 19, contentRange: "bytes 10-19/100"},
		{name: "the last ten bytes", headers: []string{"Range: bytes=-10"}, status: 206, first: 90, last: 99, contentRange: "bytes 90-99/100"},
		{name: "a suffix longer than the file is the whole file", headers: []string{"Range: bytes=-500"}, status: 206, first: 0, last: 99, contentRange: "bytes 0-99/100"},
		{name: "from an offset to the end", headers: []string{"Range: bytes=42-"}, status: 206, first: 42, last: 99, contentRange: "bytes 42-99/100"},
		{name: "the last byte", headers: []string{"Range: bytes=99-99"}, status: 206, first: 99, last: 99, contentRange: "bytes 99-99/100"},
		{name: "an end past the file is cut at the end", headers: []string{"Range: bytes=95-1000"}, status: 206, first: 95, last: 99, contentRange: "bytes 95-99/100"},
		{name: "the unit is case-insensitive", headers: []string{"Range: Bytes=1-2"}, status: 206, first: 1, last: 2, contentRange: "bytes 1-2/100"},
		{name: "a range with a matching If-Range", headers: []string{"Range: bytes=5-9", "If-Range: " + etag}, status: 206, first: 5, last: 9, contentRange: "bytes 5-9/100"},
		{name: "a start just past the end is not satisfiable", headers: []string{"Range: bytes=100-"}, status: 416},
		{name: "a start far past the end is not satisfiable", headers: []string{"Range: bytes=99999999999999999999999-"}, status: 416},
		{name: "an empty suffix is not satisfiable", headers: []string{"Range: bytes=-0"}, status: 416},
		{name: "several ranges get the whole file", headers: []string{"Range: bytes=0-1,5-6"}, status: 200},
		{name: "a reversed range is ignored", headers: []string{"Range: bytes=9-5"}, status: 200},
		{name: "a malformed range is ignored", headers: []string{"Range: bytes=abc"}, status: 200},
		{name: "a signed position is ignored", headers: []string{"Range: bytes=+5-9"}, status: 200},
		{name: "another unit is ignored", headers: []string{"Range: items=0-1"}, status: 200},
		{name: "a stale If-Range gets the whole file", headers: []string{"Range: bytes=5-9", `If-Range: "0000"`}, status: 200},
		{name: "a date in If-Range gets the whole file", headers: []string{"Range: bytes=5-9", "If-Range: Sat, 01 Mar 2025 12:00:00 GMT"}, status: 200},
		{name: "a stale If-Range makes even an unsatisfiable range the whole file", headers: []string{"Range: bytes=500-", `If-Range: "0000"`}, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := w.call(http.MethodGet, assetURL(a.ID), aliceToken, nil, tc.headers...)
			switch tc.status {
			case http.StatusPartialContent:
				want := content[tc.first : tc.last+1]
				if rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), want) {
					t.Fatalf("status %d, body %v; want 206 with %v", rec.Code, rec.Body.Bytes(), want)
				}
				if got := rec.Header().Get("Content-Range"); got != tc.contentRange {
					t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
				}
				if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(want)) {
					t.Errorf("Content-Length %q, want %d", got, len(want))
				}
			case http.StatusOK:
				if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), content) || rec.Header().Get("Content-Range") != "" {
					t.Fatalf("status %d, %d bytes, Content-Range %q; want the whole file", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Range"))
				}
			case http.StatusRequestedRangeNotSatisfiable:
				problem(t, rec, 416, sphttp.CodeRangeNotSatisfiable)
				if got := rec.Header().Get("Content-Range"); got != "bytes */100" {
					t.Errorf("Content-Range %q, want bytes */100", got)
				}
			}
		})
	}
}

func TestDownloadEmptyFile(t *testing.T) {
	w := newWorld(t)
	a := w.seedAsset(w.alice, "empty.tar.gz", nil)
	if rec := w.call(http.MethodGet, assetURL(a.ID), aliceToken, nil); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "0" {
		t.Fatalf("whole empty file: %d, %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
	rec := w.call(http.MethodGet, assetURL(a.ID), aliceToken, nil, "Range: bytes=-1")
	problem(t, rec, 416, sphttp.CodeRangeNotSatisfiable)
	if got := rec.Header().Get("Content-Range"); got != "bytes */0" {
		t.Errorf("Content-Range %q, want bytes */0", got)
	}
}

func TestDownloadAccess(t *testing.T) {
	w := newWorld(t)
	alices := w.seedAsset(w.alice, "alice.tar.gz", hundredBytes())

	t.Run("someone else's file is not found, exactly like a missing one", func(t *testing.T) {
		theirs := problem(t, w.call(http.MethodGet, assetURL(alices.ID), bobToken, nil), 404, sphttp.CodeNotFound)
		missing := problem(t, w.call(http.MethodGet, assetURL(ports.NewAssetID()), bobToken, nil), 404, sphttp.CodeNotFound)
		if theirs.Detail != missing.Detail || theirs.Title != missing.Title {
			t.Errorf("the two answers differ, which lets IDs be probed: %+v vs %+v", theirs, missing)
		}
	})
	t.Run("ViewAllOrders does not extend to downloads", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, assetURL(alices.ID), adminToken, nil), 404, sphttp.CodeNotFound)
	})
	t.Run("a download needs credentials", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, assetURL(alices.ID), "", nil), 401, sphttp.CodeUnauthenticated)
	})
	t.Run("a malformed asset ID is invalid input", func(t *testing.T) {
		p := problem(t, w.call(http.MethodGet, "/api/v1/assets/123", aliceToken, nil), 422, sphttp.CodeInvalidInput)
		if len(p.Errors) != 1 || p.Errors[0].Location != "path.asset_id" {
			t.Errorf("the problem should point at path.asset_id: %+v", p.Errors)
		}
	})
	t.Run("a storage failure is 502 upstream_unavailable", func(t *testing.T) {
		w.objects.fail(errDatabaseDown, nil)
		defer w.objects.fail(nil, nil)
		rec := w.call(http.MethodGet, assetURL(alices.ID), aliceToken, nil)
		problem(t, rec, 502, sphttp.CodeUpstreamUnavailable)
		if strings.Contains(rec.Body.String(), "10.1.2.3") {
			t.Errorf("the body leaks the cause: %s", rec.Body)
		}
	})
	t.Run("a file whose archive is gone is not found", func(t *testing.T) {
		gone := w.seedAsset(w.alice, "gone.tar.gz", hundredBytes())
		must(t, w.objects.Delete(t.Context(), gone.Key))
		problem(t, w.call(http.MethodGet, assetURL(gone.ID), aliceToken, nil), 404, sphttp.CodeNotFound)
	})
}

func TestDownloadFileNames(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		fileName string
		fallback string // the ASCII filename parameter; "" when it is the name itself
	}{
		{name: "a plain name", fileName: "world.tar.gz"},
		{name: "a name with spaces", fileName: "Backup 2025-03-01 12:00 UTC.tar.gz"},
		{name: "a name with quotes", fileName: `My "best" world.tar.gz`},
		{name: "a name with a backslash and a semicolon", fileName: `a\b; filename=evil.sh.tar.gz`},
		{name: "a name with accents and an emoji", fileName: "Sauvegarde été 🎮.tar.gz", fallback: "Sauvegarde _t_ _.tar.gz"},
		{name: "a name in Japanese", fileName: "バックアップ.tar.gz", fallback: "______.tar.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := w.seedAsset(w.alice, tc.fileName, []byte("x"))
			rec := w.call(http.MethodGet, assetURL(a.ID), aliceToken, nil)
			header := rec.Header().Get("Content-Disposition")
			disposition, params, err := mime.ParseMediaType(header)
			if err != nil || disposition != "attachment" {
				t.Fatalf("Content-Disposition %q does not parse as an attachment: %v", header, err)
			}
			// Go's parser, like browsers, prefers filename* when present.
			if params["filename"] != tc.fileName {
				t.Errorf("file name %q, want %q (header %s)", params["filename"], tc.fileName, header)
			}
			if tc.fallback != "" {
				ascii := strings.Split(header, "; filename*=")[0]
				if _, p, err := mime.ParseMediaType(ascii); err != nil || p["filename"] != tc.fallback {
					t.Errorf("ASCII fallback of %s is %q, want %q (%v)", header, p["filename"], tc.fallback, err)
				}
			} else if strings.Contains(header, "filename*") {
				t.Errorf("an ASCII name needs no filename*: %s", header)
			}
		})
	}
}

// TestDownloadOverARealServer streams a file through net/http on loopback and
// resumes it half-way, as a download manager does after a dropped connection.
func TestDownloadOverARealServer(t *testing.T) {
	w := newWorld(t)
	content := make([]byte, 8<<20+123)
	for i := range content {
		content[i] = byte(i * 7 >> 3)
	}
	a := w.seedAsset(w.alice, "big.tar.gz", content)
	srv := httptest.NewServer(w.handler)
	defer srv.Close()

	get := func(headers map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+assetURL(a.ID), nil)
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := srv.Client().Do(req)
		must(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}

	full := get(nil)
	if full.StatusCode != 200 || full.ContentLength != int64(len(content)) {
		t.Fatalf("status %d, Content-Length %d; want 200 and %d", full.StatusCode, full.ContentLength, len(content))
	}
	half := make([]byte, len(content)/2)
	_, err := io.ReadFull(full.Body, half)
	must(t, err)
	full.Body.Close() // the connection drops half-way

	rest := get(map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(half)), "If-Range": full.Header.Get("ETag")})
	if rest.StatusCode != 206 {
		t.Fatalf("resume: status %d, want 206", rest.StatusCode)
	}
	tail, err := io.ReadAll(rest.Body)
	must(t, err)
	got := append(half, tail...)
	if !bytes.Equal(got, content) {
		t.Fatalf("the resumed download differs from the file (%d bytes, want %d)", len(got), len(content))
	}
	sum := sha256.Sum256(got)
	if etag := full.Header.Get("ETag"); etag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("ETag %s is not the file's sha256", etag)
	}
}

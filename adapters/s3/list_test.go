package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// countingTransport counts the listing requests a store sends.
type countingTransport struct {
	next                 http.RoundTripper
	listObjects, uploads atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		c.listObjects.Add(1)
	case r.Method == http.MethodGet && q.Has("uploads"):
		c.uploads.Add(1)
	}
	return c.next.RoundTrip(r)
}

// countingStore is a store on srv that asks for two entries per listing page
// and counts its listing requests.
func countingStore(t *testing.T, srv *testenv.S3Server) (*s3.Store, s3.Config, *countingTransport) {
	t.Helper()
	cfg := baseConfig(t, srv)
	client := srv.HTTPClient()
	counter := &countingTransport{next: client.Transport}
	client.Transport = counter
	cfg.HTTPClient = client
	store := newStore(t, srv, cfg)
	s3.SetListPageSize(store, 2)
	return store, cfg, counter
}

func collect(t *testing.T, store *s3.Store, prefix string) []ports.ObjectInfo {
	t.Helper()
	var infos []ports.ObjectInfo
	for info, err := range store.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		infos = append(infos, info)
	}
	return infos
}

func TestListPagesThroughTheObjects(t *testing.T) {
	forEachTransport(t, func(t *testing.T, srv *testenv.S3Server) {
		ctx := t.Context()
		store, _, counter := countingStore(t, srv)
		var want []string
		for i := range 7 {
			key := fmt.Sprintf("paged/%02d", i)
			want = append(want, key)
			if err := store.Put(ctx, key, portstest.NewPatternReader(int64(i), 1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.Put(ctx, "pagedX", portstest.NewPatternReader(1, 1)); err != nil {
			t.Fatal(err)
		}

		infos := collect(t, store, "paged/")
		var got []string
		for i, info := range infos {
			got = append(got, info.Key)
			if info.SizeBytes != int64(i) || info.ModTime.IsZero() {
				t.Errorf("object %d: %+v, want %d bytes and a modification time", i, info, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("List = %q, want %q", got, want)
		}
		if n := counter.listObjects.Load(); n != 4 {
			t.Errorf("List of 7 objects sent %d requests, want 4 pages of at most 2", n)
		}

		t.Run("asks for no page beyond the one the consumer stopped in", func(t *testing.T) {
			counter.listObjects.Store(0)
			for _, err := range store.List(ctx, "paged/") {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			if n := counter.listObjects.Load(); n != 1 {
				t.Errorf("List stopped after the first object sent %d requests, want 1", n)
			}
		})
	})
}

// stalledPut starts a multipart Put of key that sends one and a half parts and
// then waits for finish to be called, which ends its stream.
func stalledPut(t *testing.T, store *s3.Store, key string) (finish func() error) {
	t.Helper()
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src := &triggerReader{
		r:  &blockAtEnd{r: portstest.NewPatternReader(testPartSize+testPartSize/2, 3), release: release},
		at: testPartSize + testPartSize/2,
		fn: func() { close(reached) },
	}
	done := make(chan error, 1)
	go func() { done <- store.Put(context.Background(), key, src) }()
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("Put returned before its stream ended: %v", err)
	}
	return func() error {
		once.Do(func() { close(release) })
		return <-done
	}
}

// blockAtEnd reads r, then waits for release before reporting its end.
type blockAtEnd struct {
	r       *portstest.PatternReader
	release chan struct{}
}

func (b *blockAtEnd) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n == 0 && err != nil {
		<-b.release
	}
	return n, err
}

func TestRemoveAbandonedAbortsOnlyUploadsStartedBeforeTheTime(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	store, cfg, counter := countingStore(t, srv)
	ctx := t.Context()

	t.Run("a running Put is neither listed nor aborted", func(t *testing.T) {
		start := time.Now()
		finish := stalledPut(t, store, "running/object.bin")
		if got := collect(t, store, ""); len(got) != 0 {
			t.Errorf("List during the Put = %+v, want nothing", got)
		}
		n, err := store.RemoveAbandoned(ctx, "", start.Add(-time.Second))
		if err != nil || n != 0 {
			t.Errorf("RemoveAbandoned(before the Put started) = %d, %v; want 0, nil", n, err)
		}
		if open := openUploads(t, ctx, store, cfg.KeyPrefix); len(open) != 1 {
			t.Errorf("open uploads during the Put = %v, want the Put's", open)
		}
		if err := finish(); err != nil {
			t.Fatalf("the Put, after RemoveAbandoned: %v", err)
		}
		if got := collect(t, store, ""); len(got) != 1 || got[0].SizeBytes != testPartSize+testPartSize/2 {
			t.Errorf("List after the Put = %+v, want the whole object", got)
		}
	})

	t.Run("the uploads of killed writers under the prefix are aborted, across pages", func(t *testing.T) {
		for i := range 5 {
			leaveUpload(t, store, cfg.KeyPrefix, fmt.Sprintf("abandoned/%d.tar.gz", i))
		}
		other := leaveUpload(t, store, cfg.KeyPrefix, "kept/0.tar.gz")
		counter.uploads.Store(0)
		n, err := store.RemoveAbandoned(ctx, "abandoned/", time.Now().Add(time.Minute))
		if err != nil || n != 5 {
			t.Errorf("RemoveAbandoned = %d, %v; want 5, nil", n, err)
		}
		if c := counter.uploads.Load(); c < 3 {
			t.Errorf("RemoveAbandoned listed 5 uploads in %d requests, want pages of at most 2", c)
		}
		want := cfg.KeyPrefix + "kept/0.tar.gz (" + other + ")"
		if open := openUploads(t, ctx, store, cfg.KeyPrefix); !slices.Equal(open, []string{want}) {
			t.Errorf("open uploads = %v, want only the one outside the prefix, %s", open, want)
		}
		n, err = store.RemoveAbandoned(ctx, "", time.Now().Add(time.Minute))
		if err != nil || n != 1 {
			t.Errorf("RemoveAbandoned of the whole store = %d, %v; want 1, nil", n, err)
		}
		if files := srv.PartFiles(t); len(files) > 0 {
			t.Errorf("part data left on the server's disk: %v", files)
		}
		if got := collect(t, store, ""); len(got) != 1 {
			t.Errorf("objects after RemoveAbandoned = %+v, want the completed one untouched", got)
		}
	})
}

// fakeS3 answers every request with status and an S3 error document of code.
func fakeS3(t *testing.T, status int, code string) (*s3.Store, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>refused</Message></Error>`, code)
	}))
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	store, err := s3.New(t.Context(), s3.Config{
		Bucket: "bucket", Endpoint: srv.URL, UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: &s3.Credentials{AccessKeyID: "AKIDLIST", SecretAccessKey: "list-secret-never-logged"},
		Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, &logs
}

func TestListingFailures(t *testing.T) {
	t.Run("a failed listing is a storage failure", func(t *testing.T) {
		store, logs := fakeS3(t, http.StatusInternalServerError, "InternalError")
		var errs []error
		for info, err := range store.List(t.Context(), "backups/") {
			if err == nil {
				t.Errorf("List yielded %+v from a failing server", info)
				continue
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], ports.ErrStorage) {
			t.Errorf("List errors = %v, want one ErrStorage", errs)
		}
		if _, err := store.RemoveAbandoned(t.Context(), "backups/", time.Now()); !errors.Is(err, ports.ErrStorage) {
			t.Errorf("RemoveAbandoned error = %v, want ErrStorage", err)
		}
		if strings.Contains(logs.String(), "list-secret-never-logged") {
			t.Errorf("the secret key was logged: %s", logs)
		}
	})

	for _, code := range []string{"AccessDenied", "NotImplemented"} {
		t.Run("uploads that may not be listed ("+code+") are left to the lifecycle rule", func(t *testing.T) {
			status := http.StatusForbidden
			if code == "NotImplemented" {
				status = http.StatusNotImplemented
			}
			store, logs := fakeS3(t, status, code)
			n, err := store.RemoveAbandoned(t.Context(), "backups/", time.Now())
			if err != nil || n != 0 {
				t.Errorf("RemoveAbandoned = %d, %v; want 0, nil", n, err)
			}
			if !strings.Contains(logs.String(), "lifecycle rule") || !strings.Contains(logs.String(), code) {
				t.Errorf("no warning naming the lifecycle rule and %s in the log: %s", code, logs)
			}
			if strings.Contains(logs.String(), "list-secret-never-logged") {
				t.Errorf("the secret key was logged: %s", logs)
			}
		})
	}
}

// fakeUpload is an open multipart upload held by uploadServer.
type fakeUpload struct {
	key, id   string
	initiated time.Time
}

// uploadServer serves ListMultipartUploads and AbortMultipartUpload over a
// fixed set of uploads the way S3 documents them: a key marker with an
// upload-ID marker continues within the marker's key. Like some servers, it
// rejects an upload-ID marker that names no open upload.
type uploadServer struct {
	mu      sync.Mutex
	uploads []fakeUpload // sorted by key, then initiation
	aborted []string
}

func (u *uploadServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	q := r.URL.Query()
	if r.Method == http.MethodDelete {
		id := q.Get("uploadId")
		u.uploads = slices.DeleteFunc(u.uploads, func(f fakeUpload) bool { return f.id == id })
		u.aborted = append(u.aborted, id)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	start := 0
	switch {
	case idMarker != "":
		start = slices.IndexFunc(u.uploads, func(f fakeUpload) bool { return f.key == keyMarker && f.id == idMarker }) + 1
		if start == 0 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<Error><Code>InvalidArgument</Code><Message>Invalid uploadId marker</Message></Error>`)
			return
		}
	case keyMarker != "":
		start = slices.IndexFunc(u.uploads, func(f fakeUpload) bool { return f.key > keyMarker })
		if start < 0 {
			start = len(u.uploads)
		}
	}
	var max int
	fmt.Sscan(q.Get("max-uploads"), &max)
	page := u.uploads[start:min(start+max, len(u.uploads))]
	var b strings.Builder
	b.WriteString(`<ListMultipartUploadsResult><Bucket>bucket</Bucket>`)
	if start+len(page) < len(u.uploads) {
		last := page[len(page)-1]
		fmt.Fprintf(&b, `<IsTruncated>true</IsTruncated><NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>`, last.key, last.id)
	}
	for _, f := range page {
		fmt.Fprintf(&b, `<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiated>%s</Initiated></Upload>`,
			f.key, f.id, f.initiated.UTC().Format(time.RFC3339))
	}
	b.WriteString(`</ListMultipartUploadsResult>`)
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, b.String())
}

func TestRemoveAbandonedFollowsUploadMarkersWithinAKey(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	old, recent := now.Add(-time.Hour), now.Add(time.Minute)
	fake := &uploadServer{uploads: []fakeUpload{
		{"backups/a", "id1", old}, {"backups/a", "id2", old},
		{"backups/a", "id3", old}, {"backups/a", "id4", recent},
		{"backups/b", "id5", old},
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	store, err := s3.New(t.Context(), s3.Config{
		Bucket: "bucket", Endpoint: srv.URL, UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: &s3.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s3.SetListPageSize(store, 2)
	n, err := store.RemoveAbandoned(t.Context(), "backups/", now)
	if err != nil || n != 4 {
		t.Errorf("RemoveAbandoned = %d, %v; want 4, nil", n, err)
	}
	slices.Sort(fake.aborted)
	if want := []string{"id1", "id2", "id3", "id5"}; !slices.Equal(fake.aborted, want) {
		t.Errorf("aborted %q, want %q (every upload initiated before the time, and only those)", fake.aborted, want)
	}
}

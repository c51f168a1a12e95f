package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// testPartSize is the smallest part S3 allows, so multipart paths are exercised
// with little data.
const testPartSize = s3.MinPartSize

// transports are the two ways every integration test reaches the server.
var transports = []struct {
	name string
	tls  bool
}{
	{"over HTTP", false},
	{"over TLS", true},
}

// forEachTransport runs fn as a subtest per transport, each with its own server.
func forEachTransport(t *testing.T, fn func(t *testing.T, srv *testenv.S3Server)) {
	t.Helper()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			fn(t, testenv.S3(t, testenv.S3Options{TLS: tr.tls}))
		})
	}
}

// baseConfig is a Config for srv with a key prefix of its own, so tests sharing a
// server (or an external bucket) never see each other's keys.
func baseConfig(t *testing.T, srv *testenv.S3Server) s3.Config {
	t.Helper()
	return s3.Config{
		Bucket:        srv.Bucket,
		KeyPrefix:     "test-" + randomHex(t, 6) + "/",
		Region:        srv.Region,
		Endpoint:      srv.Endpoint,
		UsePathStyle:  srv.PathStyle,
		Credentials:   &s3.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey},
		PartSizeBytes: testPartSize,
		Concurrency:   2,
		RootCAs:       srv.RootCAs,
		AbortTimeout:  20 * time.Second,
	}
}

// newStore builds a store from cfg. At cleanup it fails the test if a multipart
// upload under the store's prefix is still open, or if part data is left on the
// server's disk, then deletes the store's objects.
func newStore(t *testing.T, srv *testenv.S3Server, cfg s3.Config) *s3.Store {
	t.Helper()
	store, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if uploads := openUploads(t, ctx, store, cfg.KeyPrefix); len(uploads) > 0 {
			t.Errorf("multipart uploads left open: %v", uploads)
		}
		if files := srv.PartFiles(t); len(files) > 0 {
			t.Errorf("multipart part data left on the server's disk: %v", files)
		}
		deleteAll(t, ctx, store, cfg.KeyPrefix)
	})
	return store
}

// openUploads lists the multipart uploads under prefix as "key (upload id)".
func openUploads(t *testing.T, ctx context.Context, store *s3.Store, prefix string) []string {
	t.Helper()
	var uploads []string
	p := awss3.NewListMultipartUploadsPaginator(store.Client(), &awss3.ListMultipartUploadsInput{
		Bucket: aws.String(store.Bucket()), Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListMultipartUploads: %v", err)
		}
		for _, u := range page.Uploads {
			uploads = append(uploads, aws.ToString(u.Key)+" ("+aws.ToString(u.UploadId)+")")
		}
	}
	return uploads
}

func deleteAll(t *testing.T, ctx context.Context, store *s3.Store, prefix string) {
	t.Helper()
	p := awss3.NewListObjectsV2Paginator(store.Client(), &awss3.ListObjectsV2Input{
		Bucket: aws.String(store.Bucket()), Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("ListObjectsV2: %v", err)
			return
		}
		for _, o := range page.Contents {
			if _, err := store.Client().DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(store.Bucket()), Key: o.Key}); err != nil {
				t.Errorf("cleanup: delete %s: %v", aws.ToString(o.Key), err)
			}
		}
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestStoreContract(t *testing.T) {
	checksums := []struct {
		name     string
		checksum s3.Checksum
	}{
		{"without flexible checksums (the default)", s3.ChecksumNone},
		{"with the SDK's CRC32 checksums", s3.ChecksumCRC32},
	}
	forEachTransport(t, func(t *testing.T, srv *testenv.S3Server) {
		for _, cs := range checksums {
			t.Run(cs.name, func(t *testing.T) {
				portstest.RunObjectStoreTests(t, portstest.ObjectStoreHarness{
					New: func(t *testing.T) ports.ObjectStore {
						cfg := baseConfig(t, srv)
						cfg.Checksum = cs.checksum
						return newStore(t, srv, cfg)
					},
					PartSize: testPartSize,
				})
			})
		}
	})
}

func TestStoreHealthCheck(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	cases := []struct {
		name    string
		mutate  func(*s3.Config)
		healthy bool
	}{
		{"passes with the right bucket and key", func(*s3.Config) {}, true},
		{"fails for a bucket that does not exist", func(c *s3.Config) { c.Bucket = "no-such-bucket-" + randomHex(t, 4) }, false},
		{"fails for a wrong secret key", func(c *s3.Config) { c.Credentials.SecretAccessKey = "wrong" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t, srv)
			tc.mutate(&cfg)
			store, err := s3.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = store.HealthCheck(t.Context())
			if tc.healthy && err != nil {
				t.Errorf("HealthCheck: %v", err)
			}
			if !tc.healthy && !errors.Is(err, ports.ErrStorage) {
				t.Errorf("HealthCheck error = %v, want ErrStorage", err)
			}
		})
	}
}

func TestPackageProvidesTheStoreAsAnObjectStore(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	cfg := baseConfig(t, srv)
	injector := do.New(s3.Package(cfg))
	store, err := do.Invoke[ports.ObjectStore](injector)
	if err != nil {
		t.Fatalf("Invoke[ports.ObjectStore]: %v", err)
	}
	if err := store.Put(t.Context(), "di/object", strings.NewReader("through do")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if errs := injector.HealthCheck(); len(errs) > 0 {
		for name, err := range errs {
			if err != nil {
				t.Errorf("health check of %s: %v", name, err)
			}
		}
	}
	concrete := do.MustInvoke[*s3.Store](injector)
	t.Cleanup(func() { deleteAll(t, context.Background(), concrete, cfg.KeyPrefix) })
	body, _, err := concrete.Get(t.Context(), "di/object", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if got, _ := io.ReadAll(body); string(got) != "through do" {
		t.Errorf("object = %q", got)
	}
}

// Many Puts at once must each stay within their own buffers and complete.
func TestStoreConcurrentMultipartPuts(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	store := newStore(t, srv, baseConfig(t, srv))
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Go(func() {
			errs <- store.Put(t.Context(), "parallel/"+string(rune('a'+i)), portstest.NewPatternReader(2*testPartSize+int64(i), byte(i)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i := range 3 {
		info, err := store.Stat(t.Context(), "parallel/"+string(rune('a'+i)))
		if err != nil || info.SizeBytes != 2*testPartSize+int64(i) {
			t.Errorf("object %d: %+v, %v", i, info, err)
		}
	}
}

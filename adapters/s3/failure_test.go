package s3_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// triggerReader streams a finite pattern and calls fn once, after `at` bytes,
// from inside Read — that is, while the Put is uploading earlier parts.
type triggerReader struct {
	r    io.Reader
	at   int64
	read int64
	fn   func()
	once sync.Once
}

func (tr *triggerReader) Read(b []byte) (int, error) {
	if tr.read < tr.at && tr.read+int64(len(b)) > tr.at {
		b = b[:tr.at-tr.read]
	}
	n, err := tr.r.Read(b)
	tr.read += int64(n)
	if tr.read >= tr.at {
		tr.once.Do(tr.fn)
	}
	return n, err
}

// assertNothingLeft checks the two ways a failed upload can leak: a completed
// object, and an open multipart upload.
func assertNothingLeft(t *testing.T, srv *testenv.S3Server, store *s3.Store, prefix, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Stat(ctx, key); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("Stat after the failed upload: %v, want ErrNotFound", err)
	}
	out, err := store.Client().ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(store.Bucket()), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	for _, o := range out.Contents {
		t.Errorf("object left behind: %s (%d bytes)", aws.ToString(o.Key), aws.ToInt64(o.Size))
	}
	if uploads := openUploads(t, ctx, store, prefix); len(uploads) > 0 {
		t.Errorf("multipart uploads left open: %v", uploads)
	}
	if files := srv.PartFiles(t); len(files) > 0 {
		t.Errorf("multipart part data left on the server's disk: %v", files)
	}
}

// failureConfig: one SDK attempt per request, so a stopped server fails the
// upload at once instead of after the SDK's backoff, whatever the timing.
func failureConfig(t *testing.T, srv *testenv.S3Server) s3.Config {
	cfg := baseConfig(t, srv)
	cfg.RetryMaxAttempts = 1
	return cfg
}

func TestUploadInterruptedByServerStop(t *testing.T) {
	forEachTransport(t, func(t *testing.T, srv *testenv.S3Server) {
		if !srv.Restartable() {
			t.Skip("the external S3 server cannot be stopped by the test")
		}
		cfg := failureConfig(t, srv)
		store := newStore(t, srv, cfg)

		// The server dies while part 3 or 4 is on the wire and comes back two
		// seconds later: the parts fail, and the abort's retries reach it.
		restarted := make(chan error, 1)
		var stoppedAt time.Time
		src := &triggerReader{
			r:  portstest.NewPatternReader(10*testPartSize, 5),
			at: 3*testPartSize + testPartSize/2,
			fn: func() {
				if err := srv.Stop(); err != nil {
					t.Errorf("stopping the server: %v", err)
				}
				stoppedAt = time.Now()
				go func() {
					time.Sleep(2 * time.Second)
					restarted <- srv.Start()
				}()
			},
		}
		err := store.Put(t.Context(), "stopped/object.bin", src)
		returned := time.Now()
		if err := <-restarted; err != nil {
			t.Fatalf("restarting the server: %v", err)
		}
		if err == nil {
			t.Fatal("Put succeeded although the server was stopped mid-upload")
		}
		if !errors.Is(err, ports.ErrStorage) {
			t.Errorf("Put error = %v, want ErrStorage", err)
		}
		if strings.Contains(err.Error(), "abort multipart upload") {
			t.Errorf("Put reports a failed abort, but the server came back within AbortTimeout: %v", err)
		}
		if returned.Sub(stoppedAt) < 2*time.Second {
			t.Errorf("Put returned %v after the stop, before the server was back: the abort cannot have reached it", returned.Sub(stoppedAt))
		}
		t.Logf("Put failed with: %v", err)
		assertNothingLeft(t, srv, store, cfg.KeyPrefix, "stopped/object.bin")
	})
}

func TestUploadCancelledMidway(t *testing.T) {
	forEachTransport(t, func(t *testing.T, srv *testenv.S3Server) {
		cfg := failureConfig(t, srv)
		store := newStore(t, srv, cfg)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src := &triggerReader{
			r:  portstest.NewPatternReader(10*testPartSize, 6),
			at: 3*testPartSize + testPartSize/2,
			fn: cancel,
		}
		err := store.Put(ctx, "cancelled/object.bin", src)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put error = %v, want context.Canceled", err)
		}
		if errors.Is(err, ports.ErrStorage) {
			t.Errorf("a cancelled Put reports a storage failure: %v", err)
		}
		assertNothingLeft(t, srv, store, cfg.KeyPrefix, "cancelled/object.bin")
	})
}

// When the server stays down past AbortTimeout the abort fails too; Put must say
// so (the upload is left for the bucket's lifecycle rule), not hide it.
func TestUploadReportsAFailedAbort(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	if !srv.Restartable() {
		t.Skip("the external S3 server cannot be stopped by the test")
	}
	cfg := failureConfig(t, srv)
	cfg.AbortTimeout = 1500 * time.Millisecond
	store, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := &triggerReader{
		r:  portstest.NewPatternReader(10*testPartSize, 7),
		at: 2*testPartSize + 1,
		fn: func() {
			if err := srv.Stop(); err != nil {
				t.Errorf("stopping the server: %v", err)
			}
		},
	}
	start := time.Now()
	putErr := store.Put(t.Context(), "abandoned/object.bin", src)
	elapsed := time.Since(start)
	if err := srv.Start(); err != nil {
		t.Fatalf("restarting the server: %v", err)
	}
	if putErr == nil {
		t.Fatal("Put succeeded although the server was stopped mid-upload")
	}
	if !strings.Contains(putErr.Error(), "upload part") || !strings.Contains(putErr.Error(), "abort multipart upload") {
		t.Errorf("Put error = %q, want both the part's failure and the abort's", putErr)
	}
	t.Logf("Put failed with: %v", putErr)
	if elapsed > cfg.AbortTimeout+10*time.Second {
		t.Errorf("Put took %v, want the abort to give up after about AbortTimeout (%v)", elapsed, cfg.AbortTimeout)
	}

	// The upload the abort could not reach is still open: exactly what the
	// AbortIncompleteMultipartUpload lifecycle rule exists for.
	ctx := t.Context()
	uploads, err := store.Client().ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(cfg.Bucket), Prefix: aws.String(cfg.KeyPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uploads.Uploads) != 1 {
		t.Fatalf("open multipart uploads after the failed abort: %d, want 1", len(uploads.Uploads))
	}
	u := uploads.Uploads[0]
	if !strings.Contains(putErr.Error(), aws.ToString(u.UploadId)) {
		t.Errorf("Put error does not name the upload left open (%s): %v", aws.ToString(u.UploadId), putErr)
	}
	if _, err := store.Client().AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: aws.String(cfg.Bucket), Key: u.Key, UploadId: u.UploadId}); err != nil {
		t.Fatalf("cleaning up the upload: %v", err)
	}
	assertNothingLeft(t, srv, store, cfg.KeyPrefix, "abandoned/object.bin")
}

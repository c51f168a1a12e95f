package s3_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// leaveUpload opens a multipart upload of key with one stored part and never
// finishes it: what a Put leaves when its process is killed.
func leaveUpload(t *testing.T, store *s3.Store, prefix, key string) string {
	t.Helper()
	ctx := context.Background()
	out, err := store.Client().CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket: aws.String(store.Bucket()), Key: aws.String(prefix + key),
	})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	part := bytes.Repeat([]byte{7}, testPartSize)
	if _, err := store.Client().UploadPart(ctx, &awss3.UploadPartInput{
		Bucket: aws.String(store.Bucket()), Key: aws.String(prefix + key), UploadId: out.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
	}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	return aws.ToString(out.UploadId)
}

func TestDeleteAbortsTheUnfinishedUploadsOfItsKey(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	cfg := baseConfig(t, srv)
	store := newStore(t, srv, cfg)
	ctx := context.Background()

	t.Run("the uploads a crashed Put left under the key are aborted", func(t *testing.T) {
		leaveUpload(t, store, cfg.KeyPrefix, "backups/crashed.tar.gz")
		leaveUpload(t, store, cfg.KeyPrefix, "backups/crashed.tar.gz")
		if err := store.Delete(ctx, "backups/crashed.tar.gz"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if open := openUploads(t, ctx, store, cfg.KeyPrefix); len(open) > 0 {
			t.Errorf("uploads still open after Delete: %v", open)
		}
		if files := srv.PartFiles(t); len(files) > 0 {
			t.Errorf("part data left on the server's disk after Delete: %v", files)
		}
	})

	t.Run("uploads of other keys, even ones the key is a prefix of, are left alone", func(t *testing.T) {
		other := leaveUpload(t, store, cfg.KeyPrefix, "backups/crashed.tar.gz.other")
		if err := store.Delete(ctx, "backups/crashed.tar.gz"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		open := openUploads(t, ctx, store, cfg.KeyPrefix)
		want := cfg.KeyPrefix + "backups/crashed.tar.gz.other (" + other + ")"
		if !slices.Equal(open, []string{want}) {
			t.Errorf("open uploads after Delete = %v, want only %s", open, want)
		}
		if err := store.Delete(ctx, "backups/crashed.tar.gz.other"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	})

	t.Run("deleting a key without object or upload succeeds", func(t *testing.T) {
		if err := store.Delete(ctx, "backups/never-written.tar.gz"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	})
}

package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Put stores everything read from r under key. An object smaller than one part
// is sent with a single PutObject; anything larger as a multipart upload whose
// parts are read into at most Concurrency buffers of PartSizeBytes, so memory does
// not grow with the object. S3 makes the object visible only when the upload
// completes, so a failed Put leaves the previous object under key (if any)
// untouched.
//
// Cancelling ctx stops reading from r and sending new requests at once, but a
// request already sent is allowed to finish (for up to AbortTimeout): a request
// abandoned mid-flight may still be carried out by the server after Put has
// returned, storing a part after the abort or an object after the error. So a
// Put cancelled while its last request is on the wire may still succeed.
//
// On failure (a read error from r, a cancelled ctx, a storage error) the
// multipart upload is aborted on a fresh context that ignores ctx's cancellation,
// retried for up to AbortTimeout; if even that fails, the returned error joins the
// abort's failure to the original one (the bucket's AbortIncompleteMultipartUpload
// lifecycle rule then cleans up). Storage failures wrap ErrStorage; errors from r
// and ctx are returned as they are, wrapped with context.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	objKey, err := s.objectKey(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	u := &upload{store: s, key: key, objKey: objKey, free: make(chan []byte, s.cfg.Concurrency)}
	defer u.release()
	return u.run(ctx, r)
}

// upload is the state of one Put.
type upload struct {
	store       *Store
	key, objKey string

	// free holds part buffers that are not being uploaded; owned holds every
	// buffer the Put took from the store, at most Concurrency.
	free  chan []byte
	owned [][]byte

	uploadID string
	mu       sync.Mutex
	parts    []types.CompletedPart
}

func (u *upload) run(ctx context.Context, r io.Reader) error {
	buf, err := u.buffer()
	if err != nil {
		return fmt.Errorf("put %q: %w", u.key, err)
	}
	n, readErr := readFull(ctx, r, buf)
	if readErr != nil && readErr != io.EOF {
		return fmt.Errorf("put %q: read: %w", u.key, readErr)
	}
	if readErr == io.EOF {
		// The whole object fits in one part: one request, nothing to abort.
		return u.putSingle(ctx, buf[:n])
	}
	return u.putMultipart(ctx, r, buf)
}

// buffer returns a free part buffer, or one taken from the store. Callers make
// sure the Put owns no more than Concurrency.
func (u *upload) buffer() ([]byte, error) {
	select {
	case b := <-u.free:
		return b, nil
	default:
	}
	b, err := u.store.parts.get()
	if err != nil {
		return nil, err
	}
	u.owned = append(u.owned, b)
	return b, nil
}

// release gives the Put's buffers back to the store. Put calls it when every
// request that used them has returned.
func (u *upload) release() {
	for _, b := range u.owned {
		u.store.parts.put(b)
	}
	u.owned = nil
}

// nextBuffer returns a part buffer, waiting for one to be freed when the Put
// owns Concurrency, or the cause of ctx's end.
func (u *upload) nextBuffer(ctx context.Context) ([]byte, error) {
	if len(u.owned) < u.store.cfg.Concurrency {
		return u.buffer()
	}
	select {
	case b := <-u.free:
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// readFull fills buf from r. It returns io.EOF (with n possibly > 0) when r ends
// before buf is full, nil when buf is full, and the cause of ctx's end when ctx
// ends first (checked between reads: a blocked Read is r's to interrupt).
func readFull(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, io.EOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// detach returns a context with parent's values that is not cancelled with
// parent but grace after it, so that a request already on the wire can finish.
// The returned cancel releases its resources.
func detach(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(parent, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, cancel)
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

func (u *upload) putSingle(ctx context.Context, data []byte) error {
	s := u.store
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", u.key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(u.objKey),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/octet-stream"),
	}
	if s.cfg.Checksum != ChecksumNone {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(s.cfg.Checksum)
	}
	reqCtx, cancel := detach(ctx, s.cfg.AbortTimeout)
	defer cancel()
	if _, err := s.client.PutObject(reqCtx, in); err != nil {
		return u.fail(ctx, err)
	}
	return nil
}

func (u *upload) putMultipart(ctx context.Context, r io.Reader, first []byte) error {
	s := u.store
	create := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(s.cfg.Bucket),
		Key:         aws.String(u.objKey),
		ContentType: aws.String("application/octet-stream"),
	}
	if s.cfg.Checksum != ChecksumNone {
		create.ChecksumAlgorithm = types.ChecksumAlgorithm(s.cfg.Checksum)
	}
	// Detached too: an upload created by a request we stopped waiting for would
	// never be aborted.
	createCtx, cancelCreate := detach(ctx, s.cfg.AbortTimeout)
	out, err := s.client.CreateMultipartUpload(createCtx, create)
	cancelCreate()
	if err != nil {
		return u.fail(ctx, err)
	}
	u.uploadID = aws.ToString(out.UploadId)
	if err := ctx.Err(); err != nil {
		return u.fail(ctx, err)
	}

	// stop ends the read loop: the caller's cancellation, or the first failure
	// (its cause). Part requests run on partCtx, which stop's end cancels only
	// AbortTimeout later, so parts in flight finish before the abort is sent. (A
	// part request abandoned mid-flight can be stored after the abort and
	// recreate the upload: observed with versitygw, and the reason AWS says an
	// abort may have to be repeated.)
	stop, cancelStop := context.WithCancelCause(ctx)
	defer cancelStop(nil)
	partCtx, cancelParts := detach(stop, s.cfg.AbortTimeout)
	defer cancelParts()
	var wg sync.WaitGroup
	send := func(num int32, buf []byte, n int) {
		wg.Go(func() {
			defer func() { u.free <- buf }()
			if err := u.uploadPart(partCtx, num, buf[:n]); err != nil {
				cancelStop(err)
			}
		})
	}

	buf, n := first, len(first)
	var num int32 = 1
	for {
		send(num, buf, n)
		if n < len(buf) {
			break // r ended inside this part
		}
		next, err := u.nextBuffer(stop)
		if err != nil {
			// A part failed or ctx ended (the cause is already in stop), or
			// no buffer could be allocated.
			cancelStop(err)
			break
		}
		var readErr error
		n, readErr = readFull(stop, r, next)
		if readErr != nil && readErr != io.EOF {
			u.free <- next
			if stop.Err() == nil {
				cancelStop(readError{readErr})
			}
			break
		}
		if n == 0 {
			u.free <- next
			break // r ended exactly at a part boundary
		}
		if num == MaxParts {
			u.free <- next
			cancelStop(fmt.Errorf("%w: object larger than %d parts of %d bytes", ports.ErrStorage, MaxParts, s.cfg.PartSizeBytes))
			break
		}
		num++
		buf = next
	}
	wg.Wait()
	if err := context.Cause(stop); err != nil {
		return u.fail(ctx, err)
	}

	slices.SortFunc(u.parts, func(a, b types.CompletedPart) int {
		return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber))
	})
	completeCtx, cancelComplete := detach(ctx, s.cfg.AbortTimeout)
	defer cancelComplete()
	_, err = s.client.CompleteMultipartUpload(completeCtx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.cfg.Bucket),
		Key:             aws.String(u.objKey),
		UploadId:        aws.String(u.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	})
	if err != nil {
		return u.fail(ctx, fmt.Errorf("complete: %w", err))
	}
	return nil
}

func (u *upload) uploadPart(ctx context.Context, num int32, data []byte) error {
	s := u.store
	in := &s3.UploadPartInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(u.objKey),
		UploadId:      aws.String(u.uploadID),
		PartNumber:    aws.Int32(num),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	if s.cfg.Checksum != ChecksumNone {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(s.cfg.Checksum)
	}
	out, err := s.client.UploadPart(ctx, in)
	if err != nil {
		return fmt.Errorf("%w: upload part %d: %w", ports.ErrStorage, num, err)
	}
	// With a flexible checksum, CompleteMultipartUpload must repeat each part's.
	part := types.CompletedPart{
		PartNumber:        aws.Int32(num),
		ETag:              out.ETag,
		ChecksumCRC32:     out.ChecksumCRC32,
		ChecksumCRC32C:    out.ChecksumCRC32C,
		ChecksumCRC64NVME: out.ChecksumCRC64NVME,
		ChecksumSHA1:      out.ChecksumSHA1,
		ChecksumSHA256:    out.ChecksumSHA256,
	}
	u.mu.Lock()
	u.parts = append(u.parts, part)
	u.mu.Unlock()
	return nil
}

// fail turns the cause of a failed Put into its error, aborting the multipart
// upload first if one was created.
func (u *upload) fail(ctx context.Context, cause error) error {
	err := u.describe(cause)
	if u.uploadID == "" {
		return err
	}
	if abortErr := u.abort(ctx); abortErr != nil {
		return errors.Join(err, abortErr)
	}
	return err
}

// describe wraps cause with the key, and with ErrStorage when it came from S3
// (cancellation and read errors are the caller's, not the store's).
func (u *upload) describe(cause error) error {
	if errors.Is(cause, ports.ErrStorage) || errors.Is(cause, context.Canceled) ||
		errors.Is(cause, context.DeadlineExceeded) || isReadError(cause) {
		return fmt.Errorf("put %q: %w", u.key, cause)
	}
	return fmt.Errorf("%w: put %q: %w", ports.ErrStorage, u.key, cause)
}

// readError marks a failure of the Put's reader, so it is not reported as a
// storage failure.
type readError struct{ err error }

func (e readError) Error() string { return "read: " + e.err.Error() }
func (e readError) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re readError
	return errors.As(err, &re)
}

// abort aborts the multipart upload on a context that survives ctx's
// cancellation, retrying with backoff until it succeeds or AbortTimeout passes,
// so that an upload failing because the server is briefly unreachable is still
// cleaned up once it is back.
func (u *upload) abort(ctx context.Context) error {
	s := u.store
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.AbortTimeout)
	defer cancel()
	in := &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.cfg.Bucket),
		Key:      aws.String(u.objKey),
		UploadId: aws.String(u.uploadID),
	}
	// One SDK attempt per try: this loop does the retrying, and SDK retries
	// would draw on its retry quota, which the failed upload may have drained.
	oneAttempt := func(o *s3.Options) { o.RetryMaxAttempts = 1 }
	start := time.Now()
	backoff := 100 * time.Millisecond
	var lastErr error // the last failure that was not the deadline itself
	for attempt := 1; ; attempt++ {
		_, err := s.client.AbortMultipartUpload(ctx, in, oneAttempt)
		if err == nil || errorCode(err) == "NoSuchUpload" {
			// NoSuchUpload: already aborted (an earlier try whose answer was lost).
			s.log.LogAttrs(ctx, slog.LevelInfo, "s3: aborted multipart upload",
				slog.String("key", u.objKey), slog.String("upload_id", u.uploadID), slog.Int("attempts", attempt))
			return nil
		}
		if ctx.Err() == nil || lastErr == nil {
			lastErr = err
		}
		if ctx.Err() != nil || !retryableAbortError(err) {
			err = lastErr
			s.log.LogAttrs(ctx, slog.LevelError, "s3: abort multipart upload failed; the bucket lifecycle rule must remove it",
				slog.String("key", u.objKey), slog.String("upload_id", u.uploadID), slog.Int("attempts", attempt), slog.Any("error", err))
			return fmt.Errorf("%w: abort multipart upload %s of %q: gave up after %d attempts in %v: %w",
				ports.ErrStorage, u.uploadID, u.key, attempt, time.Since(start).Round(time.Millisecond), err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// retryableAbortError reports whether trying the abort again can help: not for
// answers that will not change (access denied, no such bucket).
func retryableAbortError(err error) bool {
	switch errorCode(err) {
	case "AccessDenied", "NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidArgument":
		return false
	}
	return true
}

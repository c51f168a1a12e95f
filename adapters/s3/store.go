package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

var _ ports.ObjectStore = (*Store)(nil)

// Store keeps objects in one S3 bucket. It is safe for concurrent use.
type Store struct {
	cfg    Config
	client *s3.Client
	log    *slog.Logger
	parts  *partBuffers

	// listPageSize caps the keys or uploads per listing request; 0 leaves
	// the server's default (1000). Tests lower it to cross page boundaries
	// with a few objects.
	listPageSize int32
}

// New builds a Store from cfg. It does not contact the server; call HealthCheck
// to verify the bucket and credentials. ctx is only used to load the SDK's
// default configuration when cfg.Credentials is nil.
func New(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Store{cfg: cfg, client: client, log: cfg.Logger, parts: &partBuffers{size: int(cfg.PartSizeBytes)}}, nil
}

// PartSize reports the part size Put uploads with (the configured or default one).
func (s *Store) PartSize() int64 { return s.cfg.PartSizeBytes }

// Concurrency reports how many part buffers one Put may hold.
func (s *Store) Concurrency() int { return s.cfg.Concurrency }

// Client returns the underlying SDK client, for operations outside the port
// (bucket administration, tests listing multipart uploads).
func (s *Store) Client() *s3.Client { return s.client }

// Bucket returns the bucket the store uses.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// objectKey returns the full S3 key for a store key (with KeyPrefix), or an error
// if the key is not valid.
func (s *Store) objectKey(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	return s.cfg.KeyPrefix + key, nil
}

func newClient(ctx context.Context, cfg Config) (*s3.Client, error) {
	httpClient := httpClientFor(cfg)
	opts := func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.Region != "" {
			o.Region = cfg.Region
		}
		o.UsePathStyle = cfg.UsePathStyle
		o.HTTPClient = httpClient
		if cfg.RetryMaxAttempts > 0 {
			o.RetryMaxAttempts = cfg.RetryMaxAttempts
		}
		// Deliberate, whatever AWS_REQUEST_CHECKSUM_CALCULATION says: see the
		// package documentation, "Checksums".
		if cfg.Checksum == ChecksumNone {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		} else {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
			// Multipart objects carry a checksum of checksums and ranges carry
			// none, so skipped validation is normal here, not worth a warning
			// on every download.
			o.DisableLogOutputChecksumValidationSkipped = true
		}
		// No request/response/signing dumps: they could contain credentials.
		o.ClientLogMode = 0
		o.Logger = sdkLogger{cfg.Logger}
		o.APIOptions = append(o.APIOptions, tracing(cfg.TracerProvider))
	}

	if cfg.Credentials != nil {
		// Static credentials: build the client from explicit options only, so the
		// environment and shared config files cannot change its behaviour.
		c := cfg.Credentials
		return s3.New(s3.Options{
			Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		}, opts), nil
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("s3: load default AWS configuration: %w", err)
	}
	if cfg.Region == "" && awsCfg.Region == "" {
		return nil, errors.New("s3: invalid config: no region configured (set Config.Region or AWS_REGION)")
	}
	return s3.NewFromConfig(awsCfg, opts), nil
}

func httpClientFor(cfg Config) s3.HTTPClient {
	if cfg.HTTPClient != nil {
		return cfg.HTTPClient
	}
	bc := awshttp.NewBuildableClient()
	if cfg.RootCAs != nil {
		bc = bc.WithTransportOptions(func(tr *http.Transport) {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = cfg.RootCAs
		})
	}
	return bc
}

// sdkLogger forwards the SDK's own messages (warnings about checksums, retries) to
// slog. With ClientLogMode zero the SDK never logs requests or signatures.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}

// HealthCheck verifies that the bucket exists and the credentials may use it
// (HeadBucket). It satisfies samber/do's HealthcheckerWithContext.
func (s *Store) HealthCheck(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.cfg.Bucket)}); err != nil {
		return fmt.Errorf("%w: s3 bucket %q: %w", ports.ErrStorage, s.cfg.Bucket, err)
	}
	return nil
}

// Get opens the object, or the part of it that rng selects. The body streams from
// S3; the caller must close it. Returns ErrNotFound, or ErrInvalidRange when rng
// is not inside the object (Offset < 0, Length < 1, or Offset+Length > size).
func (s *Store) Get(ctx context.Context, key string, rng *ports.ByteRange) (io.ReadCloser, ports.ObjectInfo, error) {
	objKey, err := s.objectKey(key)
	if err != nil {
		return nil, ports.ObjectInfo{}, err
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(objKey)}
	if rng != nil {
		if rng.Offset < 0 || rng.Length < 1 || rng.Length > math.MaxInt64-rng.Offset {
			return nil, ports.ObjectInfo{}, fmt.Errorf("get %q bytes %d+%d: %w", key, rng.Offset, rng.Length, ports.ErrInvalidRange)
		}
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", rng.Offset, rng.Offset+rng.Length-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		switch {
		case isNotFound(err):
			return nil, ports.ObjectInfo{}, fmt.Errorf("get %q: %w", key, ports.ErrNotFound)
		case rng != nil && isInvalidRange(err):
			return nil, ports.ObjectInfo{}, fmt.Errorf("get %q bytes %d+%d: %w", key, rng.Offset, rng.Length, ports.ErrInvalidRange)
		}
		return nil, ports.ObjectInfo{}, fmt.Errorf("%w: get %q: %w", ports.ErrStorage, key, err)
	}
	info := ports.ObjectInfo{Key: key, SizeBytes: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}
	if rng == nil {
		return out.Body, info, nil
	}

	// S3 clamps a range that runs past the end (bytes=0-999 of a 10-byte object
	// returns 10 bytes), and some servers ignore a range altogether; the port
	// promises exactly the requested bytes or ErrInvalidRange, so check.
	if cr := aws.ToString(out.ContentRange); cr != "" {
		first, last, total, err := parseContentRange(cr)
		if err != nil {
			out.Body.Close()
			return nil, ports.ObjectInfo{}, fmt.Errorf("%w: get %q: %w", ports.ErrStorage, key, err)
		}
		info.SizeBytes = total
		if first != rng.Offset || last != rng.Offset+rng.Length-1 {
			out.Body.Close()
			return nil, ports.ObjectInfo{}, fmt.Errorf("get %q bytes %d+%d of %d: %w", key, rng.Offset, rng.Length, total, ports.ErrInvalidRange)
		}
		return out.Body, info, nil
	}
	// A whole-object answer to a range request: cut the range out ourselves.
	if rng.Offset+rng.Length > info.SizeBytes {
		out.Body.Close()
		return nil, ports.ObjectInfo{}, fmt.Errorf("get %q bytes %d+%d of %d: %w", key, rng.Offset, rng.Length, info.SizeBytes, ports.ErrInvalidRange)
	}
	if _, err := io.CopyN(io.Discard, out.Body, rng.Offset); err != nil {
		out.Body.Close()
		return nil, ports.ObjectInfo{}, fmt.Errorf("%w: get %q: skip to offset %d: %w", ports.ErrStorage, key, rng.Offset, err)
	}
	return readCloser{io.LimitReader(out.Body, rng.Length), out.Body}, info, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// parseContentRange parses "bytes FIRST-LAST/TOTAL".
func parseContentRange(s string) (first, last, total int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	span, totalStr, ok2 := strings.Cut(rest, "/")
	firstStr, lastStr, ok3 := strings.Cut(span, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, 0, fmt.Errorf("malformed Content-Range %q", s)
	}
	var errs [3]error
	first, errs[0] = strconv.ParseInt(firstStr, 10, 64)
	last, errs[1] = strconv.ParseInt(lastStr, 10, 64)
	total, errs[2] = strconv.ParseInt(totalStr, 10, 64)
	if err := errors.Join(errs[:]...); err != nil || first < 0 || last < first || total <= last {
		return 0, 0, 0, fmt.Errorf("malformed Content-Range %q", s)
	}
	return first, last, total, nil
}

// Stat describes the object (HeadObject). Returns ErrNotFound.
func (s *Store) Stat(ctx context.Context, key string) (ports.ObjectInfo, error) {
	objKey, err := s.objectKey(key)
	if err != nil {
		return ports.ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(objKey)})
	if err != nil {
		if isNotFound(err) {
			return ports.ObjectInfo{}, fmt.Errorf("stat %q: %w", key, ports.ErrNotFound)
		}
		return ports.ObjectInfo{}, fmt.Errorf("%w: stat %q: %w", ports.ErrStorage, key, err)
	}
	return ports.ObjectInfo{Key: key, SizeBytes: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete removes the object, and aborts every multipart upload still open
// under exactly its key: the parts of a Put whose process crashed, which the
// service's stale-operation recovery deletes through here and which would
// otherwise stay (and be billed) until the bucket's lifecycle rule removes them.
// Deleting a missing object succeeds (S3 answers 204; servers that answer
// NoSuchKey are treated the same). Credentials that may not list multipart
// uploads (AccessDenied) or a server without the call (NotImplemented) leave the
// uploads to the lifecycle rule, with a warning, rather than fail the delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	objKey, err := s.objectKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(objKey)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("%w: delete %q: %w", ports.ErrStorage, key, err)
	}
	return s.abortUploads(ctx, key, objKey)
}

// abortUploads aborts the open multipart uploads of objKey (not of other keys
// that merely begin with it).
func (s *Store) abortUploads(ctx context.Context, key, objKey string) error {
	p := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(objKey),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if code := errorCode(err); code == "AccessDenied" || code == "NotImplemented" {
			s.log.LogAttrs(ctx, slog.LevelWarn, "s3: cannot list multipart uploads; unfinished uploads are left to the bucket lifecycle rule",
				slog.String("key", objKey), slog.String("code", code))
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: delete %q: list multipart uploads: %w", ports.ErrStorage, key, err)
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) != objKey {
				continue
			}
			_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(s.cfg.Bucket), Key: u.Key, UploadId: u.UploadId,
			})
			if err != nil && errorCode(err) != "NoSuchUpload" {
				return fmt.Errorf("%w: delete %q: abort multipart upload %s: %w", ports.ErrStorage, key, aws.ToString(u.UploadId), err)
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "s3: aborted an unfinished multipart upload",
				slog.String("key", objKey), slog.String("upload_id", aws.ToString(u.UploadId)))
		}
	}
	return nil
}

// errorCode returns the S3 error code of an API error ("" if err is not one).
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		return respErr.HTTPStatusCode()
	}
	return 0
}

// isNotFound reports a missing object. NoSuchBucket is deliberately not "not
// found": a missing bucket is a configuration error, not a missing backup. HEAD
// responses have no body, so a HEAD on a missing bucket looks like a missing
// object; HealthCheck tells the two apart.
func isNotFound(err error) bool {
	code := errorCode(err)
	return code == "NoSuchKey" || code == "NotFound"
}

func isInvalidRange(err error) bool {
	return errorCode(err) == "InvalidRange" || httpStatus(err) == http.StatusRequestedRangeNotSatisfiable
}

// validateKey applies the rules every object store shares.
func validateKey(key string) error {
	if err := ports.ValidateObjectKey(key); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}

package s3

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Limits that S3 imposes on multipart uploads.
const (
	// MinPartSize is the smallest part S3 accepts for every part but the last.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts.
	MaxPartSize = 5 << 30
	// MaxParts is the most parts one multipart upload may have, so the largest
	// object Put can store is PartSizeBytes × MaxParts.
	MaxParts = 10000
)

// Defaults used when the corresponding Config field is zero.
const (
	// DefaultPartSize: 16 MiB parts allow objects up to 156 GiB (× MaxParts) and
	// keep a Put's buffers at 32 MiB with DefaultConcurrency.
	DefaultPartSize = 16 << 20
	// DefaultConcurrency is how many parts are in memory (and at most in flight)
	// per Put. Two keep one part uploading while the next is read. Measured on
	// the whole create pipeline (internal/bench, 2 cores, versitygw on
	// loopback), four were no faster and doubled the buffers. Raise it for a
	// high-latency link to S3, where more parts in flight fill the pipe.
	DefaultConcurrency = 2
	// DefaultAbortTimeout is how long a failed Put keeps trying to abort its
	// multipart upload.
	DefaultAbortTimeout = 30 * time.Second
	// DefaultRegion is used with static credentials when Region is empty; most
	// S3-compatible servers accept any region and expect this one.
	DefaultRegion = "us-east-1"
)

// Checksum selects the additional checksum the SDK sends with uploaded data. See
// the package documentation ("Checksums") for what each choice puts on the wire.
type Checksum string

// Checksum choices.
const (
	// ChecksumNone (the default) sends no flexible checksum: the SDK's request
	// checksum calculation and response validation are set to WhenRequired, so
	// request bodies are plain (no aws-chunked encoding) and every
	// S3-compatible server accepts them.
	ChecksumNone Checksum = ""
	// ChecksumCRC32 is what the SDK sends by default (RequestChecksumCalculation
	// WhenSupported): over HTTPS a trailing checksum in aws-chunked encoding.
	ChecksumCRC32 Checksum = "CRC32"
	// ChecksumCRC32C is like ChecksumCRC32 with the Castagnoli polynomial.
	ChecksumCRC32C Checksum = "CRC32C"
	// ChecksumSHA256 sends a SHA-256 of each request body.
	ChecksumSHA256 Checksum = "SHA256"
)

func (c Checksum) valid() bool {
	switch c {
	case ChecksumNone, ChecksumCRC32, ChecksumCRC32C, ChecksumSHA256:
		return true
	}
	return false
}

// Credentials are a static access key. Their String, GoString, LogValue and
// MarshalJSON methods redact the secret and the session token, so printing or
// logging a Config never reveals them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is only set for temporary credentials.
	SessionToken string
}

const redacted = "[REDACTED]"

// String shows the access key ID only.
func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID:%s SecretAccessKey:%s SessionToken:%s}", c.AccessKeyID, redacted, redacted)
}

// GoString keeps %#v from printing the secret.
func (c Credentials) GoString() string { return "s3.Credentials" + c.String() }

// LogValue keeps slog from printing the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", redacted),
	)
}

// MarshalJSON keeps JSON encoders (slog's JSONHandler among them) from printing
// the secret.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"AccessKeyID":     c.AccessKeyID,
		"SecretAccessKey": redacted,
		"SessionToken":    redacted,
	})
}

// Config configures a Store. The zero value of every field but Bucket means the
// documented default.
type Config struct {
	// Bucket holds the objects. It must exist; New does not create it.
	Bucket string
	// KeyPrefix is prepended to every key, so several stores (or tests) can share
	// a bucket. ObjectInfo.Key never includes it. Usually ends with "/".
	KeyPrefix string

	// Region of the bucket. Empty: DefaultRegion with static credentials, the
	// SDK's default chain (AWS_REGION, shared config) otherwise.
	Region string
	// Endpoint is the base URL of an S3-compatible server, e.g.
	// "https://minio.internal:9000". Empty means AWS.
	Endpoint string
	// UsePathStyle addresses buckets as Endpoint/bucket/key instead of
	// bucket.Endpoint/key; most S3-compatible servers need it.
	UsePathStyle bool

	// Credentials are a static key. Nil uses the SDK's default credential chain
	// (environment, shared files, web identity, ECS/EC2 roles).
	Credentials *Credentials

	// PartSizeBytes is the size of each uploaded part and of each in-memory
	// buffer: MinPartSize to MaxPartSize, default DefaultPartSize.
	PartSizeBytes int64
	// Concurrency is the number of part buffers a Put may hold, and so the most
	// parts it uploads at once while it reads the next. A Put's buffers never
	// exceed PartSizeBytes × Concurrency. Default DefaultConcurrency.
	Concurrency int
	// Checksum is the flexible checksum sent with uploads (default ChecksumNone).
	Checksum Checksum

	// AbortTimeout bounds the clean-up of a failed or cancelled Put (default
	// DefaultAbortTimeout): how long requests already sent may take to finish,
	// and then how long the abort of the multipart upload is retried. The abort
	// runs on a fresh context, so it also happens when the Put's context was
	// cancelled.
	AbortTimeout time.Duration
	// RetryMaxAttempts overrides the SDK's attempts per request (default 3).
	RetryMaxAttempts int

	// HTTPClient replaces the SDK's HTTP client (RootCAs is then ignored).
	HTTPClient *http.Client
	// RootCAs, when set, are the only roots trusted for the endpoint's TLS
	// certificate (for a private CA or a test server).
	RootCAs *x509.CertPool

	// Logger receives the SDK's warnings and the store's own messages (aborted
	// uploads). Nil discards them. Credentials are never logged.
	Logger *slog.Logger

	// TracerProvider receives a client span per S3 operation (S3.PutObject,
	// S3.UploadPart, ...), a child of the caller's span. Nil means otel's
	// global provider.
	TracerProvider trace.TracerProvider
}

// withDefaults validates the configuration and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("bucket is required"))
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("endpoint: %w", err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("endpoint %q: scheme must be http or https", c.Endpoint))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("endpoint %q: host missing", c.Endpoint))
		}
	}
	if c.Credentials != nil && (c.Credentials.AccessKeyID == "" || c.Credentials.SecretAccessKey == "") {
		errs = append(errs, errors.New("static credentials need an access key ID and a secret access key"))
	}
	switch {
	case c.PartSizeBytes == 0:
		c.PartSizeBytes = DefaultPartSize
	case c.PartSizeBytes < MinPartSize || c.PartSizeBytes > MaxPartSize:
		errs = append(errs, fmt.Errorf("part size %d outside [%d, %d]", c.PartSizeBytes, MinPartSize, MaxPartSize))
	}
	switch {
	case c.Concurrency == 0:
		c.Concurrency = DefaultConcurrency
	case c.Concurrency < 0:
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if !c.Checksum.valid() {
		errs = append(errs, fmt.Errorf("unknown checksum %q", c.Checksum))
	}
	switch {
	case c.AbortTimeout == 0:
		c.AbortTimeout = DefaultAbortTimeout
	case c.AbortTimeout < 0:
		errs = append(errs, fmt.Errorf("abort timeout %v is negative", c.AbortTimeout))
	}
	if c.RetryMaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("retry max attempts %d is negative", c.RetryMaxAttempts))
	}
	if c.Region == "" && c.Credentials != nil {
		c.Region = DefaultRegion
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("s3: invalid config: %w", err)
	}
	return c, nil
}

package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

func validConfig() s3.Config {
	return s3.Config{
		Bucket:      "b",
		Endpoint:    "http://127.0.0.1:9",
		Credentials: &s3.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI-example-secret"},
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*s3.Config)
		want   string
	}{
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, "bucket is required"},
		{"an endpoint that is not HTTP", func(c *s3.Config) { c.Endpoint = "ftp://127.0.0.1" }, "scheme must be http or https"},
		{"an endpoint without a host", func(c *s3.Config) { c.Endpoint = "http://" }, "host missing"},
		{"a part size below S3's minimum", func(c *s3.Config) { c.PartSizeBytes = 1 << 20 }, "part size"},
		{"a part size above S3's maximum", func(c *s3.Config) { c.PartSizeBytes = 6 << 30 }, "part size"},
		{"a negative concurrency", func(c *s3.Config) { c.Concurrency = -1 }, "concurrency"},
		{"an unknown checksum", func(c *s3.Config) { c.Checksum = "MD5" }, "unknown checksum"},
		{"a negative abort timeout", func(c *s3.Config) { c.AbortTimeout = -time.Second }, "abort timeout"},
		{"a negative retry count", func(c *s3.Config) { c.RetryMaxAttempts = -1 }, "retry"},
		{"static credentials without a secret", func(c *s3.Config) { c.Credentials.SecretAccessKey = "" }, "secret access key"},
	}
	for _, tc := range cases {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.mutate(&cfg)
			_, err := s3.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewFillsInDefaults(t *testing.T) {
	store, err := s3.New(t.Context(), validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if store.PartSize() != s3.DefaultPartSize || store.Concurrency() != s3.DefaultConcurrency {
		t.Errorf("part size %d, concurrency %d; want the defaults %d, %d",
			store.PartSize(), store.Concurrency(), s3.DefaultPartSize, s3.DefaultConcurrency)
	}
}

func TestCredentialsNeverPrintTheSecret(t *testing.T) {
	cfg := validConfig()
	cfg.Credentials.SessionToken = "session-token-example"
	secrets := []string{cfg.Credentials.SecretAccessKey, cfg.Credentials.SessionToken}

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "cfg", cfg, "creds", cfg.Credentials)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "cfg", cfg, "creds", *cfg.Credentials)
	outputs := map[string]string{
		"%v":            fmt.Sprintf("%v", cfg),
		"%+v":           fmt.Sprintf("%+v", cfg),
		"%#v":           fmt.Sprintf("%#v", cfg),
		"%+v of creds":  fmt.Sprintf("%+v", *cfg.Credentials),
		"slog text":     text.String(),
		"slog JSON":     js.String(),
		"error message": func() string { c := cfg; c.Bucket = ""; _, err := s3.New(t.Context(), c); return err.Error() }(),
	}
	for name, out := range outputs {
		t.Run("in "+name, func(t *testing.T) {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("output contains a secret: %s", out)
				}
			}
		})
	}
	if !strings.Contains(outputs["slog JSON"], "AKIDEXAMPLE") {
		t.Errorf("the access key ID should stay visible for debugging: %s", outputs["slog JSON"])
	}
}

func TestStoreLogsNoCredentials(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{TLS: true})
	var logs bytes.Buffer
	cfg := baseConfig(t, srv)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := newStore(t, srv, cfg)
	// A failed multipart Put logs its abort.
	failing := io.MultiReader(portstest.NewPatternReader(testPartSize+1, 1), errReader{errors.New("boom")})
	if err := store.Put(t.Context(), "logged/object", failing); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if _, err := store.Stat(t.Context(), "logged/missing"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "aborted multipart upload") {
		t.Errorf("logs = %q, want the abort logged", logs.String())
	}
	if strings.Contains(logs.String(), srv.SecretKey) {
		t.Errorf("logs contain the secret key: %s", logs.String())
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestNewUsesTheSDKDefaultChainWithoutStaticCredentials(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	// Keep the machine's own AWS files out of the test.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	cfg := baseConfig(t, srv)
	cfg.Credentials = nil

	t.Run("fails without a region", func(t *testing.T) {
		t.Setenv("AWS_REGION", "")
		c := cfg
		c.Region = ""
		if _, err := s3.New(t.Context(), c); err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("New without any region: %v, want a region error", err)
		}
	})
	t.Run("takes credentials and region from the environment", func(t *testing.T) {
		t.Setenv("AWS_REGION", srv.Region)
		c := cfg
		c.Region = ""
		store, err := s3.New(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.HealthCheck(t.Context()); err != nil {
			t.Errorf("HealthCheck with credentials from the environment: %v", err)
		}
	})
}

// Some S3-compatible servers answer a range request with the whole object (200).
// The store must still return exactly the requested bytes, or ErrInvalidRange.
func TestGetCutsTheRangeWhenTheServerIgnoresIt(t *testing.T) {
	const content = "0123456789abcdefghij"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		_, _ = io.WriteString(w, content) // the Range header is ignored
	}))
	defer srv.Close()
	cfg := validConfig()
	cfg.Endpoint = srv.URL
	cfg.UsePathStyle = true
	store, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		rng  ports.ByteRange
		want string
	}{
		{"a middle slice", ports.ByteRange{Offset: 5, Length: 4}, "5678"},
		{"the last byte", ports.ByteRange{Offset: 19, Length: 1}, "j"},
		{"the whole object", ports.ByteRange{Offset: 0, Length: 20}, content},
	}
	for _, tc := range cases {
		t.Run("returns "+tc.name, func(t *testing.T) {
			body, info, err := store.Get(t.Context(), "k", &tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			got, err := io.ReadAll(body)
			if err != nil || string(got) != tc.want || info.SizeBytes != int64(len(content)) {
				t.Errorf("got %q (size %d), %v; want %q (size %d)", got, info.SizeBytes, err, tc.want, len(content))
			}
		})
	}
	t.Run("rejects a range past the end", func(t *testing.T) {
		_, _, err := store.Get(context.Background(), "k", &ports.ByteRange{Offset: 15, Length: 10})
		if !errors.Is(err, ports.ErrInvalidRange) {
			t.Errorf("error = %v, want ErrInvalidRange", err)
		}
	})
}

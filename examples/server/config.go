package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is everything the server can be told, by flag or environment variable.
// Nothing is required: without DATABASE_URL, S3 or sidecar settings the server
// runs zero-config, entirely in this process.
type config struct {
	Addr       string
	Dir        string
	Dashboard  string
	DemoToken  string
	AdminToken string
	OtherToken string
	DemoOrders int
	LogFormat  string
	// MetricsAddr is where /metrics is served: "" on Addr, "off" nowhere.
	MetricsAddr string
	// demoTokenGiven records that the demo token came from a flag or the
	// environment: the banner then does not print it, since whoever started the
	// server already knows it and the output may end up in a shared log.
	demoTokenGiven bool

	DatabaseURL string

	S3Endpoint  string
	S3Bucket    string
	S3Region    string
	S3AccessKey string
	S3SecretKey string
	S3PathStyle bool
	S3CAFile    string

	SidecarAddr       string
	SidecarSecret     string
	SidecarSecretFile string
	SidecarDataDir    string
	SidecarTempDir    string
	// FailWithoutQuiesce fails a create whose game cannot be paused rather
	// than archiving it unpaused with a warning.
	FailWithoutQuiesce bool

	StaleAfter        time.Duration
	HeartbeatInterval time.Duration
	MaxConcurrent     int
	ShutdownTimeout   time.Duration
	SweepInterval     time.Duration
	OrphanGrace       time.Duration
	ReprovisionTime   time.Duration
	ScheduleTick      time.Duration

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration

	// A platform-wide webhook endpoint; see webhooks.go. The URL, which may
	// carry a token, comes from WEBHOOK_URL or a file, never a flag.
	WebhookURL          string
	WebhookURLFile      string
	WebhookSecretFile   string
	WebhookSecret       []byte
	WebhookAllowPrivate bool
}

// parseConfig reads flags, each defaulting to its environment variable.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("savepoint-server", flag.ContinueOnError)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if v, err := strconv.Atoi(getenv(name)); err == nil {
			return v
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		if v, err := time.ParseDuration(getenv(name)); err == nil {
			return v
		}
		return def
	}
	envBool := func(name string, def bool) bool {
		if v, err := strconv.ParseBool(getenv(name)); err == nil {
			return v
		}
		return def
	}

	fs.StringVar(&c.Addr, "addr", env("SAVEPOINT_ADDR", "127.0.0.1:8080"), "listen address (SAVEPOINT_ADDR)")
	fs.StringVar(&c.Dir, "dir", env("SAVEPOINT_DIR", "var"), "zero-config state: sample game data, sidecar temp files, stored archives (SAVEPOINT_DIR)")
	fs.StringVar(&c.Dashboard, "dashboard", env("SAVEPOINT_DASHBOARD", "examples/dashboard/dist"), "built dashboard to serve at / when present (SAVEPOINT_DASHBOARD)")
	fs.StringVar(&c.DemoToken, "demo-token", env("SAVEPOINT_DEMO_TOKEN", ""), "API token of the demo user; random when empty (SAVEPOINT_DEMO_TOKEN)")
	fs.StringVar(&c.AdminToken, "admin-token", env("SAVEPOINT_ADMIN_TOKEN", ""), "API token of a support user with ViewAllOrders; none when empty (SAVEPOINT_ADMIN_TOKEN)")
	fs.StringVar(&c.OtherToken, "other-token", env("SAVEPOINT_OTHER_TOKEN", ""), "API token of a second user who owns one order of their own, to try authorization with; none when empty (SAVEPOINT_OTHER_TOKEN)")
	fs.IntVar(&c.DemoOrders, "demo-orders", envInt("SAVEPOINT_DEMO_ORDERS", 1), "number of demo orders (SAVEPOINT_DEMO_ORDERS)")
	fs.StringVar(&c.LogFormat, "log-format", env("SAVEPOINT_LOG_FORMAT", "text"), "text or json (SAVEPOINT_LOG_FORMAT)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("SAVEPOINT_METRICS_ADDR", ""), "where Prometheus scrapes GET /metrics: empty for the API's own listener, host:port for a listener of its own, off for none (SAVEPOINT_METRICS_ADDR)")

	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL connection string; runs migrations (DATABASE_URL)")

	fs.StringVar(&c.S3Endpoint, "s3-endpoint", env("SAVEPOINT_S3_ENDPOINT", ""), "S3-compatible endpoint URL (SAVEPOINT_S3_ENDPOINT)")
	fs.StringVar(&c.S3Bucket, "s3-bucket", env("SAVEPOINT_S3_BUCKET", ""), "bucket for archives; enables S3 (SAVEPOINT_S3_BUCKET)")
	fs.StringVar(&c.S3Region, "s3-region", env("SAVEPOINT_S3_REGION", ""), "bucket region (SAVEPOINT_S3_REGION)")
	fs.StringVar(&c.S3AccessKey, "s3-access-key", env("SAVEPOINT_S3_ACCESS_KEY", ""), "static access key; the SDK's default chain when empty (SAVEPOINT_S3_ACCESS_KEY)")
	c.S3SecretKey = getenv("SAVEPOINT_S3_SECRET_KEY") // never a flag: flags show up in ps
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", envBool("SAVEPOINT_S3_PATH_STYLE", true), "path-style bucket addressing (SAVEPOINT_S3_PATH_STYLE)")
	fs.StringVar(&c.S3CAFile, "s3-ca-file", env("SAVEPOINT_S3_CA_FILE", ""), "PEM roots to trust for the S3 endpoint (SAVEPOINT_S3_CA_FILE)")

	fs.StringVar(&c.SidecarAddr, "sidecar-addr", env("SAVEPOINT_SIDECAR_ADDR", ""), "address of a remote FileIO sidecar; in-process when empty (SAVEPOINT_SIDECAR_ADDR)")
	c.SidecarSecret = getenv("SAVEPOINT_SIDECAR_SECRET")
	fs.StringVar(&c.SidecarSecretFile, "sidecar-secret-file", env("SAVEPOINT_SIDECAR_SECRET_FILE", ""), "file holding the sidecar's secret (or SAVEPOINT_SIDECAR_SECRET)")
	fs.StringVar(&c.SidecarDataDir, "sidecar-data-dir", env("SAVEPOINT_SIDECAR_DATA_DIR", "/data"), "the game data directory as the remote sidecar sees it")
	fs.StringVar(&c.SidecarTempDir, "sidecar-temp-dir", env("SAVEPOINT_SIDECAR_TEMP_DIR", "/tmp"), "the scratch directory as the remote sidecar sees it")
	fs.BoolVar(&c.FailWithoutQuiesce, "fail-without-quiesce", envBool("SAVEPOINT_FAIL_WITHOUT_QUIESCE", false), "fail a backup when the sidecar cannot pause the game's writes, instead of making it with a warning (SAVEPOINT_FAIL_WITHOUT_QUIESCE)")

	fs.DurationVar(&c.StaleAfter, "stale-after", envDur("SAVEPOINT_STALE_AFTER", 0), "settle operations whose heartbeat is older (default 2m)")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", envDur("SAVEPOINT_HEARTBEAT_INTERVAL", 0), "heartbeat of running operations (default 15s)")
	fs.IntVar(&c.MaxConcurrent, "max-concurrent", envInt("SAVEPOINT_MAX_CONCURRENT", 0), "creates and restores run at once (default 4)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDur("SAVEPOINT_SHUTDOWN_TIMEOUT", 30*time.Second), "how long SIGTERM waits for running operations")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", envDur("SAVEPOINT_SWEEP_INTERVAL", 0), "how often archives whose backup is gone are looked for (default 1h)")
	fs.DurationVar(&c.OrphanGrace, "orphan-grace", envDur("SAVEPOINT_ORPHAN_GRACE", 0), "how old an archive without a backup must be to be deleted (default 1h)")
	fs.DurationVar(&c.ScheduleTick, "schedule-tick", envDur("SAVEPOINT_SCHEDULE_TICK", 15*time.Second), "how often due schedules are looked for (SAVEPOINT_SCHEDULE_TICK)")
	fs.DurationVar(&c.ReprovisionTime, "reprovision-time", envDur("SAVEPOINT_REPROVISION_TIME", 5*time.Second), "how long the demo's pretend reprovision holds the order's fence")

	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", envDur("SAVEPOINT_READ_HEADER_TIMEOUT", 10*time.Second), "how long a client may take to send a request's headers (SAVEPOINT_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", envDur("SAVEPOINT_READ_TIMEOUT", time.Minute), "how long a client may take to send a whole request, body included (SAVEPOINT_READ_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", envDur("SAVEPOINT_IDLE_TIMEOUT", 2*time.Minute), "how long an idle keep-alive connection stays open (SAVEPOINT_IDLE_TIMEOUT)")

	c.WebhookURL = getenv("WEBHOOK_URL") // never a flag: flags show up in ps, and the URL may carry a token
	fs.StringVar(&c.WebhookURLFile, "webhook-url-file", env("WEBHOOK_URL_FILE", ""), "file holding the endpoint every backup event is POSTed to, signed (or WEBHOOK_URL); none when both are empty")
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", env("WEBHOOK_SECRET_FILE", ""), "file holding the webhook's signing secret (WEBHOOK_SECRET_FILE)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", envBool("WEBHOOK_ALLOW_PRIVATE", false), "let the webhook URL be http:// and reach loopback or private addresses, for demos on one machine (WEBHOOK_ALLOW_PRIVATE)")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.demoTokenGiven = c.DemoToken != ""
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.finish()
}

func (c *config) finish() error {
	var errs []error
	if c.DemoOrders < 1 {
		errs = append(errs, fmt.Errorf("-demo-orders %d: need at least 1", c.DemoOrders))
	}
	tokens := map[string]string{}
	for _, t := range []struct{ flag, value string }{
		{"-demo-token", c.DemoToken}, {"-admin-token", c.AdminToken}, {"-other-token", c.OtherToken},
	} {
		if t.value == "" {
			continue
		}
		if prev, dup := tokens[t.value]; dup {
			errs = append(errs, fmt.Errorf("%s and %s are the same token: each user needs their own", prev, t.flag))
		}
		tokens[t.value] = t.flag
	}
	for _, t := range []struct {
		flag  string
		value time.Duration
	}{{"-read-header-timeout", c.ReadHeaderTimeout}, {"-read-timeout", c.ReadTimeout}, {"-idle-timeout", c.IdleTimeout}} {
		if t.value <= 0 {
			errs = append(errs, fmt.Errorf("%s %v: must be positive (zero would mean no limit)", t.flag, t.value))
		}
	}
	if c.ScheduleTick <= 0 {
		errs = append(errs, fmt.Errorf("-schedule-tick %v: must be positive", c.ScheduleTick))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("-log-format %q: text or json", c.LogFormat))
	}
	if c.S3Bucket == "" && (c.S3Endpoint != "" || c.S3AccessKey != "") {
		errs = append(errs, errors.New("S3 settings given without -s3-bucket"))
	}
	if c.S3AccessKey != "" && c.S3SecretKey == "" {
		errs = append(errs, errors.New("-s3-access-key needs SAVEPOINT_S3_SECRET_KEY"))
	}
	if c.SidecarAddr != "" {
		if c.SidecarSecretFile != "" {
			b, err := os.ReadFile(c.SidecarSecretFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading the sidecar secret: %w", err))
			}
			c.SidecarSecret = strings.TrimSpace(string(b))
		}
		if c.SidecarSecret == "" {
			errs = append(errs, errors.New("-sidecar-addr needs -sidecar-secret-file or SAVEPOINT_SIDECAR_SECRET"))
		}
	}
	errs = append(errs, c.finishWebhook()...)
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		errs = append(errs, err)
	}
	c.Dir = dir
	return errors.Join(errs...)
}

// mode describes, for the start-up log, which real pieces are in use.
func (c config) mode() string {
	var parts []string
	add := func(real bool, yes, no string) {
		if real {
			parts = append(parts, yes)
		} else {
			parts = append(parts, no)
		}
	}
	add(c.DatabaseURL != "", "postgres", "in-memory repository")
	add(c.S3Bucket != "", "s3", "local object store")
	add(c.SidecarAddr != "", "remote sidecar", "in-process sidecar")
	return strings.Join(parts, ", ")
}

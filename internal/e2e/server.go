package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// ServerOptions choose the example server's mode. The zero value is zero-config:
// in-memory repository, local object store, in-process sidecar.
type ServerOptions struct {
	// Dir holds zero-config state (sample data, archives). Default: a temp dir.
	Dir string
	// DatabaseURL selects PostgreSQL (migrations run at start).
	DatabaseURL string
	// S3 selects object storage on that server; when S3.CAFile is set (an
	// HTTPS endpoint) the server trusts it.
	S3 *testenv.S3Server
	// Sidecar selects a sidecar process instead of the in-process one.
	Sidecar *Sidecar
	// Token and AdminToken are the demo user's and the support user's tokens.
	// Default: random demo token, no support user.
	Token, AdminToken string
	// Args are extra flags, for example "-stale-after", "2s".
	Args []string
	// Env are extra environment variables (KEY=VALUE) for the process, for
	// example the Go runtime's GOMEMLIMIT or GODEBUG.
	Env []string
	// Name tells several servers of one test apart in failure output. Default
	// "example server".
	Name string
}

// Server is a running example server process.
type Server struct {
	URL    string
	Token  string
	Proc   *testenv.Process
	Client *Client
	// Order and Provision are the demo order and its game server.
	Order, Provision string

	owner testing.TB // the test whose end kills the process
	name  string
	bin   string
	args  []string
	env   []string
}

// StartServer builds (once) and starts the example server, and waits until it
// answers /healthz.
func StartServer(tb testing.TB, opts ServerOptions) *Server {
	tb.Helper()
	s := NewServer(tb, opts)
	s.Start(tb)
	return s
}

// NewServer builds (once) the example server and prepares its flags without
// starting it: call Start, or Launch and WaitHealthy to start several servers at
// the same moment. Whichever (sub)test starts it, the process runs until it is
// killed or tb's test ends.
func NewServer(tb testing.TB, opts ServerOptions) *Server {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Token == "" {
		opts.Token = randomToken()
	}
	addr := testenv.FreeAddr(tb)
	if opts.Name == "" {
		opts.Name = "example server"
	}
	s := &Server{
		owner: tb, name: opts.Name, URL: "http://" + addr, Token: opts.Token, bin: testenv.Binary(tb, "./examples/server"),
		Order: "00000000-0000-4000-8001-000000000001", Provision: "00000000-0000-4000-8002-000000000001",
	}
	s.args = append([]string{"-addr", addr, "-dir", opts.Dir, "-demo-token", opts.Token, "-log-format", "json", "-dashboard", ""}, opts.Args...)
	if opts.AdminToken != "" {
		s.args = append(s.args, "-admin-token", opts.AdminToken)
	}
	if opts.DatabaseURL != "" {
		s.args = append(s.args, "-database-url", opts.DatabaseURL)
	}
	if opts.S3 != nil {
		s.args = append(s.args, "-s3-endpoint", opts.S3.Endpoint, "-s3-bucket", opts.S3.Bucket,
			"-s3-region", opts.S3.Region, "-s3-access-key", opts.S3.AccessKey)
		s.env = append(s.env, "SAVEPOINT_S3_SECRET_KEY="+opts.S3.SecretKey)
		if opts.S3.CAFile != "" {
			s.args = append(s.args, "-s3-ca-file", opts.S3.CAFile)
		}
	}
	if opts.Sidecar != nil {
		s.args = append(s.args, "-sidecar-addr", opts.Sidecar.Addr,
			"-sidecar-data-dir", opts.Sidecar.DataDir, "-sidecar-temp-dir", opts.Sidecar.TempDir)
		s.env = append(s.env, "SAVEPOINT_SIDECAR_SECRET="+opts.Sidecar.Secret)
	}
	s.env = append(s.env, opts.Env...)
	s.Client = &Client{BaseURL: s.URL, Token: s.Token, HTTP: &http.Client{Timeout: 2 * time.Minute}}
	return s
}

// Start starts the server process (again, after Kill or Terminate) with the same
// flags and waits until it is healthy.
func (s *Server) Start(tb testing.TB) {
	tb.Helper()
	s.Launch(tb)
	s.WaitHealthy(tb, time.Minute)
}

// Launch starts the server process (again, after Kill or Terminate) and returns
// at once, without waiting for it to be ready.
func (s *Server) Launch(tb testing.TB) {
	tb.Helper()
	// Owned by the Server's test, not tb: a subtest that restarts a crashed
	// server hands it on to the next subtest.
	s.Proc = testenv.StartProcess(s.owner, s.name, s.bin, s.args, s.env...)
}

// WaitHealthy waits until the launched server answers /healthz with 200, and
// fails the test if it exits or timeout passes first.
func (s *Server) WaitHealthy(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	testenv.WaitFor(tb, timeout, s.name+" to answer /healthz", s.Proc, func() bool {
		resp, err := http.Get(s.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

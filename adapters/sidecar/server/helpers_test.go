package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

const testSecret = "correct horse battery staple"

// testServer is a sidecar serving on 127.0.0.1 over a temporary root.
type testServer struct {
	Root string // the only root
	Addr string
	Opts server.Options
}

// startServer starts a sidecar with opts; empty Roots become one temporary root, an
// empty StateDir a temporary directory of its own, and an empty Secret becomes
// testSecret (unless AllowUnauthenticated). It stops with the test.
func startServer(t testing.TB, opts server.Options) *testServer {
	t.Helper()
	if len(opts.Roots) == 0 {
		opts.Roots = []string{t.TempDir()}
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.Secret == "" && !opts.AllowUnauthenticated {
		opts.Secret = testSecret
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Root: opts.Roots[0], Addr: ln.Addr().String(), Opts: opts}
}

// testLogger sends the server's log lines to the test's output, shown on failure
// or with -v. Benchmarks stay quiet.
func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// connect returns a client of s with the given secret, closed with the test.
func (s *testServer) connect(t testing.TB, secret string) *sidecar.Client {
	t.Helper()
	c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: s.Addr, Secret: secret}, sidecar.ClientOptions{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// client returns a client with the right secret.
func (s *testServer) client(t testing.TB) *sidecar.Client { return s.connect(t, s.Opts.Secret) }

// path joins names below the root.
func (s *testServer) path(names ...string) string {
	return filepath.Join(append([]string{s.Root}, names...)...)
}

// mkdir creates a directory below the root.
func (s *testServer) mkdir(t testing.TB, names ...string) string {
	t.Helper()
	p := s.path(names...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// remoteCode returns the sidecar's status code carried by err, failing the test
// when err is not a sidecar error.
func remoteCode(t testing.TB, err error) codes.Code {
	t.Helper()
	var re *sidecar.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no *sidecar.RemoteError", err)
	}
	return re.Code
}

// wantCode checks that err is a sidecar error with the given code whose message
// contains every one of want.
func wantCode(t testing.TB, err error, code codes.Code, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the call succeeded, want %s", code)
	}
	if got := remoteCode(t, err); got != code {
		t.Fatalf("code %s, want %s (error: %v)", got, code, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err.Error(), w)
		}
	}
}

// wantRefusal fails unless err carries the ports.Refusal of sentinel, whose
// customer-readable detail mentions every want and names no path in the pod.
func wantRefusal(t testing.TB, err error, sentinel error, want ...string) {
	t.Helper()
	var r *ports.Refusal
	if !errors.Is(err, sentinel) || !errors.As(err, &r) {
		t.Fatalf("error %v is not a refusal of %v", err, sentinel)
	}
	for _, w := range want {
		if !strings.Contains(r.Detail, w) {
			t.Fatalf("refusal detail %q does not mention %q", r.Detail, w)
		}
	}
	if strings.Contains(r.Detail, os.TempDir()) {
		t.Fatalf("refusal detail %q names a path in the pod", r.Detail)
	}
}

// second returns the error of a call that also returns a value.
func second[T any](_ T, err error) error { return err }

package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestAuthentication(t *testing.T) {
	srv := startServer(t, server.Options{})
	ctx := context.Background()
	victim := srv.path("world.dat")
	writeRandomFile(t, victim, 100, 0o644, 1)

	// raw calls DeleteFile with the given authorization metadata (none if empty),
	// bypassing the client so that any header can be sent.
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := func(auth ...string) error {
		callCtx := ctx
		for _, a := range auth {
			callCtx = metadata.AppendToOutgoingContext(callCtx, "authorization", a)
		}
		_, err := sidecarpb.NewFileIOClient(conn).DeleteFile(callCtx, &sidecarpb.DeleteFileRequest{Path: victim})
		return err
	}
	refused := []struct {
		name, why string
		auth      []string
	}{
		{name: "no credentials", auth: nil},
		{name: "an empty bearer token", auth: []string{"Bearer "}},
		{name: "a wrong secret", auth: []string{"Bearer wrong horse battery staple"}},
		{name: "the secret with a suffix", auth: []string{"Bearer " + testSecret + "x"}},
		{name: "a prefix of the secret", auth: []string{"Bearer " + testSecret[:5]}},
		{name: "the secret without the Bearer scheme", auth: []string{testSecret}},
		{name: "the secret under another scheme", auth: []string{"Basic " + testSecret}},
		{name: "two authorization values", auth: []string{"Bearer wrong", "Bearer " + testSecret}},
	}
	for _, tc := range refused {
		t.Run("refuses a call with "+tc.name, func(t *testing.T) {
			err := raw(tc.auth...)
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("code %s, want Unauthenticated (error: %v)", status.Code(err), err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("the error reveals the secret: %v", err)
			}
			if _, err := srv.client(t).ReadFile(ctx, victim); err != nil {
				t.Fatalf("the refused call touched the file: %v", err)
			}
		})
	}

	t.Run("refuses every RPC without credentials, streams included", func(t *testing.T) {
		c := srv.connect(t, "")
		calls := map[string]error{
			"CompressFiles": second(c.CompressFiles(ctx, []string{srv.Root}, srv.path("out.tar.gz"), ports.ArchiveOptions{})),
			"ExtractTo":     c.ExtractTo(ctx, victim, srv.path("dest"), nil),
			"DeleteFile":    c.DeleteFile(ctx, victim),
			"WriteFile":     c.WriteFile(ctx, srv.path("new.bin"), 3, strings.NewReader("abc")),
		}
		_, calls["ReadFile"] = c.ReadFile(ctx, victim)
		_, calls["StreamArchive"] = c.StreamArchive(ctx, []string{srv.Root}, ports.ArchiveOptions{})
		for name, err := range calls {
			if !errors.Is(err, ports.ErrCluster) || remoteCode(t, err) != codes.Unauthenticated {
				t.Errorf("%s: error %v, want ErrCluster with Unauthenticated", name, err)
			}
		}
	})

	t.Run("accepts the right secret", func(t *testing.T) {
		if err := raw("Bearer " + testSecret); err != nil {
			t.Fatalf("DeleteFile with the secret: %v", err)
		}
	})

	t.Run("answers health checks without credentials, for probes", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: sidecarpb.ServiceName})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %s, want SERVING", resp.GetStatus())
		}
	})
}

func TestNewServerRefusesAnEmptySecret(t *testing.T) {
	_, err := server.New(server.Options{Roots: []string{t.TempDir()}, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("server.New without a secret: %v, want an error about the secret", err)
	}
	t.Run("unless unauthenticated access is asked for explicitly", func(t *testing.T) {
		srv := startServer(t, server.Options{AllowUnauthenticated: true})
		c := srv.connect(t, "")
		if err := c.DeleteFile(context.Background(), srv.path("nothing")); err != nil {
			t.Fatalf("DeleteFile on an unauthenticated server: %v", err)
		}
	})
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sidecar"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startServer(t, server.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}})
	ctx := context.Background()

	t.Run("a client trusting the certificate works", func(t *testing.T) {
		c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: srv.Addr, Secret: testSecret}, sidecar.ClientOptions{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}})
		if err != nil {
			t.Fatalf("Connect over TLS: %v", err)
		}
		defer c.Close()
		if err := c.DeleteFile(ctx, srv.path("nothing")); err != nil {
			t.Fatalf("DeleteFile over TLS: %v", err)
		}
	})

	t.Run("a plaintext client cannot connect", func(t *testing.T) {
		c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: srv.Addr, Secret: testSecret}, sidecar.ClientOptions{CallTimeout: 2 * time.Second})
		if err == nil {
			c.Close()
			t.Fatal("a plaintext client connected to a TLS sidecar")
		}
		if !errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v does not wrap ErrCluster", err)
		}
	})

	t.Run("a client not trusting the certificate cannot connect", func(t *testing.T) {
		c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: srv.Addr, Secret: testSecret}, sidecar.ClientOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS13}, CallTimeout: 2 * time.Second})
		if err == nil {
			c.Close()
			t.Fatal("a client connected to a sidecar whose certificate it does not trust")
		}
	})
}

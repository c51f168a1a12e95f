package sidecar_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/samber/do/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

const testSecret = "correct horse battery staple"

// fakeSidecar serves impl as FileIO on 127.0.0.1, with a health service that
// reports it serving, until the test ends. With a secret it refuses unary calls
// without it, as a sidecar does (health checks excepted).
func fakeSidecar(t *testing.T, impl sidecarpb.FileIOServer, secret string) string {
	t.Helper()
	var opts []grpc.ServerOption
	if secret != "" {
		opts = append(opts, grpc.UnaryInterceptor(requireSecret(secret)))
	}
	s := grpc.NewServer(opts...)
	sidecarpb.RegisterFileIOServer(s, impl)
	hs := health.NewServer()
	hs.SetServingStatus(sidecarpb.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// requireSecret makes the fake check the bearer secret, so that a test that
// succeeds shows the client sent the secret its Endpoint carries.
func requireSecret(secret string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("authorization"); info.FullMethod != healthpb.Health_Check_FullMethodName && (len(got) != 1 || got[0] != "Bearer "+secret) {
			return nil, status.Error(codes.Unauthenticated, "invalid credentials")
		}
		return handler(ctx, req)
	}
}

// connect returns a client of the sidecar at ep, closed with the test.
func connect(t *testing.T, ep sidecar.Endpoint) *sidecar.Client {
	t.Helper()
	c, err := sidecar.Connect(context.Background(), ep, sidecar.ClientOptions{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// deletingSidecar answers DeleteFile, the call the dialer tests make once
// connected; a sidecar that implements nothing is one that predates
// StreamArchive.
type deletingSidecar struct {
	sidecarpb.UnimplementedFileIOServer
}

func (deletingSidecar) DeleteFile(context.Context, *sidecarpb.DeleteFileRequest) (*sidecarpb.Empty, error) {
	return &sidecarpb.Empty{}, nil
}

// reportlessSidecar answers like a sidecar that predates archive reports:
// archives without a report.
type reportlessSidecar struct {
	sidecarpb.UnimplementedFileIOServer
}

func (reportlessSidecar) CompressFiles(context.Context, *sidecarpb.CompressFilesRequest) (*sidecarpb.CompressFilesResponse, error) {
	return &sidecarpb.CompressFilesResponse{SizeBytes: 10}, nil
}

func (reportlessSidecar) StreamArchive(_ *sidecarpb.StreamArchiveRequest, s sidecarpb.FileIO_StreamArchiveServer) error {
	if err := s.Send(&sidecarpb.Chunk{}); err != nil {
		return err
	}
	return s.Send(&sidecarpb.Chunk{Data: []byte("an archive")})
}

func TestClient(t *testing.T) {
	ctx := context.Background()

	t.Run("StreamArchive on a sidecar without it reports ErrUnsupported", func(t *testing.T) {
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, sidecarpb.UnimplementedFileIOServer{}, "")})
		_, err := c.StreamArchive(ctx, []string{"/data"}, ports.ArchiveOptions{})
		if !errors.Is(err, ports.ErrUnsupported) {
			t.Fatalf("error %v, want ErrUnsupported", err)
		}
		if errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v wraps ErrCluster: callers would fail instead of falling back", err)
		}
	})

	t.Run("an unreachable sidecar fails Dial with ErrCluster, promptly", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		d, err := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
			return sidecar.Endpoint{Address: addr, Secret: testSecret}, nil
		}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = d.Dial(ctx, ports.Provision{ID: ports.NewProvisionID(), Role: ports.RoleSidecar})
		if !errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrCluster", err)
		}
		var re *sidecar.RemoteError
		if !errors.As(err, &re) || re.Code != codes.Unavailable {
			t.Fatalf("error %v, want a *sidecar.RemoteError with Unavailable", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("Dial took %v to give up", took)
		}
	})

	t.Run("a resolver failure fails Dial with ErrCluster and the cause", func(t *testing.T) {
		unknown := errors.New("no pod for this provision")
		d, err := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) { return sidecar.Endpoint{}, unknown }, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Dial(ctx, ports.Provision{})
		if !errors.Is(err, ports.ErrCluster) || !errors.Is(err, unknown) {
			t.Fatalf("error %v, want ErrCluster wrapping the resolver's error", err)
		}
	})

	t.Run("Dial connects through the resolver", func(t *testing.T) {
		addr := fakeSidecar(t, deletingSidecar{}, testSecret)
		want := ports.NewProvisionID()
		d, err := sidecar.NewDialer(func(_ context.Context, p ports.Provision) (sidecar.Endpoint, error) {
			if p.ID != want {
				return sidecar.Endpoint{}, errors.New("asked for the wrong provision")
			}
			return sidecar.Endpoint{Address: addr, Secret: testSecret}, nil
		}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fio, err := d.Dial(ctx, ports.Provision{ID: want, Role: ports.RoleSidecar})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer fio.Close()
		if err := fio.DeleteFile(ctx, "/data/nothing"); err != nil {
			t.Fatalf("DeleteFile: %v", err)
		}
	})

	t.Run("a cancelled context is reported as such", func(t *testing.T) {
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, deletingSidecar{}, testSecret), Secret: testSecret})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := c.DeleteFile(cctx, "/data/x")
		if !errors.Is(err, ports.ErrCluster) || !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want ErrCluster matching context.Canceled", err)
		}
	})

	t.Run("NewDialer needs a resolver", func(t *testing.T) {
		if _, err := sidecar.NewDialer(nil, sidecar.ClientOptions{}); err == nil {
			t.Fatal("NewDialer accepted a nil resolver")
		}
	})
}

func TestPackageProvidesTheDialer(t *testing.T) {
	addr := fakeSidecar(t, deletingSidecar{}, testSecret)
	injector := do.New(sidecar.Package(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: addr, Secret: testSecret}, nil
	}, sidecar.ClientOptions{}))
	dialer, err := do.Invoke[ports.SidecarDialer](injector)
	if err != nil {
		t.Fatal(err)
	}
	fio, err := dialer.Dial(context.Background(), ports.Provision{ID: ports.NewProvisionID(), Role: ports.RoleSidecar})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer fio.Close()
	if err := fio.DeleteFile(context.Background(), "/data/nothing"); err != nil {
		t.Fatal(err)
	}
}

// A new client of a sidecar that predates reports gets zero reports and no
// progress.
func TestClientOfASidecarThatDoesNotReport(t *testing.T) {
	ctx := context.Background()
	c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, reportlessSidecar{}, "")})
	report, err := c.CompressFiles(ctx, []string{"/data"}, "/tmp/backup.tar.gz", ports.ArchiveOptions{})
	if err != nil || report.Entries != 0 || report.Skipped != nil {
		t.Fatalf("CompressFiles: %+v, %v; want the zero report", report, err)
	}
	stream, err := c.StreamArchive(ctx, []string{"/data"}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if b, err := io.ReadAll(stream); err != nil || string(b) != "an archive" {
		t.Fatalf("read %q, %v", b, err)
	}
	if r := stream.Report(); r.Entries != 0 || r.Skipped != nil || r.SkippedCount != 0 {
		t.Fatalf("report %+v, want the zero report", r)
	}
	if done, total := stream.Progress(); done != 0 || total != 0 {
		t.Fatalf("progress %d of %d, want 0 of 0", done, total)
	}
}

func TestClientDirsAreTheEndpoints(t *testing.T) {
	ctx := context.Background()
	addr := fakeSidecar(t, sidecarpb.UnimplementedFileIOServer{}, "")
	dirs := ports.SidecarDirs{Data: "/srv/game-7/data", Temp: "/srv/game-7/tmp"}
	d, err := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: addr, Secret: testSecret, Dirs: dirs}, nil
	}, sidecar.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fio, err := d.Dial(ctx, ports.Provision{ID: ports.NewProvisionID(), Role: ports.RoleSidecar})
	if err != nil {
		t.Fatal(err)
	}
	defer fio.Close()
	if got := fio.Dirs(); got != dirs {
		t.Fatalf("Dirs() = %+v, want %+v", got, dirs)
	}
	if got := connect(t, sidecar.Endpoint{Address: addr}).Dirs(); got != (ports.SidecarDirs{}) {
		t.Fatalf("Dirs() of an endpoint without them = %+v, want the zero value (the defaults)", got)
	}
}

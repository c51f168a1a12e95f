package sidecar_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samber/do/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// startSeedSidecar serves a FileIO that implements no RPC, like a sidecar that
// predates StreamArchive, with a healthy health service.
func startSeedSidecar(t *testing.T) string {
	t.Helper()
	s := grpc.NewServer()
	sidecarpb.RegisterFileIOServer(s, sidecarpb.UnimplementedFileIOServer{})
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
		c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: startSeedSidecar(t)}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.StreamArchive(ctx, []string{"/data"})
		if !errors.Is(err, ports.ErrUnsupported) {
			t.Fatalf("error %v, want ErrUnsupported", err)
		}
		if errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v wraps ErrCluster: callers would fail instead of falling back", err)
		}
	})

	t.Run("a sidecar with DisableStreamArchive answers like one without it, and still compresses to a file", func(t *testing.T) {
		srv := startServer(t, sidecar.Options{DisableStreamArchive: true})
		data := srv.mkdir(t, "data")
		writeRandomFile(t, filepath.Join(data, "level.dat"), 4096, 0o644, 1)
		c := srv.client(t)
		_, err := c.StreamArchive(ctx, []string{data})
		if !errors.Is(err, ports.ErrUnsupported) || errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrUnsupported (not ErrCluster)", err)
		}
		out := srv.path("backup.tar.gz")
		if _, err := c.CompressFiles(ctx, []string{data}, out); err != nil {
			t.Fatalf("CompressFiles, the fallback: %v", err)
		}
		if info, err := os.Stat(out); err != nil || info.Size() == 0 {
			t.Fatalf("the fallback's archive: %v", err)
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
		if remoteCode(t, err) != codes.Unavailable {
			t.Fatalf("code %s, want Unavailable", remoteCode(t, err))
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
		srv := startServer(t, sidecar.Options{})
		want := ports.NewProvisionID()
		d, err := sidecar.NewDialer(func(_ context.Context, p ports.Provision) (sidecar.Endpoint, error) {
			if p.ID != want {
				return sidecar.Endpoint{}, errors.New("asked for the wrong provision")
			}
			return sidecar.Endpoint{Address: srv.Addr, Secret: testSecret}, nil
		}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fio, err := d.Dial(ctx, ports.Provision{ID: want, Role: ports.RoleSidecar})
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer fio.Close()
		if err := fio.DeleteFile(ctx, srv.path("nothing")); err != nil {
			t.Fatalf("DeleteFile: %v", err)
		}
	})

	t.Run("a cancelled context is reported as such", func(t *testing.T) {
		srv := startServer(t, sidecar.Options{})
		c := srv.client(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := c.DeleteFile(cctx, srv.path("x"))
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
	srv := startServer(t, sidecar.Options{})
	injector := do.New(sidecar.Package(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: srv.Addr, Secret: testSecret}, nil
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
	if err := fio.DeleteFile(context.Background(), srv.path("nothing")); err != nil {
		t.Fatal(err)
	}
}

// A new client of a sidecar that predates reports gets zero reports.
func TestClientOfASidecarThatDoesNotReport(t *testing.T) {
	ctx := context.Background()
	s := grpc.NewServer()
	sidecarpb.RegisterFileIOServer(s, reportlessSidecar{})
	hs := health.NewServer()
	hs.SetServingStatus(sidecarpb.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Stop()
	c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: ln.Addr().String()}, sidecar.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	report, err := c.CompressFiles(ctx, []string{"/data"}, "/tmp/backup.tar.gz")
	if err != nil || report.Entries != 0 || report.Skipped != nil {
		t.Fatalf("CompressFiles: %+v, %v; want the zero report", report, err)
	}
	stream, err := c.StreamArchive(ctx, []string{"/data"})
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
}

func TestClientDirsAreTheEndpoints(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, sidecar.Options{})
	dirs := ports.SidecarDirs{Data: "/srv/game-7/data", Temp: "/srv/game-7/tmp"}
	d, err := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: srv.Addr, Secret: testSecret, Dirs: dirs}, nil
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
	if got := srv.client(t).Dirs(); got != (ports.SidecarDirs{}) {
		t.Fatalf("Dirs() of an endpoint without them = %+v, want the zero value (the defaults)", got)
	}
}

package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/samber/do/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/adapters/postgres"
	spriver "github.com/savepoint-dev/savepoint/adapters/river"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// catalog is the host side the example server plays itself: orders, provisions
// and permissions it can also write, to seed the demo. Both the postgres and the
// local catalogs are one.
type catalog interface {
	ports.Orders
	ports.Permissions
	CreateOrder(ctx context.Context, o ports.Order) error
	CreateProvision(ctx context.Context, p ports.Provision) error
	GrantViewAllOrders(ctx context.Context, user ports.UserID) error
}

// newInjector composes the server from the adapters' samber/do packages, real or
// zero-config as cfg says, the way a host would: each package binds the ports it
// implements, and newService builds the backup service from the ports. do shuts
// the services down in reverse dependency order: the HTTP server first, then the
// backup service (which waits for running operations), then the sidecar,
// storage and the database pool.
func newInjector(cfg config, s3cfg s3.Config, tel *telemetry, log *slog.Logger) *do.RootScope {
	i := do.New()
	do.ProvideValue(i, cfg)
	do.ProvideValue(i, log)
	do.ProvideValue(i, tel)
	s3cfg.TracerProvider = tel.tracers

	if cfg.DatabaseURL != "" {
		postgres.Package(postgres.Config{URL: cfg.DatabaseURL, Standalone: true, TracerProvider: tel.tracers})(i)
		do.MustAs[*postgres.Catalog, catalog](i)
	} else {
		local.Package()(i)
		do.MustAs[*local.Catalog, catalog](i)
	}
	if cfg.S3Bucket != "" {
		s3.Package(s3cfg)(i)
	} else {
		local.ObjectStorePackage(filepath.Join(cfg.Dir, "objects"))(i)
	}
	sidecar.Package(sidecarResolver(i, cfg, log), sidecar.ClientOptions{TracerProvider: tel.tracers, MeterProvider: tel.meters})(i)

	do.Provide(i, newService)
	if cfg.DatabaseURL != "" {
		// Schedules run on River, in every replica of this server, each slot once.
		ropts := spriver.Options{Tick: cfg.ScheduleTick, Logger: log.With("component", "schedules")}
		do.Provide(i, func(i do.Injector) (*pgxpool.Pool, error) {
			p, err := do.Invoke[*postgres.Pool](i)
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// savepoint's tables are there already (Standalone); this adds River's,
			// under the same lock.
			return p.Pool, postgres.MigrateStandalone(ctx, p, postgres.Layout{}, spriver.MigrateStep(p.Pool, ropts))
		})
		do.MustAs[*backup.Service, spriver.Scheduler](i)
		spriver.Package(ropts)(i)
	}
	provideWebhooks(i, cfg, log)
	do.Provide(i, newObservedWebServer)
	return i
}

// newService builds the backup service from the ports in the injector.
func newService(i do.Injector) (*backup.Service, error) {
	cfg := do.MustInvoke[config](i)
	tel := do.MustInvoke[*telemetry](i)
	var err error
	deps := backup.Deps{
		Repository:  invoke[ports.Repository](i, &err),
		Orders:      invoke[catalog](i, &err),
		Permissions: invoke[catalog](i, &err),
		Assets:      invoke[ports.Assets](i, &err),
		Objects:     invoke[ports.ObjectStore](i, &err),
		Sidecars:    invoke[ports.SidecarDialer](i, &err),
		Schedules:   invoke[ports.Schedules](i, &err),
		Activity:    invoke[ports.ActivityLog](i, &err),
	}
	if err != nil {
		return nil, err
	}
	return backup.NewService(deps, backup.Options{
		MaxConcurrentOperations: cfg.MaxConcurrent,
		HeartbeatInterval:       cfg.HeartbeatInterval,
		StaleAfter:              cfg.StaleAfter,
		SweepInterval:           cfg.SweepInterval,
		OrphanGracePeriod:       cfg.OrphanGrace,
		FailWithoutQuiesce:      cfg.FailWithoutQuiesce,
		MeterProvider:           tel.meters,
		TracerProvider:          tel.tracers,
		Logger:                  do.MustInvoke[*slog.Logger](i).With("component", "backup"),
	})
}

// invoke is do.Invoke that keeps the first error in *err, so that a struct of
// dependencies reads as one literal.
func invoke[T any](i do.Injector, err *error) T {
	v, e := do.Invoke[T](i)
	if e != nil && *err == nil {
		*err = e
	}
	return v
}

// sidecarResolver finds the game server's sidecar: the one -sidecar-addr names,
// or the in-process one. Either way the example server has one game server; a
// platform resolves each provision to its own pod, and may give each its own
// directories the way this resolver does.
func sidecarResolver(i do.Injector, cfg config, log *slog.Logger) sidecar.Resolver {
	if cfg.SidecarAddr != "" {
		ep := sidecar.Endpoint{Address: cfg.SidecarAddr, Secret: cfg.SidecarSecret,
			Dirs: ports.SidecarDirs{Data: cfg.SidecarDataDir, Temp: cfg.SidecarTempDir}}
		return func(context.Context, ports.Provision) (sidecar.Endpoint, error) { return ep, nil }
	}
	do.Provide(i, func(i do.Injector) (*inprocSidecar, error) {
		return startInprocSidecar(cfg, log, do.MustInvoke[*telemetry](i).tracers)
	})
	return func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		sc, err := do.Invoke[*inprocSidecar](i)
		if err != nil {
			return sidecar.Endpoint{}, err
		}
		return sc.endpoint, nil
	}
}

func s3Config(cfg config, log *slog.Logger) (s3.Config, error) {
	c := s3.Config{
		Bucket: cfg.S3Bucket, Region: cfg.S3Region, Endpoint: cfg.S3Endpoint,
		UsePathStyle: cfg.S3PathStyle, Logger: log.With("component", "s3"),
	}
	if cfg.S3AccessKey != "" {
		c.Credentials = &s3.Credentials{AccessKeyID: cfg.S3AccessKey, SecretAccessKey: cfg.S3SecretKey}
	}
	if cfg.S3CAFile != "" {
		pem, err := os.ReadFile(cfg.S3CAFile)
		if err != nil {
			return c, fmt.Errorf("reading -s3-ca-file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("-s3-ca-file %s holds no PEM certificate", cfg.S3CAFile)
		}
	}
	return c, nil
}

// inprocSidecar is the zero-config FileIO sidecar: the real gRPC server, on a
// loopback port of this process, serving a local data directory seeded with a
// small sample world.
type inprocSidecar struct {
	srv      *server.Server
	endpoint sidecar.Endpoint
}

func startInprocSidecar(cfg config, log *slog.Logger, tp trace.TracerProvider) (*inprocSidecar, error) {
	dirs := ports.SidecarDirs{Data: filepath.Join(cfg.Dir, "data"), Temp: filepath.Join(cfg.Dir, "tmp")}
	if err := os.MkdirAll(dirs.Temp, 0o700); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dirs.Data); errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		files, bytes, err := writeSampleWorld(dirs.Data)
		if err != nil {
			return nil, fmt.Errorf("writing the sample world: %w", err)
		}
		log.Info("wrote a sample game world", "dir", dirs.Data, "files", files, "bytes", bytes)
	} else if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	srv, err := server.New(server.Options{
		Roots: []string{dirs.Data, dirs.Temp}, ArchiveDir: dirs.Temp, StateDir: filepath.Join(cfg.Dir, "sidecar-state"),
		Secret: hex.EncodeToString(secret), Logger: log.With("component", "sidecar"), TracerProvider: tp,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("in-process sidecar stopped", "err", err)
		}
	}()
	return &inprocSidecar{
		srv:      srv,
		endpoint: sidecar.Endpoint{Address: ln.Addr().String(), Secret: hex.EncodeToString(secret), Dirs: dirs},
	}, nil
}

// Shutdown stops the sidecar once the backup service no longer needs it.
func (s *inprocSidecar) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

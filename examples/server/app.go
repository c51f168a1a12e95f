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

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
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

// sidecarPaths are the data and scratch directories as the sidecar sees them.
type sidecarPaths struct{ Data, Temp string }

// newInjector composes the server: each piece is a samber/do service, real or
// zero-config as cfg says. do shuts them down in reverse dependency order: the
// HTTP server first, then the backup service (which waits for running
// operations), then the sidecar, storage and the database pool.
func newInjector(cfg config, log *slog.Logger) *do.RootScope {
	i := do.New()
	do.ProvideValue(i, cfg)
	do.ProvideValue(i, log)

	if cfg.DatabaseURL != "" {
		postgres.Package(postgres.Config{URL: cfg.DatabaseURL, Standalone: true})(i)
		do.MustAs[*postgres.Repository, ports.Repository](i)
		do.MustAs[*postgres.Assets, ports.Assets](i)
		do.MustAs[*postgres.Catalog, catalog](i)
	} else {
		do.ProvideValue[ports.Repository](i, local.NewRepository())
		do.ProvideValue[ports.Assets](i, local.NewAssets())
		do.ProvideValue[catalog](i, local.NewCatalog())
	}

	if cfg.S3Bucket != "" {
		do.Provide(i, func(do.Injector) (s3.Config, error) { return s3Config(cfg, log) })
		do.Provide(i, func(i do.Injector) (ports.ObjectStore, error) {
			s3cfg, err := do.Invoke[s3.Config](i)
			if err != nil {
				return nil, err
			}
			return s3.New(context.Background(), s3cfg)
		})
	} else {
		do.Provide(i, func(do.Injector) (ports.ObjectStore, error) {
			return local.OpenObjectStore(filepath.Join(cfg.Dir, "objects"))
		})
	}

	if cfg.SidecarAddr != "" {
		do.ProvideValue(i, sidecarPaths{Data: cfg.SidecarDataDir, Temp: cfg.SidecarTempDir})
		do.Provide(i, func(do.Injector) (ports.SidecarDialer, error) {
			ep := sidecar.Endpoint{Address: cfg.SidecarAddr, Secret: cfg.SidecarSecret}
			return sidecar.NewDialer(staticEndpoint(ep), sidecar.ClientOptions{})
		})
	} else {
		do.Provide(i, func(do.Injector) (*inprocSidecar, error) { return startInprocSidecar(cfg, log) })
		do.Provide(i, func(i do.Injector) (sidecarPaths, error) {
			sc, err := do.Invoke[*inprocSidecar](i)
			if err != nil {
				return sidecarPaths{}, err
			}
			return sc.paths, nil
		})
		do.Provide(i, func(i do.Injector) (ports.SidecarDialer, error) {
			sc, err := do.Invoke[*inprocSidecar](i)
			if err != nil {
				return nil, err
			}
			return sidecar.NewDialer(staticEndpoint(sc.endpoint), sidecar.ClientOptions{})
		})
	}

	do.Provide(i, newService)
	do.Provide(i, newWebServer)
	return i
}

// newService builds the backup service from the ports in the injector.
func newService(i do.Injector) (*backup.Service, error) {
	cfg := do.MustInvoke[config](i)
	cat, err := do.Invoke[catalog](i)
	if err != nil {
		return nil, err
	}
	deps := backup.Deps{Orders: cat, Permissions: cat}
	if deps.Repository, err = do.Invoke[ports.Repository](i); err != nil {
		return nil, err
	}
	if deps.Assets, err = do.Invoke[ports.Assets](i); err != nil {
		return nil, err
	}
	if deps.Objects, err = do.Invoke[ports.ObjectStore](i); err != nil {
		return nil, err
	}
	if deps.Sidecars, err = do.Invoke[ports.SidecarDialer](i); err != nil {
		return nil, err
	}
	paths, err := do.Invoke[sidecarPaths](i)
	if err != nil {
		return nil, err
	}
	return backup.NewService(deps, backup.Options{
		MaxConcurrentOperations: cfg.MaxConcurrent,
		HeartbeatInterval:       cfg.HeartbeatInterval,
		StaleAfter:              cfg.StaleAfter,
		SweepInterval:           cfg.SweepInterval,
		OrphanGracePeriod:       cfg.OrphanGrace,
		DataDir:                 paths.Data,
		TempDir:                 paths.Temp,
		Logger:                  do.MustInvoke[*slog.Logger](i).With("component", "backup"),
	})
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

// staticEndpoint resolves every sidecar provision to one endpoint: the example
// server has one game server. A platform resolves each provision to its pod.
func staticEndpoint(ep sidecar.Endpoint) sidecar.Resolver {
	return func(context.Context, ports.Provision) (sidecar.Endpoint, error) { return ep, nil }
}

// inprocSidecar is the zero-config FileIO sidecar: the real gRPC server, on a
// loopback port of this process, serving a local data directory seeded with a
// small sample world.
type inprocSidecar struct {
	srv      *sidecar.Server
	endpoint sidecar.Endpoint
	paths    sidecarPaths
}

// sampleWorldBytes keeps the demo's backups quick to make and download.
const sampleWorldBytes = 4 << 20

func startInprocSidecar(cfg config, log *slog.Logger) (*inprocSidecar, error) {
	paths := sidecarPaths{Data: filepath.Join(cfg.Dir, "data"), Temp: filepath.Join(cfg.Dir, "tmp")}
	if err := os.MkdirAll(paths.Temp, 0o700); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(paths.Data); errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		sum, err := gamedata.Generate(context.Background(), paths.Data, gamedata.Options{Size: sampleWorldBytes, Seed: 1})
		if err != nil {
			return nil, fmt.Errorf("seeding the sample world: %w", err)
		}
		log.Info("seeded sample game world", "dir", paths.Data, "files", sum.Files, "bytes", sum.Bytes)
	} else if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	srv, err := sidecar.NewServer(sidecar.Options{
		Roots: []string{paths.Data, paths.Temp}, ArchiveDir: paths.Temp, StateDir: filepath.Join(cfg.Dir, "sidecar-state"),
		Secret: hex.EncodeToString(secret), Logger: log.With("component", "sidecar"),
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
		endpoint: sidecar.Endpoint{Address: ln.Addr().String(), Secret: hex.EncodeToString(secret)},
		paths:    paths,
	}, nil
}

// Shutdown stops the sidecar once the backup service no longer needs it.
func (s *inprocSidecar) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

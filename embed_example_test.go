package savepoint_test

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2/adapters/humago"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The host's own pieces, which this example only declares: its catalog of
// orders and provisions, its permission check, where each game server's sidecar
// listens, and how it verifies its users' tokens.
var (
	hostOrders      ports.Orders
	hostPermissions ports.Permissions
	sidecarOf       func(ctx context.Context, p ports.Provision) (addr, secret, dataDir string, err error)
	verifyToken     func(ctx context.Context, token string) (backup.UserID, error)
)

// A platform embeds savepoint on its own PostgreSQL, beside its own orders,
// provisions and assets tables: savepoint's tables go into a schema of their own,
// the archives into S3, and the API onto the platform's router. This example
// compiles against the real packages (so this documentation cannot drift from
// them); it needs servers to run.
func Example_embedding() {
	ctx := context.Background()
	logger := slog.Default()

	pool, err := postgres.Open(ctx, postgres.Config{
		URL:    "postgres://platform@db/platform",
		Layout: postgres.Layout{Schema: "savepoint"}, // migrated at Open; foreign keys to your orders and provisions
	})
	if err != nil {
		logger.Error("database", "err", err)
		return
	}
	defer pool.Close()
	store, err := s3.New(ctx, s3.Config{Bucket: "platform-backups", Region: "eu-central-1"})
	if err != nil {
		logger.Error("storage", "err", err)
		return
	}
	dialer, err := sidecar.NewDialer(func(ctx context.Context, p ports.Provision) (sidecar.Endpoint, error) {
		addr, secret, dataDir, err := sidecarOf(ctx, p) // from your records of the game server's pod
		return sidecar.Endpoint{Address: addr, Secret: secret, Dirs: ports.SidecarDirs{Data: dataDir}}, err
	}, sidecar.ClientOptions{})
	if err != nil {
		logger.Error("sidecars", "err", err)
		return
	}

	layout := postgres.Layout{Schema: "savepoint"}
	svc, err := backup.NewService(backup.Deps{
		Repository:  postgres.NewRepository(pool, layout),
		Orders:      hostOrders,      // your catalog (ports.Orders)
		Permissions: hostPermissions, // ViewAllOrders (ports.Permissions)
		Assets:      postgres.NewAssets(pool, layout),
		Objects:     store,
		Sidecars:    dialer,
	}, backup.Options{Logger: logger}) // zero options: 10 backups, 15 s heartbeat, 2 min stale
	if err != nil {
		logger.Error("backup service", "err", err)
		return
	}
	go svc.RunRecovery(ctx)     // settles crashed replicas' operations, sweeps orphaned archives
	defer svc.Shutdown(context.Background()) // waits for running operations, records the rest

	mux := http.NewServeMux()
	api := humago.New(mux, sphttp.NewConfig("My platform", "1.0.0"))
	if err := sphttp.Register(api, svc, sphttp.Options{Authenticate: sphttp.BearerAuth(verifyToken)}); err != nil {
		logger.Error("routes", "err", err)
		return
	}

	// Your reprovision flow holds the order's fence while it rebuilds the server:
	// creates and restores answer 409 reprovisioning meanwhile.
	order := ports.NewOrderID()
	fence, err := svc.FenceOrder(ctx, order) // backup.ErrBackupInProgress while one runs
	if err == nil {
		// ... tear the game server down and build it again ...
		fence.Release(ctx)
	}
	// And deleting an order deletes its backups' archives too.
	svc.DeleteOrderBackups(ctx, order)
}

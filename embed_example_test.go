package savepoint_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

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
	verifyToken     func(ctx context.Context, token string) (ports.UserID, error)
)

// A platform embeds savepoint on its own PostgreSQL, beside its own orders,
// provisions and assets tables: savepoint's tables go into a schema of their own,
// the archives into S3, and the API onto the platform's router. This example
// compiles against the real packages (so this documentation cannot drift from
// them); it needs servers to run.
func Example_embedding() {
	ctx := context.Background()
	logger := slog.Default()
	databaseURL := "postgres://platform@db/platform"

	layout := postgres.Layout{Schema: "savepoint"} // savepoint's own tables, in a schema of their own
	pool, err := postgres.Open(ctx, postgres.Config{URL: databaseURL, Layout: layout})
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
	go svc.RunRecovery(ctx)                  // settles crashed replicas' operations, sweeps orphaned archives
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
	// Deleting an order deletes its backups' archives too.
	svc.DeleteOrderBackups(ctx, order)
}

// TestReadmeEmbeddingIsTheExample keeps the README's embedding snippet honest:
// every line of it is a line of Example_embedding, which the compiler checks.
func TestReadmeEmbeddingIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("embed_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- embedding:begin -->")
	snippet, _, ok2 := strings.Cut(rest, "<!-- embedding:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no embedding:begin/end markers")
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(example), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	checked := 0
	for _, l := range strings.Split(snippet, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "```") {
			continue
		}
		checked++
		if !lines[l] {
			t.Errorf("README line not in Example_embedding: %s", l)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d lines checked: the snippet is missing", checked)
	}
}

package savepoint_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// A host embeds the service: its own catalog of orders, somewhere to store
// archives, and a dialer for the sidecar beside each game server. Here every
// piece is local and the sidecar runs in-process on a loopback port.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "savepoint-example")
	defer os.RemoveAll(dir)
	data, tmp := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
	os.MkdirAll(filepath.Join(data, "world"), 0o755)
	os.MkdirAll(tmp, 0o700)
	os.WriteFile(filepath.Join(data, "world", "level.dat"), []byte("a world"), 0o644)

	// The sidecar: in production it runs in the game server's pod.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fileio, _ := server.New(server.Options{
		Roots: []string{data, tmp}, ArchiveDir: tmp, StateDir: filepath.Join(dir, "sidecar-state"),
		Secret: "per-pod-secret", Logger: quiet,
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go fileio.Serve(ln)
	defer fileio.Stop()
	dialer, _ := sidecar.NewDialer(func(context.Context, ports.Provision) (sidecar.Endpoint, error) {
		return sidecar.Endpoint{Address: ln.Addr().String(), Secret: "per-pod-secret"}, nil
	}, sidecar.ClientOptions{})

	// The host's records: a user's order with its game server and sidecar.
	catalog := local.NewCatalog()
	user, order := ports.NewUserID(), ports.NewOrderID()
	server, side := ports.NewProvisionID(), ports.NewProvisionID()
	catalog.CreateOrder(ctx, ports.Order{ID: order, OwnerID: user})
	catalog.CreateProvision(ctx, ports.Provision{ID: server, OrderID: order, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer})
	catalog.CreateProvision(ctx, ports.Provision{ID: side, OrderID: order, Kind: ports.KindDeployment, Role: ports.RoleSidecar})

	objects, _ := local.OpenObjectStore(filepath.Join(dir, "objects"))
	svc, err := backup.NewService(backup.Deps{
		Repository: local.NewRepository(), Orders: catalog, Permissions: catalog,
		Assets: local.NewAssets(), Objects: objects, Sidecars: dialer,
	}, backup.Options{DataDir: data, TempDir: tmp})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Shutdown(ctx)

	b, _ := svc.CreateBackup(ctx, user, order, server, backup.CreateRequest{Name: "Before the update"})
	fmt.Println(b.Name, "is", b.Status)
	for b.Status == ports.StatusCreating {
		time.Sleep(10 * time.Millisecond)
		b, _ = svc.GetBackup(ctx, user, order, server, b.ID)
	}
	fmt.Println(b.Name, "is", b.Status, "with a checksum:", len(b.SHA256) == 64)

	// Another user cannot see it.
	_, err = svc.ListBackups(ctx, ports.NewUserID(), order, server)
	fmt.Println(errors.Is(err, backup.ErrUnauthorized))
	// Output:
	// Before the update is creating
	// Before the update is ready with a checksum: true
	// true
}

package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/danielgtaylor/huma/v2/adapters/humago"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The host mounts the API on its own router (here net/http's ServeMux through
// humago) and decides how users authenticate (here a fixed bearer token).
func ExampleRegister() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "savepoint-example")
	defer os.RemoveAll(dir)
	objects, _ := local.OpenObjectStore(dir)
	defer objects.Close()

	// The host's catalog: one user with one order and its game server.
	catalog := local.NewCatalog()
	user, order, server := ports.NewUserID(), ports.NewOrderID(), ports.NewProvisionID()
	_ = catalog.CreateOrder(ctx, ports.Order{ID: order, OwnerID: user})
	_ = catalog.CreateProvision(ctx, ports.Provision{ID: server, OrderID: order,
		Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer})

	svc, err := backup.NewService(backup.Deps{
		Repository: local.NewRepository(), Orders: catalog, Permissions: catalog,
		Assets: local.NewAssets(), Objects: objects, Sidecars: noSidecars{},
	}, backup.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Shutdown(ctx)

	mux := http.NewServeMux()
	api := humago.New(mux, sphttp.NewConfig("My platform", "1.0.0"))
	err = sphttp.Register(api, svc, sphttp.Options{
		Authenticate: sphttp.BearerAuth(func(ctx context.Context, token string) (ports.UserID, error) {
			if token == "s3cret" {
				return user, nil
			}
			return ports.UserID{}, sphttp.ErrBadCredentials
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	path := fmt.Sprintf("/api/v1/orders/%s/provisions/%s/backups", order, server)
	for _, token := range []string{"s3cret", "guess"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			var p sphttp.Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			fmt.Println(rec.Code, p.Code)
			continue
		}
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 {"backups":[],"limit":10}
	// 401 unauthenticated
}

// noSidecars is a host without game servers to back up: listing still works.
type noSidecars struct{}

func (noSidecars) Dial(context.Context, ports.Provision) (ports.FileIO, error) {
	return nil, ports.ErrCluster
}

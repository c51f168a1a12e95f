package portstest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Catalog is a host catalog a test can fill: the ports it serves to the service,
// and the methods that record orders, provisions and permissions.
type Catalog interface {
	ports.Orders
	ports.Permissions
	CreateOrder(ctx context.Context, o ports.Order) error
	CreateProvision(ctx context.Context, p ports.Provision) error
	GrantViewAllOrders(ctx context.Context, user ports.UserID) error
}

// CatalogHarness describes a Catalog implementation to the contract suite.
type CatalogHarness struct {
	// New returns an empty catalog, for one subtest. It registers its own cleanup
	// and must be safe to call from parallel subtests.
	New func(t *testing.T) Catalog
}

// RunCatalogTests runs the Catalog contract suite: the ports' documented
// semantics. Each behaviour runs in a parallel subtest on a catalog of its own.
// What the suite requires beyond the ports' doc comments is listed in the package
// documentation.
func RunCatalogTests(t *testing.T, h CatalogHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: CatalogHarness.New is nil")
	}
	setUp := func(t *testing.T) catalogSuite {
		t.Parallel()
		return catalogSuite{catalog: h.New(t)}
	}
	run(t, setUp, []behaviour[catalogSuite]{
		{"a created order is returned as it was recorded", catalogSuite.createdOrderIsReturned},
		{"an unknown order or provision is not found", catalogSuite.getUnknown},
		{"a second order with the same ID is refused", catalogSuite.createRefusesDuplicateOrder},
		{"a created provision is returned with every field", catalogSuite.createdProvisionIsReturned},
		{"a provision of an unknown order is refused as not found", catalogSuite.provisionOfUnknownOrder},
		{"listing provisions returns exactly the order's own", catalogSuite.listProvisions},
		{"only users granted ViewAllOrders can view all orders", catalogSuite.viewAllOrders},
	})
}

// catalogSuite is one behaviour's catalog. Its methods are the behaviours
// RunCatalogTests lists, and the helpers below them.
type catalogSuite struct {
	catalog Catalog
}

func (s catalogSuite) createdOrderIsReturned(t *testing.T) {
	o := s.newOrder(t)
	got, err := s.catalog.GetOrder(t.Context(), o.ID)
	if err != nil || got != o {
		t.Errorf("GetOrder = %+v, %v; want %+v", got, err, o)
	}
}

func (s catalogSuite) getUnknown(t *testing.T) {
	_, err := s.catalog.GetOrder(t.Context(), ports.NewOrderID())
	wantErr(t, "GetOrder", err, ports.ErrNotFound)
	_, err = s.catalog.GetProvision(t.Context(), ports.NewProvisionID())
	wantErr(t, "GetProvision", err, ports.ErrNotFound)
}

func (s catalogSuite) createRefusesDuplicateOrder(t *testing.T) {
	o := s.newOrder(t)
	if err := s.catalog.CreateOrder(t.Context(), ports.Order{ID: o.ID, OwnerID: ports.NewUserID()}); err == nil {
		t.Fatal("CreateOrder with a duplicate ID succeeded")
	}
	if got, _ := s.catalog.GetOrder(t.Context(), o.ID); got != o {
		t.Errorf("after the refused duplicate GetOrder = %+v, want %+v", got, o)
	}
}

func (s catalogSuite) createdProvisionIsReturned(t *testing.T) {
	o := s.newOrder(t)
	for _, p := range []ports.Provision{
		{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer},
		{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar},
		{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer, HasSidecar: true},
		{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: "database", Role: "mysql"}, // kinds the host invents
	} {
		if err := s.catalog.CreateProvision(t.Context(), p); err != nil {
			t.Fatalf("CreateProvision: %v", err)
		}
		got, err := s.catalog.GetProvision(t.Context(), p.ID)
		if err != nil || got != p {
			t.Errorf("GetProvision = %+v, %v; want %+v", got, err, p)
		}
	}
}

func (s catalogSuite) provisionOfUnknownOrder(t *testing.T) {
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: ports.NewOrderID(), Kind: ports.KindDeployment, Role: ports.RoleGameServer}
	wantErr(t, "CreateProvision", s.catalog.CreateProvision(t.Context(), p), ports.ErrNotFound)
	_, err := s.catalog.GetProvision(t.Context(), p.ID)
	wantErr(t, "GetProvision of the refused provision", err, ports.ErrNotFound)
}

func (s catalogSuite) listProvisions(t *testing.T) {
	o, other := s.newOrder(t), s.newOrder(t)
	want := []ports.Provision{
		s.newProvision(t, o.ID, ports.RoleGameServer, true),
		s.newProvision(t, o.ID, ports.RoleSidecar, false),
	}
	s.newProvision(t, other.ID, ports.RoleGameServer, true)
	got, err := s.catalog.ListProvisions(t.Context(), o.ID)
	if err != nil {
		t.Fatalf("ListProvisions: %v", err)
	}
	byID := func(a, b ports.Provision) int { return strings.Compare(a.ID.String(), b.ID.String()) }
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if !slices.Equal(got, want) {
		t.Errorf("ListProvisions:\n got %+v\nwant %+v", got, want)
	}
	none, err := s.catalog.ListProvisions(t.Context(), ports.NewOrderID())
	if err != nil || len(none) != 0 {
		t.Errorf("ListProvisions of an unknown order = %+v, %v; want none", none, err)
	}
}

func (s catalogSuite) viewAllOrders(t *testing.T) {
	staff, customer := ports.NewUserID(), ports.NewUserID()
	check := func(user ports.UserID, want bool, who string) {
		t.Helper()
		got, err := s.catalog.CanViewAllOrders(t.Context(), user)
		if err != nil || got != want {
			t.Errorf("CanViewAllOrders(%s) = %v, %v; want %v", who, got, err, want)
		}
	}
	check(staff, false, "staff before the grant")
	for range 2 { // granting twice is not an error
		if err := s.catalog.GrantViewAllOrders(t.Context(), staff); err != nil {
			t.Fatalf("GrantViewAllOrders: %v", err)
		}
	}
	check(staff, true, "staff")
	check(customer, false, "a customer")
}

func (s catalogSuite) newOrder(t *testing.T) ports.Order {
	t.Helper()
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	if err := s.catalog.CreateOrder(t.Context(), o); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	return o
}

func (s catalogSuite) newProvision(t *testing.T, order ports.OrderID, role ports.ProvisionRole, primary bool) ports.Provision {
	t.Helper()
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: order, Kind: ports.KindDeployment, Primary: primary, Role: role}
	if err := s.catalog.CreateProvision(t.Context(), p); err != nil {
		t.Fatalf("CreateProvision: %v", err)
	}
	return p
}

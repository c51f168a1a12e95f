package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The demo's IDs are fixed, so that replicas sharing a database seed the same
// rows and a restarted server finds its backups again.
var (
	demoUserID  = mustID(ports.ParseUserID, "00000000-0000-4000-8000-00000000a001")
	adminUserID = mustID(ports.ParseUserID, "00000000-0000-4000-8000-00000000a002")
	otherUserID = mustID(ports.ParseUserID, "00000000-0000-4000-8000-00000000a003")
)

// otherOrder is the one order of the second user (-other-token). Its IDs use
// their own groups (8101…, 8102…, 8103…), so they never collide with the demo
// user's orders however many -demo-orders asks for.
var otherOrder = demoOrder{
	OrderID:     mustID(ports.ParseOrderID, "00000000-0000-4000-8101-000000000001"),
	ProvisionID: mustID(ports.ParseProvisionID, "00000000-0000-4000-8102-000000000001"),
	SidecarID:   mustID(ports.ParseProvisionID, "00000000-0000-4000-8103-000000000001"),
}

func mustID[T any](parse func(string) (T, error), s string) T {
	id, err := parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// demoOrder is one seeded order with its game server and sidecar provisions.
type demoOrder struct {
	OrderID     ports.OrderID     `json:"order_id"`
	ProvisionID ports.ProvisionID `json:"provision_id"`
	SidecarID   ports.ProvisionID `json:"-"`
}

func demoOrders(n int) []demoOrder {
	orders := make([]demoOrder, n)
	for k := range orders {
		orders[k] = demoOrder{
			OrderID:     mustID(ports.ParseOrderID, fmt.Sprintf("00000000-0000-4000-8001-%012x", k+1)),
			ProvisionID: mustID(ports.ParseProvisionID, fmt.Sprintf("00000000-0000-4000-8002-%012x", k+1)),
			SidecarID:   mustID(ports.ParseProvisionID, fmt.Sprintf("00000000-0000-4000-8003-%012x", k+1)),
		}
	}
	return orders
}

// demoSeed is what seedDemo records.
type demoSeed struct {
	orders []demoOrder // owned by the demo user
	admin  bool        // grant the support user ViewAllOrders
	other  bool        // the second user's order
}

// seedFor is what cfg asks to seed.
func seedFor(cfg config) demoSeed {
	return demoSeed{orders: demoOrders(cfg.DemoOrders), admin: cfg.AdminToken != "", other: cfg.OtherToken != ""}
}

// seedDemo records the demo orders (owned by the demo user), the second user's
// order and the support user's permission. It is idempotent: replicas and
// restarts may all run it.
func seedDemo(ctx context.Context, cat catalog, seed demoSeed) error {
	if err := seedOrders(ctx, cat, demoUserID, seed.orders); err != nil {
		return err
	}
	if seed.other {
		if err := seedOrders(ctx, cat, otherUserID, []demoOrder{otherOrder}); err != nil {
			return err
		}
	}
	if seed.admin {
		return cat.GrantViewAllOrders(ctx, adminUserID)
	}
	return nil
}

// seedOrders records orders owned by owner, each with its game server and
// sidecar provisions. Each row is created unless it exists, so that a replica
// that crashed half-way is completed by the next start.
func seedOrders(ctx context.Context, cat catalog, owner ports.UserID, orders []demoOrder) error {
	for _, o := range orders {
		err := ensure(
			func() error { _, err := cat.GetOrder(ctx, o.OrderID); return err },
			func() error { return cat.CreateOrder(ctx, ports.Order{ID: o.OrderID, OwnerID: owner}) })
		if err != nil {
			return fmt.Errorf("seeding order %s: %w", o.OrderID, err)
		}
		for _, p := range []ports.Provision{
			{ID: o.ProvisionID, OrderID: o.OrderID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer},
			{ID: o.SidecarID, OrderID: o.OrderID, Kind: ports.KindDeployment, Role: ports.RoleSidecar},
		} {
			err := ensure(
				func() error { _, err := cat.GetProvision(ctx, p.ID); return err },
				func() error { return cat.CreateProvision(ctx, p) })
			if err != nil {
				return fmt.Errorf("seeding provision %s: %w", p.ID, err)
			}
		}
	}
	return nil
}

// ensure creates a row unless exists finds it. Replicas starting together race
// to seed the same rows: a create that fails because another replica won is
// fine, which a second look tells.
func ensure(exists, create func() error) error {
	err := exists()
	if !errors.Is(err, ports.ErrNotFound) {
		return err // nil: already there
	}
	if err := create(); err != nil && exists() != nil {
		return err
	}
	return nil
}

// tokens authenticates the demo's bearer tokens. A platform plugs in its own
// session or token check here.
type tokens map[string]ports.UserID

func newTokens(cfg *config) tokens {
	if cfg.DemoToken == "" {
		b := make([]byte, 24)
		rand.Read(b)
		cfg.DemoToken = hex.EncodeToString(b)
	}
	t := tokens{cfg.DemoToken: demoUserID}
	if cfg.AdminToken != "" {
		t[cfg.AdminToken] = adminUserID
	}
	if cfg.OtherToken != "" {
		t[cfg.OtherToken] = otherUserID
	}
	return t
}

// verify compares against every token in constant time, so response timing does
// not reveal how much of a guess was right.
func (t tokens) verify(_ context.Context, token string) (ports.UserID, error) {
	var found ports.UserID
	for known, user := range t {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			found = user
		}
	}
	if found.IsZero() {
		return found, sphttp.ErrBadCredentials
	}
	return found, nil
}

package local

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Catalog is an in-memory host catalog: ports.Orders and ports.Permissions, plus
// methods that record orders, provisions and the ViewAllOrders permission. The
// example server fills it at start-up.
type Catalog struct {
	mu         sync.Mutex
	orders     map[ports.OrderID]ports.Order
	provisions map[ports.ProvisionID]ports.Provision
	viewAll    map[ports.UserID]bool
}

var (
	_ ports.Orders      = (*Catalog)(nil)
	_ ports.Permissions = (*Catalog)(nil)
)

// NewCatalog returns an empty Catalog.
func NewCatalog() *Catalog {
	return &Catalog{
		orders:     make(map[ports.OrderID]ports.Order),
		provisions: make(map[ports.ProvisionID]ports.Provision),
		viewAll:    make(map[ports.UserID]bool),
	}
}

// CreateOrder records o. Its ID must be new; ID and OwnerID are required.
func (c *Catalog) CreateOrder(ctx context.Context, o ports.Order) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: create order: %w", err)
	}
	if o.ID.IsZero() || o.OwnerID.IsZero() {
		return fmt.Errorf("local: create order %s: ID and owner are required", o.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.orders[o.ID]; ok {
		return fmt.Errorf("local: create order: order %s already exists", o.ID)
	}
	c.orders[o.ID] = o
	return nil
}

// CreateProvision records p, which belongs to an existing order. Its ID must be
// new. Returns ErrNotFound if the order does not exist.
func (c *Catalog) CreateProvision(ctx context.Context, p ports.Provision) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: create provision: %w", err)
	}
	if p.ID.IsZero() || p.OrderID.IsZero() {
		return fmt.Errorf("local: create provision %s: ID and order are required", p.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.orders[p.OrderID]; !ok {
		return fmt.Errorf("local: create provision %s: order %s: %w", p.ID, p.OrderID, ports.ErrNotFound)
	}
	if _, ok := c.provisions[p.ID]; ok {
		return fmt.Errorf("local: create provision: provision %s already exists", p.ID)
	}
	c.provisions[p.ID] = p
	return nil
}

// GrantViewAllOrders gives the user the ViewAllOrders permission. Granting it
// again is not an error.
func (c *Catalog) GrantViewAllOrders(ctx context.Context, user ports.UserID) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local: grant view all orders: %w", err)
	}
	if user.IsZero() {
		return errors.New("local: grant view all orders: no user")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.viewAll[user] = true
	return nil
}

// GetOrder returns the order. Returns ErrNotFound.
func (c *Catalog) GetOrder(ctx context.Context, id ports.OrderID) (ports.Order, error) {
	if err := ctx.Err(); err != nil {
		return ports.Order{}, fmt.Errorf("local: get order: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.orders[id]
	if !ok {
		return ports.Order{}, fmt.Errorf("local: order %s: %w", id, ports.ErrNotFound)
	}
	return o, nil
}

// GetProvision returns the provision. Returns ErrNotFound.
func (c *Catalog) GetProvision(ctx context.Context, id ports.ProvisionID) (ports.Provision, error) {
	if err := ctx.Err(); err != nil {
		return ports.Provision{}, fmt.Errorf("local: get provision: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.provisions[id]
	if !ok {
		return ports.Provision{}, fmt.Errorf("local: provision %s: %w", id, ports.ErrNotFound)
	}
	return p, nil
}

// ListProvisions returns the order's provisions ordered by ID (creation order for
// the time-ordered IDs from ports.NewProvisionID). An unknown order has none.
func (c *Catalog) ListProvisions(ctx context.Context, order ports.OrderID) ([]ports.Provision, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list provisions: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var list []ports.Provision
	for _, p := range c.provisions {
		if p.OrderID == order {
			list = append(list, p)
		}
	}
	slices.SortFunc(list, func(a, b ports.Provision) int {
		return compareIDs(a.ID.UUID(), b.ID.UUID())
	})
	return list, nil
}

// CanViewAllOrders reports whether the user holds ViewAllOrders.
func (c *Catalog) CanViewAllOrders(ctx context.Context, user ports.UserID) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("local: check permissions: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.viewAll[user], nil
}

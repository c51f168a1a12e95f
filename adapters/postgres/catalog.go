package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// permViewAllOrders is the user_permissions row behind CanViewAllOrders.
const permViewAllOrders = "view_all_orders"

// Catalog implements ports.Orders and ports.Permissions on the orders, provisions
// and user_permissions tables that MigrateStandalone creates in the first schema
// on search_path (whatever the Layout), and records rows in them: the host
// catalog of a deployment without a host platform.
type Catalog struct {
	db DB
}

var (
	_ ports.Orders      = (*Catalog)(nil)
	_ ports.Permissions = (*Catalog)(nil)
)

// NewCatalog returns a Catalog that runs its queries on db.
func NewCatalog(db DB) *Catalog {
	return &Catalog{db: db}
}

// CreateOrder records o. Its ID must be new; ID and OwnerID are required.
func (c *Catalog) CreateOrder(ctx context.Context, o ports.Order) error {
	if o.ID.IsZero() || o.OwnerID.IsZero() {
		return fmt.Errorf("postgres: create order %s: ID and owner are required", o.ID)
	}
	_, err := c.db.Exec(ctx, `INSERT INTO orders (id, owner_id) VALUES ($1, $2)`, o.ID, o.OwnerID)
	if violates(err, codeUniqueViolation, "orders_pkey") {
		return dbError("create order", fmt.Errorf("order %s already exists: %w", o.ID, err))
	}
	if err != nil {
		return dbError("create order "+o.ID.String(), err)
	}
	return nil
}

// CreateProvision records p, which belongs to an existing order. Its ID must be
// new. Returns ErrNotFound if the order does not exist.
func (c *Catalog) CreateProvision(ctx context.Context, p ports.Provision) error {
	if p.ID.IsZero() || p.OrderID.IsZero() {
		return fmt.Errorf("postgres: create provision %s: ID and order are required", p.ID)
	}
	_, err := c.db.Exec(ctx, `INSERT INTO provisions (id, order_id, kind, is_primary, role, has_sidecar)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.OrderID, string(p.Kind), p.Primary, string(p.Role), p.HasSidecar)
	switch {
	case violates(err, codeForeignKeyViolation, "provisions_order_id_fkey"):
		return fmt.Errorf("postgres: create provision %s: order %s: %w", p.ID, p.OrderID, ports.ErrNotFound)
	case violates(err, codeUniqueViolation, "provisions_pkey"):
		return dbError("create provision", fmt.Errorf("provision %s already exists: %w", p.ID, err))
	case err != nil:
		return dbError("create provision "+p.ID.String(), err)
	}
	return nil
}

// GrantViewAllOrders gives the user the ViewAllOrders permission. Granting it
// again is not an error.
func (c *Catalog) GrantViewAllOrders(ctx context.Context, user ports.UserID) error {
	if user.IsZero() {
		return errors.New("postgres: grant view all orders: no user")
	}
	_, err := c.db.Exec(ctx, `INSERT INTO user_permissions (user_id, permission) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, user, permViewAllOrders)
	if err != nil {
		return dbError("grant view all orders to "+user.String(), err)
	}
	return nil
}

// GetOrder returns the order. Returns ErrNotFound.
func (c *Catalog) GetOrder(ctx context.Context, id ports.OrderID) (ports.Order, error) {
	var o ports.Order
	err := c.db.QueryRow(ctx, `SELECT id, owner_id FROM orders WHERE id = $1`, id).Scan(&o.ID, &o.OwnerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Order{}, fmt.Errorf("postgres: order %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Order{}, dbError("get order "+id.String(), err)
	}
	return o, nil
}

const provisionColumns = `id, order_id, kind, is_primary, role, has_sidecar`

// GetProvision returns the provision. Returns ErrNotFound.
func (c *Catalog) GetProvision(ctx context.Context, id ports.ProvisionID) (ports.Provision, error) {
	p, err := scanProvision(c.db.QueryRow(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Provision{}, fmt.Errorf("postgres: provision %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return ports.Provision{}, dbError("get provision "+id.String(), err)
	}
	return p, nil
}

// ListProvisions returns the order's provisions in the order they were created
// (by ID, which is time-ordered). An unknown order has none.
func (c *Catalog) ListProvisions(ctx context.Context, order ports.OrderID) ([]ports.Provision, error) {
	rows, err := c.db.Query(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE order_id = $1 ORDER BY id`, order)
	if err != nil {
		return nil, dbError("list provisions of order "+order.String(), err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ports.Provision, error) { return scanProvision(row) })
	if err != nil {
		return nil, dbError("list provisions of order "+order.String(), err)
	}
	return list, nil
}

// CanViewAllOrders reports whether the user holds ViewAllOrders.
func (c *Catalog) CanViewAllOrders(ctx context.Context, user ports.UserID) (bool, error) {
	var ok bool
	err := c.db.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM user_permissions WHERE user_id = $1 AND permission = $2)`, user, permViewAllOrders).Scan(&ok)
	if err != nil {
		return false, dbError("check permissions of "+user.String(), err)
	}
	return ok, nil
}

func scanProvision(row pgx.Row) (ports.Provision, error) {
	var p ports.Provision
	var kind, role string
	if err := row.Scan(&p.ID, &p.OrderID, &kind, &p.Primary, &role, &p.HasSidecar); err != nil {
		return ports.Provision{}, err
	}
	p.Kind = ports.ProvisionKind(kind)
	p.Role = ports.ProvisionRole(role)
	return p, nil
}

package ports

import "context"

// Orders looks up the host platform's orders and provisions.
type Orders interface {
	// GetOrder returns the order. Returns ErrNotFound.
	GetOrder(ctx context.Context, id OrderID) (Order, error)

	// GetProvision returns the provision. Returns ErrNotFound.
	GetProvision(ctx context.Context, id ProvisionID) (Provision, error)

	// ListProvisions returns every provision of the order (to find the sidecar that
	// sits beside the primary deployment). An unknown order has none.
	ListProvisions(ctx context.Context, order OrderID) ([]Provision, error)
}

// Permissions answers the host's permission checks.
type Permissions interface {
	// CanViewAllOrders reports whether the user holds the ViewAllOrders permission
	// (support staff and administrators), which grants access to every order.
	CanViewAllOrders(ctx context.Context, user UserID) (bool, error)
}

// Assets records downloadable files. Hosts usually have their own assets table; the
// postgres and local adapters provide one for hosts that don't.
type Assets interface {
	// CreateAsset records a. Its ID must be new.
	CreateAsset(ctx context.Context, a Asset) error

	// GetAsset returns the asset. Returns ErrNotFound.
	GetAsset(ctx context.Context, id AssetID) (Asset, error)

	// DeleteAsset removes the asset; deleting a missing asset is not an error.
	DeleteAsset(ctx context.Context, id AssetID) error
}

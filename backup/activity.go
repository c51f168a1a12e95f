package backup

import (
	"context"
	"fmt"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ActivityPage is one page of an order's activity log, newest first.
type ActivityPage struct {
	// Items are the events, newest first.
	Items []ports.Activity
	// NextBefore is the cursor of the next (older) page: the last item's ID
	// when the page is full, so there may be more; zero when this is the last.
	NextBefore ports.ActivityID
}

// ListActivity returns a page of the order's activity log, newest first: the
// events with an ID below before (the newest when before is 0), at most limit
// of them (0 means ports.DefaultActivityPage; at most ports.MaxActivityPage).
// The caller must own the order or hold ViewAllOrders, as for listing its
// backups. Events stay when their backup is deleted. Returns ErrInvalidPage,
// ErrOrderNotFound, ErrUnauthorized, ErrActivityUnavailable, or an error
// wrapping ErrDatabase.
func (s *Service) ListActivity(ctx context.Context, user ports.UserID, orderID ports.OrderID, before ports.ActivityID, limit int) (ActivityPage, error) {
	switch {
	case limit == 0:
		limit = ports.DefaultActivityPage
	case limit < 0 || limit > ports.MaxActivityPage:
		return ActivityPage{}, fmt.Errorf("%w: the page size must be 1 to %d, not %d", ErrInvalidPage, ports.MaxActivityPage, limit)
	}
	if before < 0 {
		return ActivityPage{}, fmt.Errorf("%w: the cursor must not be negative", ErrInvalidPage)
	}
	if s.deps.Activity == nil {
		return ActivityPage{}, ErrActivityUnavailable
	}
	order, _, err := s.authorizeOrder(ctx, user, orderID, ErrOrderNotFound)
	if err != nil {
		return ActivityPage{}, err
	}
	items, err := s.deps.Activity.ListActivity(ctx, order.ID, before, limit)
	if err != nil {
		return ActivityPage{}, wrapInfra(ErrDatabase, "listing activity", err)
	}
	page := ActivityPage{Items: items}
	if page.Items == nil {
		page.Items = []ports.Activity{}
	}
	if len(items) == limit {
		page.NextBefore = items[len(items)-1].ID
	}
	return page, nil
}

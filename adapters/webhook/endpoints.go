package webhook

import (
	"context"
	"slices"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// StaticEndpoints is a fixed list of endpoints, for hosts that configure
// webhooks once at start-up (the example server's platform-wide one).
type StaticEndpoints []ports.WebhookEndpoint

var _ ports.WebhookEndpoints = StaticEndpoints(nil)

// Static returns the endpoints as a ports.WebhookEndpoints.
func Static(endpoints ...ports.WebhookEndpoint) StaticEndpoints {
	return StaticEndpoints(slices.Clone(endpoints))
}

// List returns the endpoints.
func (s StaticEndpoints) List(context.Context) ([]ports.WebhookEndpoint, error) {
	return slices.Clone(s), nil
}

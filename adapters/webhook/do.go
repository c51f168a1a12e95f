package webhook

import (
	"context"
	"time"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// startTimeout bounds Start inside Package, whose providers get no context
// from do.
const startTimeout = time.Minute

// Package returns a samber/do package that provides a *Dispatcher for opts,
// started (Start) when first invoked, on the injector's ports.ActivityLog,
// ports.WebhookEndpoints and ports.WebhookCursors (the postgres and local
// packages provide the cursors; the host provides its endpoints, for example
// with do.ProvideValue[ports.WebhookEndpoints](i, webhook.Static(…))). The
// injector's Shutdown stops the dispatcher before the stores it reads.
//
//	injector := do.New(webhook.Package(webhook.Options{}))
//	do.MustInvoke[*webhook.Dispatcher](injector)
func Package(opts Options) func(do.Injector) {
	return do.Package(
		do.Lazy(func(i do.Injector) (*Dispatcher, error) {
			activity, err := do.Invoke[ports.ActivityLog](i)
			if err != nil {
				return nil, err
			}
			endpoints, err := do.Invoke[ports.WebhookEndpoints](i)
			if err != nil {
				return nil, err
			}
			cursors, err := do.Invoke[ports.WebhookCursors](i)
			if err != nil {
				return nil, err
			}
			d, err := New(activity, endpoints, cursors, opts)
			if err != nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			if err := d.Start(ctx); err != nil {
				return nil, err
			}
			return d, nil
		}),
	)
}

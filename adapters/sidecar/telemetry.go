package sidecar

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/internal/grpcotel"
)

// statsHandler instruments every call on the connection with otelgrpc: a
// client span per call, and the caller's trace context sent along so that the
// sidecar's own spans join the backup's trace.
func (o ClientOptions) statsHandler() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(grpcotel.Options(o.Propagators, o.TracerProvider, o.MeterProvider)...))
}

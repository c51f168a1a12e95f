package server

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/internal/grpcotel"
)

// statsHandler instruments every call with otelgrpc: a server span per call,
// the child of the backup service's client span when the call carries its
// trace context.
func (o Options) statsHandler() grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler(grpcotel.Options(o.Propagators, o.TracerProvider, o.MeterProvider)...))
}

package server

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
)

// statsHandler instruments every call with otelgrpc: a server span per call,
// the child of the backup service's client span when the call carries a W3C
// trace context.
func (o Options) statsHandler() grpc.ServerOption {
	prop := o.Propagators
	if prop == nil {
		// Not otel's global propagator, a no-op unless the host set one: that
		// would start a new trace for every call.
		prop = propagation.TraceContext{}
	}
	opts := []otelgrpc.Option{otelgrpc.WithPropagators(prop)}
	if o.TracerProvider != nil {
		opts = append(opts, otelgrpc.WithTracerProvider(o.TracerProvider))
	}
	if o.MeterProvider != nil {
		opts = append(opts, otelgrpc.WithMeterProvider(o.MeterProvider))
	}
	return grpc.StatsHandler(otelgrpc.NewServerHandler(opts...))
}

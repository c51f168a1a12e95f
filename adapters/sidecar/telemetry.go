package sidecar

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
)

// statsHandler instruments every call on the connection with otelgrpc: a
// client span per call, and the caller's trace context sent along so that the
// sidecar's own spans join the backup's trace.
func (o ClientOptions) statsHandler() grpc.DialOption {
	prop := o.Propagators
	if prop == nil {
		// Not otel's global propagator, a no-op unless the host set one: that
		// would cut every trace at the sidecar.
		prop = propagation.TraceContext{}
	}
	opts := []otelgrpc.Option{otelgrpc.WithPropagators(prop)}
	if o.TracerProvider != nil {
		opts = append(opts, otelgrpc.WithTracerProvider(o.TracerProvider))
	}
	if o.MeterProvider != nil {
		opts = append(opts, otelgrpc.WithMeterProvider(o.MeterProvider))
	}
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(opts...))
}

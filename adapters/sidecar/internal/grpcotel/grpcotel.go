// Package grpcotel holds what the sidecar's client and server both give
// otelgrpc, so that the two ends of a call always agree on how a trace crosses
// it.
package grpcotel

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Options returns otelgrpc's options for the given providers and propagator;
// nil providers leave otelgrpc on otel's global ones. A nil propagator means W3C
// trace context, not otel's global propagator: that is a no-op unless the host
// set one, and would cut every backup's trace at the sidecar.
func Options(prop propagation.TextMapPropagator, tp trace.TracerProvider, mp metric.MeterProvider) []otelgrpc.Option {
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	opts := []otelgrpc.Option{otelgrpc.WithPropagators(prop)}
	if tp != nil {
		opts = append(opts, otelgrpc.WithTracerProvider(tp))
	}
	if mp != nil {
		opts = append(opts, otelgrpc.WithMeterProvider(mp))
	}
	return opts
}

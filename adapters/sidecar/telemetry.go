package sidecar

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/internal/grpcotel"
)

// statsHandler instruments every call on the connection with otelgrpc: a
// client span per call, and the caller's trace context sent along so that the
// sidecar's own spans join the backup's trace. RPC metrics are recorded only
// to a MeterProvider the host passed (see ClientOptions.MeterProvider): each
// series names one sidecar's address, which a host must know to filter.
func (o ClientOptions) statsHandler() grpc.DialOption {
	mp := o.MeterProvider
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(grpcotel.Options(o.Propagators, o.TracerProvider, mp)...))
}

package sidecar_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
)

// TestClientMetricsGoOnlyToAPassedMeterProvider checks that otelgrpc's
// rpc.client.* metrics, which name each sidecar's address, reach a
// MeterProvider the host passed and never otel's global one, where a host
// could not know to filter them.
func TestClientMetricsGoOnlyToAPassedMeterProvider(t *testing.T) {
	global, passed := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(global)))
	t.Cleanup(func() { otel.SetMeterProvider(noop.NewMeterProvider()) })
	addr := fakeSidecar(t, deletingSidecar{}, "")

	for _, opts := range []sidecar.ClientOptions{{}, {MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(passed))}} {
		c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: addr}, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = c.DeleteFile(context.Background(), "/data/nothing")
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	rpcClientMetrics := func(r *sdkmetric.ManualReader) []string {
		var rm metricdata.ResourceMetrics
		if err := r.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if strings.HasPrefix(m.Name, "rpc.client.") {
					names = append(names, m.Name)
				}
			}
		}
		return names
	}
	if got := rpcClientMetrics(global); len(got) != 0 {
		t.Errorf("otel's global MeterProvider got %v from a client without a MeterProvider", got)
	}
	if got := rpcClientMetrics(passed); len(got) == 0 {
		t.Error("the passed MeterProvider got no rpc.client.* metrics")
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/samber/do/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
)

// metricsOff is the -metrics-addr value that serves no metrics.
const metricsOff = "off"

// telemetry is the example server's OpenTelemetry: the providers it hands to
// the backup service and the adapters, the way a host passes its own, and the
// Prometheus endpoint its metrics are scraped from.
type telemetry struct {
	// meters and tracers go to every piece; nil means otel's global providers
	// (no-ops: this server sets none).
	meters  metric.MeterProvider
	tracers trace.TracerProvider
	// metrics answers a Prometheus scrape; nil when -metrics-addr is off or
	// names a listener of its own.
	metrics http.Handler

	sdk *sdkmetric.MeterProvider // closed at shutdown; nil when metrics are off
	srv *http.Server             // the -metrics-addr listener, if any
	log *slog.Logger
}

// newTelemetry sets up the metrics as -metrics-addr says: an OpenTelemetry
// MeterProvider whose Prometheus exporter has a registry of its own (so that
// nothing else registered in the process leaks into the scrape), served at
// /metrics on the API's listener (the default), on a listener of its own, or
// not at all. Traces have no exporter here: a host passes its TracerProvider,
// and the tests pass an in-memory one.
func newTelemetry(cfg config, log *slog.Logger) (*telemetry, error) {
	t := &telemetry{log: log}
	if cfg.MetricsAddr == metricsOff {
		return t, nil
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	t.sdk = newMeterProvider(sdkmetric.WithReader(exp))
	t.meters = t.sdk
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	if cfg.MetricsAddr == "" {
		t.metrics = handler
		return t, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		t.sdk.Shutdown(context.Background())
		return nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	t.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := t.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("the metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return t, nil
}

// newMeterProvider is the MeterProvider the example server gives every piece,
// with the given reader. Its View drops the dialled sidecar's address and port
// from otelgrpc's rpc.client.* metrics: they name one game server each, so
// with them a platform's thousands of sidecars would each make series of their
// own (the spans keep them).
func newMeterProvider(opts ...sdkmetric.Option) *sdkmetric.MeterProvider {
	return sdkmetric.NewMeterProvider(append(opts, sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "rpc.client.*"},
		sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter("server.address", "server.port")},
	)))...)
}

// wrap traces every request (otelhttp: a server span named by the route,
// the parent of whatever the request starts, background jobs included) and
// answers GET /metrics when the metrics share the API's listener. addr, the
// listener's address, is the server.address and server.port of the request
// metrics: otelhttp would otherwise take them from the Host header, and any
// client could mint series by sending a new one.
func (t *telemetry) wrap(next http.Handler, addr string) http.Handler {
	h := next
	if t.metrics != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
				t.metrics.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	opts := []otelhttp.Option{
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithServerName(addr),
		// Probes and scrapes every few seconds would drown the traces that
		// matter.
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern // e.g. "POST /api/v1/orders/{order_id}/provisions/{provision_id}/backups"
			}
			return r.Method
		}),
	}
	if t.tracers != nil {
		opts = append(opts, otelhttp.WithTracerProvider(t.tracers))
	}
	if t.meters != nil {
		opts = append(opts, otelhttp.WithMeterProvider(t.meters))
	}
	return otelhttp.NewHandler(h, "savepoint", opts...)
}

// Shutdown stops the metrics listener and the MeterProvider.
func (t *telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.srv != nil {
		errs = append(errs, t.srv.Shutdown(ctx))
	}
	if t.sdk != nil {
		errs = append(errs, t.sdk.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// newObservedWebServer is newWebServer with its handler traced, and with
// /metrics when the metrics share its listener.
func newObservedWebServer(i do.Injector) (*webServer, error) {
	w, err := newWebServer(i)
	if err != nil {
		return nil, err
	}
	w.srv.Handler = do.MustInvoke[*telemetry](i).wrap(w.srv.Handler, w.ln.Addr().String())
	return w, nil
}

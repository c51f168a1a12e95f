package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samber/do/v2"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestTelemetryRealMode runs the example server in this process in real mode
// (PostgreSQL, versitygw, the sidecar's gRPC server on loopback) with an
// in-memory span exporter and a manual metric reader, the way a host passes its
// providers, and takes a backup through a create and a restore over HTTP.
func TestTelemetryRealMode(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := newMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { tp.Shutdown(context.Background()); mp.Shutdown(context.Background()) })

	store := testenv.S3(t, testenv.S3Options{})
	c, order, prov, injector := startInProcess(t, &telemetry{meters: mp, tracers: tp}, map[string]string{"SAVEPOINT_S3_SECRET_KEY": store.SecretKey}, "-database-url", testenv.PostgresURL(t),
		"-s3-endpoint", store.Endpoint, "-s3-bucket", store.Bucket, "-s3-region", store.Region, "-s3-access-key", store.AccessKey)

	created := c.Create(t, order, prov, "traced")
	ready := c.WaitSettled(t, order, prov, created.ID, time.Minute)
	if ready.Status != "ready" || ready.SizeBytes == nil {
		t.Fatalf("backup did not become ready: %s", e2e.Describe(ready))
	}

	t.Run("a create is one connected trace from the request to the sidecar, storage and database", func(t *testing.T) {
		var job sdktrace.ReadOnlySpan
		waitFor(t, "the create's job span", func() bool {
			job = findSpan(spans.GetSpans().Snapshots(), func(s sdktrace.ReadOnlySpan) bool { return s.Name() == "savepoint.create" })
			return job != nil
		})
		var inTrace []sdktrace.ReadOnlySpan
		has := map[string]func(sdktrace.ReadOnlySpan) bool{
			"HTTP server span": func(s sdktrace.ReadOnlySpan) bool {
				return s.SpanKind() == trace.SpanKindServer && strings.HasPrefix(s.Name(), "POST /api/v1/orders/")
			},
			"job span": func(s sdktrace.ReadOnlySpan) bool { return s.SpanContext().SpanID() == job.SpanContext().SpanID() },
			"sidecar client span": func(s sdktrace.ReadOnlySpan) bool {
				return s.SpanKind() == trace.SpanKindClient && strings.Contains(s.Name(), "FileIO/StreamArchive")
			},
			"sidecar server span": func(s sdktrace.ReadOnlySpan) bool {
				return s.SpanKind() == trace.SpanKindServer && strings.Contains(s.Name(), "FileIO/StreamArchive")
			},
			"S3 span": func(s sdktrace.ReadOnlySpan) bool {
				return s.SpanKind() == trace.SpanKindClient && strings.HasPrefix(s.Name(), "S3.")
			},
			"database span": func(s sdktrace.ReadOnlySpan) bool {
				return s.SpanKind() == trace.SpanKindClient && attrOf(s.Attributes(), "db.system.name") == "postgresql"
			},
		}
		// The server spans of streamed calls may end a moment after the
		// client saw the stream's end.
		waitFor(t, "every kind of span in the create's trace", func() bool {
			inTrace = nil
			for _, s := range spans.GetSpans().Snapshots() {
				if s.SpanContext().TraceID() == job.SpanContext().TraceID() {
					inTrace = append(inTrace, s)
				}
			}
			for _, match := range has {
				if findSpan(inTrace, match) == nil {
					return false
				}
			}
			return true
		})
		ids := map[trace.SpanID]bool{}
		for _, s := range inTrace {
			ids[s.SpanContext().SpanID()] = true
		}
		var roots []string
		for _, s := range inTrace {
			if !s.Parent().IsValid() || !ids[s.Parent().SpanID()] {
				roots = append(roots, s.Name())
			}
		}
		if len(roots) != 1 || !has["HTTP server span"](findSpan(inTrace, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == roots[0] })) {
			t.Errorf("the trace's spans whose parent is not in it: %q, want only the HTTP request's", roots)
		}
		httpSpan := findSpan(inTrace, has["HTTP server span"])
		if job.Parent().SpanID() != httpSpan.SpanContext().SpanID() {
			t.Errorf("the job span's parent is %s, want the request's span %s", job.Parent().SpanID(), httpSpan.SpanContext().SpanID())
		}
		server := findSpan(inTrace, has["sidecar server span"])
		client := findSpan(inTrace, has["sidecar client span"])
		if server.Parent().SpanID() != client.SpanContext().SpanID() {
			t.Error("the sidecar's server span is not the child of the service's client span")
		}
		if attrOf(job.Attributes(), "savepoint.operation.outcome") != "ok" {
			t.Errorf("job span attributes %v, want outcome ok", job.Attributes())
		}
	})

	if v := c.Restore(t, order, prov, ready.ID); v.Status != "restoring" {
		t.Fatalf("restore answered %s", v.Status)
	}
	if done := c.WaitSettled(t, order, prov, ready.ID, time.Minute); done.Status != "ready" || done.Error != nil {
		t.Fatalf("restore did not complete: %s", e2e.Describe(done))
	}

	// A request whose Host header no client of this server would send: otelhttp
	// must not make it a series.
	var rnd [8]byte
	rand.Read(rnd[:])
	forgedHost, forgedPort := "h"+hex.EncodeToString(rnd[:])+".invalid", strconv.Itoa(20000+int(rnd[0])*100+int(rnd[1])%100)
	req, err := http.NewRequest(http.MethodGet, c.BaseURL+"/api/v1/demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = net.JoinHostPort(forgedHost, forgedPort)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sidecarAddr := do.MustInvoke[*inprocSidecar](injector).endpoint.Address
	_, sidecarPort, err := net.SplitHostPort(sidecarAddr)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("after a create and a restore the metrics count both, without an ID", func(t *testing.T) {
		var rm metricdata.ResourceMetrics
		collect := func() {
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
		}
		// A job's metrics are recorded as it ends, a moment after its outcome
		// is written.
		waitFor(t, "the restore to be counted as finished", func() bool {
			collect()
			return sumOf(t, rm, "savepoint.operation.finished", "restore", "ok") == 1
		})
		for _, kind := range []string{"create", "restore"} {
			if got := sumOf(t, rm, "savepoint.operation.started", kind, ""); got != 1 {
				t.Errorf("started %s: %d, want 1", kind, got)
			}
			if got := sumOf(t, rm, "savepoint.operation.finished", kind, "ok"); got != 1 {
				t.Errorf("finished %s ok: %d, want 1", kind, got)
			}
			if got := sumOf(t, rm, "savepoint.operation.active", kind, ""); got != 0 {
				t.Errorf("active %s: %d, want 0", kind, got)
			}
			h := metricOf(t, rm, "savepoint.operation.duration").Data.(metricdata.Histogram[float64])
			n := uint64(0)
			for _, dp := range h.DataPoints {
				if attrSet(dp.Attributes, "savepoint.operation.kind") == kind && attrSet(dp.Attributes, "savepoint.operation.outcome") == "ok" {
					n += dp.Count
					if dp.Sum <= 0 {
						t.Errorf("duration of %s sums to %v s", kind, dp.Sum)
					}
				}
			}
			if n != 1 {
				t.Errorf("duration of %s: %d observations, want 1", kind, n)
			}
		}
		if got := sumOf(t, rm, "savepoint.archive.uploaded", "create", ""); got != *ready.SizeBytes {
			t.Errorf("uploaded %d bytes, the backup holds %d", got, *ready.SizeBytes)
		}
		if got := sumOf(t, rm, "savepoint.archive.restored", "", ""); got != *ready.SizeBytes {
			t.Errorf("restored %d bytes, the backup holds %d", got, *ready.SizeBytes)
		}
		if got := sumOf(t, rm, "savepoint.data.archived", "create", ""); got <= 0 {
			t.Errorf("archived %d bytes of server data", got)
		}
		if got := metricOf(t, rm, "savepoint.operation.duration").Unit; got != "s" {
			t.Errorf("duration unit %q, want s", got)
		}
		// Nor a game server's sidecar (one series each, a provision in
		// disguise), nor whatever Host a client sent.
		uuid := regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
		var rpcClient, httpServer bool
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				rpcClient = rpcClient || strings.HasPrefix(m.Name, "rpc.client.")
				httpServer = httpServer || strings.HasPrefix(m.Name, "http.server.")
				for _, set := range attributeSets(m.Data) {
					for _, kv := range set.ToSlice() {
						v := kv.Value.Emit()
						switch {
						case uuid.MatchString(v):
							t.Errorf("metric %s has an ID as attribute %s=%s", m.Name, kv.Key, v)
						case strings.Contains(v, sidecarAddr), kv.Key == "server.port" && v == sidecarPort,
							strings.HasPrefix(m.Name, "rpc.client.") && kv.Key == "server.address":
							t.Errorf("metric %s has the sidecar's address as attribute %s=%s", m.Name, kv.Key, v)
						case strings.Contains(v, forgedHost), kv.Key == "server.port" && v == forgedPort:
							t.Errorf("metric %s has the request's Host header as attribute %s=%s", m.Name, kv.Key, v)
						}
					}
				}
			}
		}
		if !rpcClient || !httpServer {
			t.Errorf("rpc.client.* metrics: %t, http.server.* metrics: %t; want both", rpcClient, httpServer)
		}
	})
}

// TestMetricsEndpoint scrapes a zero-config example server's /metrics after a
// create, on the API's listener (the default) and on a listener of its own, and
// finds none when -metrics-addr is off.
func TestMetricsEndpoint(t *testing.T) {
	finished := regexp.MustCompile(`(?m)^savepoint_operation_finished_total\{[^}]*savepoint_operation_kind="create"[^}]*savepoint_operation_outcome="ok"[^}]*\} 1$`)
	scrape := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	createAndScrape := func(t *testing.T, srv *e2e.Server, metricsURL string) string {
		t.Helper()
		created := srv.Client.Create(t, srv.Order, srv.Provision, "scraped")
		if v := srv.Client.WaitSettled(t, srv.Order, srv.Provision, created.ID, time.Minute); v.Status != "ready" {
			t.Fatalf("backup did not become ready: %s", e2e.Describe(v))
		}
		var body string
		waitFor(t, "/metrics to count the create", func() bool {
			var code int
			code, body = scrape(t, metricsURL)
			return code == http.StatusOK && finished.MatchString(body)
		})
		return body
	}

	t.Run("on the API's listener", func(t *testing.T) {
		srv := e2e.StartServer(t, e2e.ServerOptions{})
		body := createAndScrape(t, srv, srv.URL+"/metrics")
		for _, series := range []string{"savepoint_operation_started_total{", "savepoint_operation_duration_seconds_bucket{",
			"savepoint_operation_active{", "savepoint_archive_uploaded_bytes_total{", "http_server_request_duration_seconds_count{"} {
			if !strings.Contains(body, series) {
				t.Errorf("/metrics has no %s series:\n%s", series, body)
			}
		}
	})

	t.Run("on a listener of its own", func(t *testing.T) {
		addr := testenv.FreeAddr(t)
		srv := e2e.StartServer(t, e2e.ServerOptions{Args: []string{"-metrics-addr", addr}})
		createAndScrape(t, srv, "http://"+addr+"/metrics")
		if code, _ := scrape(t, srv.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("the API's listener answers /metrics with %d, want 404", code)
		}
	})

	t.Run("turned off", func(t *testing.T) {
		srv := e2e.StartServer(t, e2e.ServerOptions{Args: []string{"-metrics-addr", "off"}})
		if code, _ := scrape(t, srv.URL+"/metrics"); code != http.StatusNotFound {
			t.Errorf("/metrics answers %d with -metrics-addr off, want 404", code)
		}
	})
}

// startInProcess starts the example server in this process with the given
// telemetry, flags and environment, and returns a client of the demo user and
// the demo order's IDs, and its injector. The server is shut down when the test
// ends.
func startInProcess(t *testing.T, tel *telemetry, env map[string]string, args ...string) (*e2e.Client, string, string, *do.RootScope) {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-dir", t.TempDir(), "-dashboard", "", "-demo-token", "telemetry-token"}, args...)
	cfg, err := parseConfig(args, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s3cfg, err := s3Config(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	injector := newInjector(cfg, s3cfg, tel, log)
	do.ProvideValue(injector, newTokens(&cfg))
	do.ProvideValue[readyCheck](injector, injector.HealthCheckWithContext)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if report := injector.ShutdownWithContext(ctx); report != nil && !report.Succeed {
			t.Errorf("shutdown: %s", report.Error())
		}
	})
	cat, err := do.Invoke[catalog](injector)
	if err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(context.Background(), cat, seedFor(cfg)); err != nil {
		t.Fatal(err)
	}
	web, err := do.Invoke[*webServer](injector)
	if err != nil {
		t.Fatal(err)
	}
	go web.Serve()
	o := demoOrders(1)[0]
	c := &e2e.Client{BaseURL: web.URL(), Token: cfg.DemoToken, HTTP: &http.Client{Timeout: time.Minute}}
	return c, o.OrderID.String(), o.ProvisionID.String(), injector
}

// waitFor polls ok until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func findSpan(spans []sdktrace.ReadOnlySpan, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	for _, s := range spans {
		if match(s) {
			return s
		}
	}
	return nil
}

func attrOf(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func attrSet(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.Emit()
}

func metricOf(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Metrics {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return metricdata.Metrics{}
}

// sumOf adds the int64 sum's data points whose kind and outcome are the given
// ones ("" matches any).
func sumOf(t *testing.T, rm metricdata.ResourceMetrics, name, kind, outcome string) int64 {
	t.Helper()
	var n int64
	for _, dp := range metricOf(t, rm, name).Data.(metricdata.Sum[int64]).DataPoints {
		if (kind == "" || attrSet(dp.Attributes, "savepoint.operation.kind") == kind) &&
			(outcome == "" || attrSet(dp.Attributes, "savepoint.operation.outcome") == outcome) {
			n += dp.Value
		}
	}
	return n
}

// attributeSets are the attribute sets of every data point of a metric.
func attributeSets(data metricdata.Aggregation) []attribute.Set {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return setsOf(d.DataPoints, func(p metricdata.DataPoint[int64]) attribute.Set { return p.Attributes })
	case metricdata.Sum[float64]:
		return setsOf(d.DataPoints, func(p metricdata.DataPoint[float64]) attribute.Set { return p.Attributes })
	case metricdata.Gauge[int64]:
		return setsOf(d.DataPoints, func(p metricdata.DataPoint[int64]) attribute.Set { return p.Attributes })
	case metricdata.Gauge[float64]:
		return setsOf(d.DataPoints, func(p metricdata.DataPoint[float64]) attribute.Set { return p.Attributes })
	case metricdata.Histogram[float64]:
		return setsOf(d.DataPoints, func(p metricdata.HistogramDataPoint[float64]) attribute.Set { return p.Attributes })
	case metricdata.Histogram[int64]:
		return setsOf(d.DataPoints, func(p metricdata.HistogramDataPoint[int64]) attribute.Set { return p.Attributes })
	}
	return nil
}

func setsOf[P any](points []P, attrs func(P) attribute.Set) []attribute.Set {
	sets := make([]attribute.Set, len(points))
	for i, p := range points {
		sets[i] = attrs(p)
	}
	return sets
}

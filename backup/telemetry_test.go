package backup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// meteredTwin is a twin whose service reports to a manual metric reader and
// an in-memory span exporter.
func meteredTwin(t *testing.T) (*twin, *sdkmetric.ManualReader, *tracetest.InMemoryExporter) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	tw := newTwin(t, func(c *twinConfig) {
		c.opts = func(o *backup.Options) { o.MeterProvider, o.TracerProvider = mp, tp }
	})
	return tw, reader, spans
}

// points are a collection's int64 data points of one metric, by their
// attributes ("key=value,..." in the set's order).
func points(t *testing.T, reader *sdkmetric.ManualReader, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	must(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					got[attrs(dp.Attributes)] += dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					got[attrs(dp.Attributes)] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					got[attrs(dp.Attributes)] += int64(dp.Count)
				}
			}
		}
	}
	return got
}

func attrs(set attribute.Set) string {
	s := ""
	for _, kv := range set.ToSlice() {
		if s != "" {
			s += ","
		}
		s += string(kv.Key) + "=" + kv.Value.Emit()
	}
	return s
}

func TestTelemetry(t *testing.T) {
	const create, restore = "savepoint.operation.kind=create", "savepoint.operation.kind=restore"

	t.Run("a failed create counts its outcome and the sidecar call that failed", func(t *testing.T) {
		tw, reader, spans := meteredTwin(t)
		tw.inject("Sidecars.Dial", fault{err: errSidecar})
		b, err := tw.create("unreachable")
		must(t, err)
		tw.settled(b.ID)
		tw.shutdown()
		if got := points(t, reader, "savepoint.operation.finished"); got[create+",savepoint.operation.outcome=failed"] != 1 || len(got) != 1 {
			t.Errorf("finished: %v, want one failed create", got)
		}
		if got := points(t, reader, "savepoint.sidecar.errors"); got["error.type=other,savepoint.call=dial"] != 1 || len(got) != 1 {
			t.Errorf("sidecar errors: %v, want one failed dial", got)
		}
		if got := points(t, reader, "savepoint.operation.active"); got[create] != 0 {
			t.Errorf("active: %v, want none", got)
		}
		if got := points(t, reader, "savepoint.storage.errors"); len(got) != 0 {
			t.Errorf("storage errors: %v, want none", got)
		}
		var job sdktrace.ReadOnlySpan
		for _, s := range spans.GetSpans().Snapshots() {
			if s.Name() == "savepoint.create" {
				job = s
			}
		}
		if job == nil || job.Status().Code.String() != "Error" {
			t.Fatalf("no failed job span among %v", spans.GetSpans().Snapshots())
		}
		got := map[string]string{}
		for _, kv := range job.Attributes() {
			got[string(kv.Key)] = kv.Value.Emit()
		}
		if got["error.type"] != "other" || got["savepoint.call"] != "dial" {
			t.Errorf("failed job span attributes %v, want error.type other, savepoint.call dial", got)
		}
		// The error's text may quote an object key or a database value.
		if text := fmt.Sprint(job.Attributes(), job.Events(), job.Status()); strings.Contains(text, "disk quota exceeded") {
			t.Errorf("the job span holds the error's text: %s", text)
		}
	})

	t.Run("a job's span is the child of the request's span", func(t *testing.T) {
		tw, _, spans := meteredTwin(t)
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
		ctx, request := tp.Tracer("host").Start(context.Background(), "request")
		b, err := tw.svc.CreateBackup(ctx, tw.owner, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{Name: "traced"})
		must(t, err)
		request.End() // the job outlives the request
		tw.settled(b.ID)
		tw.shutdown()
		var job sdktrace.ReadOnlySpan
		for _, s := range spans.GetSpans().Snapshots() {
			if s.Name() == "savepoint.create" {
				job = s
			}
		}
		if job == nil {
			t.Fatal("no job span")
		}
		if job.Parent().SpanID() != request.SpanContext().SpanID() || job.SpanContext().TraceID() != request.SpanContext().TraceID() {
			t.Errorf("the job span's parent is %v, want the request's span %v", job.Parent(), request.SpanContext())
		}
		if job.SpanKind() != trace.SpanKindInternal {
			t.Errorf("job span kind %v", job.SpanKind())
		}
	})

	t.Run("a running operation's progress is observed by kind, and gone once it ends", func(t *testing.T) {
		tw, reader, _ := meteredTwin(t)
		entered := make(chan struct{})
		tw.inject("Objects.Put", fault{do: hangs(entered)})
		b, err := tw.create("slow")
		must(t, err)
		<-entered
		if got := points(t, reader, "savepoint.operation.active"); got[create] != 1 {
			t.Errorf("active while it runs: %v, want one create", got)
		}
		if got := points(t, reader, "savepoint.operation.progress.total"); len(got) != 1 {
			t.Errorf("progress while it runs: %v, want one series for creates", got)
		} else if _, ok := got[create]; !ok {
			t.Errorf("progress while it runs: %v, want one series for creates", got)
		}
		tw.move(b.ID, ports.StatusFailed) // settled elsewhere: the next heartbeat cancels the job
		tw.settled(b.ID)
		tw.shutdown()
		if got := points(t, reader, "savepoint.operation.progress.total"); len(got) != 0 {
			t.Errorf("progress after the end: %v, want none", got)
		}
		if got := points(t, reader, "savepoint.operation.finished"); got[create+",savepoint.operation.outcome=settled_elsewhere"] != 1 {
			t.Errorf("finished: %v, want one create settled elsewhere", got)
		}
	})

	t.Run("deletes, restores and recovered operations are counted", func(t *testing.T) {
		tw, reader, _ := meteredTwin(t)
		ready := tw.ready("kept")
		_, err := tw.restore(ready)
		must(t, err)
		tw.settled(ready.ID)
		must(t, tw.svc.DeleteBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, ready.ID))
		stale := tw.record(ports.StatusCreating)
		tw.clock.Set(fixedNow.Add(time.Hour))
		if n, err := tw.svc.RecoverStale(context.Background()); err != nil || n != 1 {
			t.Fatalf("RecoverStale = %d, %v; want 1", n, err)
		}
		tw.settled(stale.ID)
		tw.shutdown()
		want := map[string]int64{
			create + ",savepoint.operation.outcome=ok":                       1,
			restore + ",savepoint.operation.outcome=ok":                      1,
			"savepoint.operation.kind=delete,savepoint.operation.outcome=ok": 1,
		}
		for _, name := range []string{"savepoint.operation.finished", "savepoint.operation.duration"} {
			got := points(t, reader, name)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", name, got, want)
					break
				}
			}
		}
		if got := points(t, reader, "savepoint.operation.recovered"); got[create] != 1 {
			t.Errorf("recovered: %v, want one create", got)
		}
		if got := points(t, reader, "savepoint.archive.restored"); got[""] != ready.SizeBytes {
			t.Errorf("restored bytes: %v, want %d", got, ready.SizeBytes)
		}
		if got := points(t, reader, "savepoint.archive.uploaded"); got[create] != ready.SizeBytes {
			t.Errorf("uploaded bytes: %v, want %d", got, ready.SizeBytes)
		}
	})
}

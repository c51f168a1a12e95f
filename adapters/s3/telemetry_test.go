package s3_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestTracing checks that every S3 call the store makes is a client span under
// the caller's span, named by the operation, with the answer's status and never
// the object's key.
func TestTracing(t *testing.T) {
	srv := testenv.S3(t, testenv.S3Options{})
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	cfg := baseConfig(t, srv)
	cfg.TracerProvider = tp
	store := newStore(t, srv, cfg)

	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	const key = "orders/traced/backup.tar.gz"
	if err := store.Put(ctx, key, strings.NewReader("archive")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Get(ctx, "orders/traced/missing.tar.gz", nil); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	parent.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.GetSpans().Snapshots() {
		byName[s.Name()] = s
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "traced") {
				t.Errorf("span %s carries the key: %s=%s", s.Name(), kv.Key, kv.Value.Emit())
			}
		}
	}
	put, get := byName["S3.PutObject"], byName["S3.GetObject"]
	if put == nil || get == nil {
		t.Fatalf("spans %v, want S3.PutObject and S3.GetObject", byName)
	}
	for _, s := range []sdktrace.ReadOnlySpan{put, get} {
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %s: kind %v, parent %v; want a client span under the caller's", s.Name(), s.SpanKind(), s.Parent().SpanID())
		}
	}
	if got := attr(put.Attributes(), "http.response.status_code"); got != "200" {
		t.Errorf("PutObject's status code %q, want 200", got)
	}
	if got := attr(get.Attributes(), "error.type"); got != "NoSuchKey" || get.Status().Code.String() != "Error" {
		t.Errorf("GetObject of a missing key: error.type %q, status %v; want NoSuchKey, Error", got, get.Status())
	}
}

func attr(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

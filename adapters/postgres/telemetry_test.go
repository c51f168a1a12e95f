package postgres_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/adapters/postgres"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// TestQueryTracer checks that a pool Open configures with a TracerProvider
// makes a client span per statement under the caller's span, named by the
// statement's operation, carrying its text but none of its arguments.
func TestQueryTracer(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	pool, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Standalone: true, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	repo := postgres.NewRepository(pool, postgres.Layout{})

	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	id := ports.NewBackupID()
	if _, err := repo.Find(ctx, id); err == nil {
		t.Fatal("Find of a backup that does not exist succeeded")
	}
	parent.End()

	var found bool
	for _, s := range spans.GetSpans().Snapshots() {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			continue // the migrations' statements, on no caller's trace
		}
		found = true
		if s.Name() != "SELECT" || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %q of kind %v, want a SELECT client span", s.Name(), s.SpanKind())
		}
		got := map[string]string{}
		for _, kv := range s.Attributes() {
			got[string(kv.Key)] = kv.Value.Emit()
			if kv.Value.Emit() == id.String() {
				t.Errorf("span %s carries the statement's argument as %s", s.Name(), kv.Key)
			}
		}
		if got["db.system.name"] != "postgresql" || got["db.operation.name"] != "SELECT" || got["db.query.text"] == "" {
			t.Errorf("span attributes %v", got)
		}
	}
	if !found {
		t.Fatal("no span under the caller's span")
	}
}

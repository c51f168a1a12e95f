package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
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
	pool, tp, spans := tracedPool(t)
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

// TestQueryTracerFailure checks that a failed statement's span says how it
// failed (SQLSTATE, its class, the constraint) but holds nothing of the
// statement's arguments, which PostgreSQL's messages quote.
func TestQueryTracerFailure(t *testing.T) {
	pool, tp, spans := tracedPool(t)
	secret := "argument-" + ports.NewBackupID().String()

	cases := []struct {
		name       string
		run        func(ctx context.Context) error
		code       string
		constraint string
	}{
		{"invalid input", func(ctx context.Context) error {
			_, err := pool.Exec(ctx, "SELECT $1::text::uuid", secret)
			return err
		}, "22P02", ""},
		{"unique violation", func(ctx context.Context) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE traced (v text CONSTRAINT traced_v_key UNIQUE) ON COMMIT DROP"); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := tx.Exec(ctx, "INSERT INTO traced (v) VALUES ($1)", secret); err != nil {
					return err
				}
			}
			return nil
		}, "23505", "traced_v_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
			if err := tc.run(ctx); err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Fatalf("the statement returned %v, want SQLSTATE %s", err, tc.code)
			}
			parent.End()

			var failed sdktrace.ReadOnlySpan
			for _, s := range spans.GetSpans().Snapshots() {
				if s.Parent().SpanID() != parent.SpanContext().SpanID() {
					continue
				}
				if s.Status().Code == codes.Error {
					failed = s
				}
				if leak := fmt.Sprint(s.Name(), s.Attributes(), s.Events(), s.Status(), s.Links()); strings.Contains(leak, secret) {
					t.Errorf("span %s holds the statement's argument: %s", s.Name(), leak)
				}
			}
			if failed == nil {
				t.Fatal("no failed span under the caller's span")
			}
			got := map[string]string{}
			for _, kv := range failed.Attributes() {
				got[string(kv.Key)] = kv.Value.Emit()
			}
			if got["error.type"] != tc.code || got["db.response.status_code"] != tc.code ||
				got["db.postgresql.sqlstate_class"] != tc.code[:2] || got["db.postgresql.constraint"] != tc.constraint {
				t.Errorf("failed span attributes %v, want SQLSTATE %s, constraint %q", got, tc.code, tc.constraint)
			}
		})
	}
}

// tracedPool opens a pool whose statements are traced by tp, which records
// its spans in spans.
func tracedPool(t *testing.T) (*postgres.Pool, *sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	pool, err := postgres.Open(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Standalone: true, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, tp, spans
}

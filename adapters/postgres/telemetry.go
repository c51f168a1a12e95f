package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer of the adapter's spans.
const instrumentationName = "github.com/savepoint-dev/savepoint/adapters/postgres"

// QueryTracer is a pgx.QueryTracer that makes a client span per statement,
// transactions' BEGIN and COMMIT included, named by its operation (SELECT,
// UPDATE, ...) and carrying the statement's text. The text is the adapter's
// own parameterized SQL: arguments, which hold IDs and customer data, are
// never recorded. Open installs one (Config.TracerProvider); a host that
// builds its own pool sets it on pgxpool.Config.ConnConfig.Tracer.
//
// Tracing statements rather than Repository methods shows what the time went
// on (a lock wait, a slow listing) and covers every port the pool serves
// (Assets, Schedules, the catalog, migrations) with one hook.
type QueryTracer struct {
	tracer trace.Tracer
}

var _ pgx.QueryTracer = (*QueryTracer)(nil)

// NewQueryTracer returns a QueryTracer reporting to tp; nil means otel's
// global provider.
func NewQueryTracer(tp trace.TracerProvider) *QueryTracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &QueryTracer{tracer: tp.Tracer(instrumentationName)}
}

// TraceQueryStart starts the statement's span.
func (t *QueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op := operationName(data.SQL)
	ctx, _ = t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"),
		attribute.String("db.operation.name", op),
		attribute.String("db.query.text", data.SQL),
	))
	return ctx
}

// TraceQueryEnd ends the statement's span, recording its row count or how it
// failed. A failure is described by its SQLSTATE (db.response.status_code and
// error.type), the SQLSTATE's class and the violated constraint's name, never
// by its message: PostgreSQL quotes the offending value there (invalid input
// syntax for type uuid: "…", Key (id)=(…) already exists), and an argument
// must not reach the traces. An error that is not PostgreSQL's (a lost
// connection, a cancelled context, an argument pgx could not encode) is named
// by its Go type alone.
func (t *QueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if data.Err != nil {
		span.SetAttributes(errorAttributes(data.Err)...)
		span.SetStatus(codes.Error, "statement failed")
	} else {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", data.CommandTag.RowsAffected()))
	}
	span.End()
}

// operationName is the statement's first keyword, upper-cased.
func operationName(sql string) string {
	sql = strings.TrimSpace(sql)
	for strings.HasPrefix(sql, "--") {
		// A leading comment line names no operation.
		_, rest, _ := strings.Cut(sql, "\n")
		sql = strings.TrimSpace(rest)
	}
	word, _, _ := strings.Cut(sql, " ")
	word, _, _ = strings.Cut(word, "\n")
	if word == "" {
		return "postgresql"
	}
	return strings.ToUpper(strings.TrimRight(word, ";("))
}

// errorAttributes describe a statement's failure without its message.
func errorAttributes(err error) []attribute.KeyValue {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		attrs := []attribute.KeyValue{
			attribute.String("error.type", pgErr.Code),
			attribute.String("db.response.status_code", pgErr.Code),
			attribute.String("db.postgresql.sqlstate_class", pgErr.Code[:min(2, len(pgErr.Code))]),
		}
		if pgErr.ConstraintName != "" {
			attrs = append(attrs, attribute.String("db.postgresql.constraint", pgErr.ConstraintName))
		}
		return attrs
	case errors.Is(err, context.Canceled):
		return []attribute.KeyValue{attribute.String("error.type", "canceled")}
	case errors.Is(err, context.DeadlineExceeded):
		return []attribute.KeyValue{attribute.String("error.type", "timeout")}
	}
	return []attribute.KeyValue{attribute.String("error.type", fmt.Sprintf("%T", err))}
}

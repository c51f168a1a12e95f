package backup

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// instrumentationName names the meter and the tracer, so that a host can tell
// savepoint's telemetry from its own.
const instrumentationName = "github.com/savepoint-dev/savepoint/backup"

// Operation kinds, the values of the savepoint.operation.kind attribute.
const (
	kindCreate    = "create"
	kindScheduled = "scheduled"
	kindRestore   = "restore"
	kindDelete    = "delete"
)

// Attribute keys. Every value is one of a few words: an ID would make a series
// per backup, which no metrics backend keeps for long.
var (
	attrKind    = attribute.Key("savepoint.operation.kind")
	attrOutcome = attribute.Key("savepoint.operation.outcome")
	attrCall    = attribute.Key("savepoint.call")
	attrError   = attribute.Key("error.type")
)

// errSettledElsewhere marks a job whose backup was settled by another replica's
// recovery (or a delete) while it ran: its own result was thrown away.
var errSettledElsewhere = errors.New("settled elsewhere")

// telemetry records the service's metrics and traces through the host's
// providers. Its methods are the one-line hooks the service calls.
type telemetry struct {
	tracer trace.Tracer
	meter  metric.Meter

	started   metric.Int64Counter
	finished  metric.Int64Counter
	duration  metric.Float64Histogram
	active    metric.Int64UpDownCounter
	recovered metric.Int64Counter
	archived  metric.Int64Counter
	uploaded  metric.Int64Counter
	restored  metric.Int64Counter
	sidecar   metric.Int64Counter
	storage   metric.Int64Counter
}

// newTelemetry creates the instruments on mp and the tracer on tp; nil means
// otel's global providers (no-ops unless the host set them).
func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(instrumentationName)
	t := &telemetry{tracer: tp.Tracer(instrumentationName), meter: m}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	t.started = counter("savepoint.operation.started", "{operation}", "Operations started (creates and restores once accepted, deletes once claimed).")
	t.finished = counter("savepoint.operation.finished", "{operation}", "Operations that ended, by outcome.")
	t.recovered = counter("savepoint.operation.recovered", "{operation}", "Operations of a dead worker that stale recovery settled.")
	t.archived = counter("savepoint.data.archived", "By", "Server data read into stored archives, as the sidecar measures it (the archive's size where it does not).")
	t.uploaded = counter("savepoint.archive.uploaded", "By", "Archive bytes stored in object storage by successful creates.")
	t.restored = counter("savepoint.archive.restored", "By", "Archive bytes restored onto game servers by successful restores.")
	t.sidecar = counter("savepoint.sidecar.errors", "{error}", "Failed calls to game server sidecars that ended an operation, by call and error type.")
	t.storage = counter("savepoint.storage.errors", "{error}", "Failed object storage calls that ended an operation, by call and error type.")
	var err error
	t.duration, err = m.Float64Histogram("savepoint.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("How long operations took, queueing included, by outcome."),
		// Creates and restores take seconds to hours; the SDK's default buckets
		// stop at 10 000 ms-sized values meant for requests.
		metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600))
	errs = append(errs, err)
	t.active, err = m.Int64UpDownCounter("savepoint.operation.active", metric.WithUnit("{operation}"),
		metric.WithDescription("Creates and restores this replica is running or has queued."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// observeProgress registers the progress gauges, which sum the running
// operations' progress by kind when a reader collects.
func (t *telemetry) observeProgress(r *runner) error {
	m := t.meter
	done, err := m.Int64ObservableGauge("savepoint.operation.progress.done", metric.WithUnit("By"),
		metric.WithDescription("Bytes done by the running creates and restores, summed by kind."))
	if err != nil {
		return err
	}
	total, err := m.Int64ObservableGauge("savepoint.operation.progress.total", metric.WithUnit("By"),
		metric.WithDescription("Bytes the running creates and restores expect to move, summed by kind (0 while unknown)."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for kind, p := range r.progressByKind() {
			set := metric.WithAttributeSet(attribute.NewSet(attrKind.String(kind)))
			o.ObserveInt64(done, p.DoneBytes, set)
			o.ObserveInt64(total, p.TotalBytes, set)
		}
		return nil
	}, done, total)
	return err
}

// progressByKind sums the progress of the jobs this runner holds by kind.
func (r *runner) progressByKind() map[string]ports.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	sums := map[string]ports.Progress{}
	for j := range r.running {
		if j.Progress == nil || j.Op.kind == "" {
			continue
		}
		p := j.Progress.snapshot()
		s := sums[j.Op.kind]
		s.DoneBytes += p.DoneBytes
		s.TotalBytes += p.TotalBytes
		sums[j.Op.kind] = s
	}
	return sums
}

// jobOp is what a background job carries for its telemetry: its kind, and the
// span of the request that started it, so that the job's span joins the
// request's trace although it outlives the request.
type jobOp struct {
	kind   string
	parent trace.SpanContext
}

// opFor describes the job that works on b, started from ctx.
func opFor(ctx context.Context, b ports.Backup) jobOp {
	return jobOp{kind: kindOf(b), parent: trace.SpanContextFromContext(ctx)}
}

// kindOf is the kind of operation an active backup is in.
func kindOf(b ports.Backup) string {
	switch {
	case b.Status == ports.StatusRestoring:
		return kindRestore
	case !b.ScheduleID.IsZero():
		return kindScheduled
	default:
		return kindCreate
	}
}

// operation is one operation being measured and traced.
type operation struct {
	t     *telemetry
	kind  string
	start time.Time
	span  trace.Span
	// background marks a create or restore, counted in savepoint.operation.active.
	background bool
	outcome    string
}

// startJob starts measuring a background job, on the runner's ctx; the
// returned context carries the job's span.
func (t *telemetry) startJob(ctx context.Context, op jobOp, id ports.BackupID) (context.Context, *operation) {
	if t == nil {
		return ctx, nil
	}
	if op.parent.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, op.parent)
	}
	ctx, o := t.start(ctx, op.kind, id)
	o.background = true
	t.active.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrKind.String(op.kind))))
	return ctx, o
}

// startDelete starts measuring a delete of the backup, within ctx's trace.
func (t *telemetry) startDelete(ctx context.Context, id ports.BackupID) (context.Context, *operation) {
	if t == nil {
		return ctx, nil
	}
	return t.start(ctx, kindDelete, id)
}

func (t *telemetry) start(ctx context.Context, kind string, id ports.BackupID) (context.Context, *operation) {
	ctx, span := t.tracer.Start(ctx, "savepoint."+kind, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrKind.String(kind), attribute.String("savepoint.backup.id", id.String())))
	t.started.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrKind.String(kind))))
	return ctx, &operation{t: t, kind: kind, start: time.Now(), span: span}
}

// settledElsewhere marks the operation's result as thrown away.
func (o *operation) settledElsewhere() {
	if o != nil {
		o.outcome = outcomeOf(errSettledElsewhere)
	}
}

// end records the operation's outcome: err is what ended it, nil for success.
func (o *operation) end(ctx context.Context, err error) {
	if o == nil {
		return
	}
	if o.outcome == "" {
		o.outcome = outcomeOf(err)
	}
	kind := attrKind.String(o.kind)
	set := metric.WithAttributeSet(attribute.NewSet(kind, attrOutcome.String(o.outcome)))
	o.t.finished.Add(ctx, 1, set)
	o.t.duration.Record(ctx, time.Since(o.start).Seconds(), set)
	if o.background {
		o.t.active.Add(ctx, -1, metric.WithAttributeSet(attribute.NewSet(kind)))
	}
	var f *failure
	if errors.As(err, &f) && f.call.dependency != "" {
		calls := o.t.sidecar
		if f.call.dependency == depStorage {
			calls = o.t.storage
		}
		calls.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrCall.String(f.call.name), attrError.String(errorType(f.err)))))
	} else if o.kind == kindDelete && errors.Is(err, ErrStorage) {
		o.t.storage.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrCall.String("delete"), attrError.String(errorType(err)))))
	}
	o.span.SetAttributes(attrOutcome.String(o.outcome))
	if err != nil && o.outcome != "ok" {
		// The error's class and the call that failed, not its text: that can
		// quote an object key or a database error's argument. The text is the
		// backup's error and in the activity log, found by savepoint.backup.id.
		o.span.SetAttributes(attrError.String(errorType(err)))
		if f != nil && f.call.name != "" {
			o.span.SetAttributes(attrCall.String(f.call.name))
		}
		o.span.SetStatus(codes.Error, o.outcome)
	}
	o.span.End()
}

// outcomeOf names how an operation ended.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errSettledElsewhere):
		return "settled_elsewhere"
	case errors.Is(err, errInterrupted), errors.Is(err, ErrShuttingDown):
		return "interrupted"
	case errors.Is(err, errTimedOut):
		return "timed_out"
	case errors.Is(err, ErrBackupNotFound), errors.Is(err, ErrStatusConflict), errors.Is(err, ErrBackupLocked):
		// A delete that lost a race with another request.
		return "conflict"
	default:
		return "failed"
	}
}

// errorType sorts a failed call's error into a few classes.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ports.ErrArchiveDamaged):
		return "archive_damaged"
	case errors.Is(err, ports.ErrQuiesceFailed):
		return "quiesce_failed"
	case errors.Is(err, ports.ErrExcludesRefused):
		return "excludes_refused"
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, ports.ErrNotFound):
		return "not_found"
	case errors.Is(err, fs.ErrPermission):
		return "permission_denied"
	case errors.Is(err, ports.ErrUnsupported):
		return "unsupported"
	default:
		return "other"
	}
}

// stored counts a successful create's bytes: data read from the game server
// (as the sidecar measured it) and archive bytes uploaded.
func (t *telemetry) stored(ctx context.Context, b ports.Backup, read, uploaded int64) {
	set := metric.WithAttributeSet(attribute.NewSet(attrKind.String(kindOf(b))))
	t.archived.Add(ctx, read, set)
	t.uploaded.Add(ctx, uploaded, set)
}

// restoredBytes counts a successful restore's archive bytes.
func (t *telemetry) restoredBytes(ctx context.Context, n int64) {
	t.restored.Add(ctx, n)
}

// recoveredOp counts an operation that stale recovery settled.
func (t *telemetry) recoveredOp(ctx context.Context, b ports.Backup) {
	t.recovered.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(attrKind.String(kindOf(b)))))
}

// Dependencies whose failed calls are counted.
const (
	depSidecar = "sidecar"
	depStorage = "storage"
)

// call names a call to a dependency, for savepoint.sidecar.errors and
// savepoint.storage.errors.
type call struct{ dependency, name string }

// The calls whose failure ends an operation.
var (
	callDial     = call{depSidecar, "dial"}
	callArchive  = call{depSidecar, "archive"}
	callRead     = call{depSidecar, "read"}
	callWrite    = call{depSidecar, "write"}
	callExtract  = call{depSidecar, "extract"}
	callRestore  = call{depSidecar, "restore"}
	callUpload   = call{depStorage, "upload"}
	callDownload = call{depStorage, "download"}
)

// failOn is fail for a failed call to a dependency, which is counted.
func failOn(c call, reason string, err error) error {
	return &failure{reason: reason, err: err, call: c}
}

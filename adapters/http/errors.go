package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
	"github.com/google/uuid"

	"github.com/savepoint-dev/savepoint/backup"
)

// Code is the stable, machine-readable kind of an error response: clients branch
// on it (and on nothing else), because titles and details are for people and may
// change.
type Code string

// The codes every error response carries. New codes may be added; existing ones
// never change meaning.
const (
	CodeUnauthenticated      Code = "unauthenticated"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeInvalidInput         Code = "invalid_input"
	CodeInvalidSchedule      Code = "invalid_schedule"
	CodeInvalidExcludes      Code = "invalid_excludes"
	CodeScheduleNotFound     Code = "schedule_not_found"
	CodeSchedulesUnavailable Code = "schedules_unavailable"
	CodeActivityUnavailable  Code = "activity_unavailable"
	CodeNoSidecar            Code = "no_sidecar"
	CodeOperationInProgress  Code = "operation_in_progress"
	CodeBackupInProgress     Code = "backup_in_progress"
	CodeReprovisioning       Code = "reprovisioning"
	CodeStatusConflict       Code = "status_conflict"
	CodeBackupLocked         Code = "backup_locked"
	CodeLimitReached         Code = "limit_reached"
	CodeRangeNotSatisfiable  Code = "range_not_satisfiable"
	CodeUpstreamUnavailable  Code = "upstream_unavailable"
	CodeUnavailable          Code = "unavailable"
	CodeInternal             Code = "internal"
)

// errorRow is one line of the error table: the error it matches (errors.Is) and
// what the client sees. detail is a fixed sentence, because wrapped errors can
// carry adapter text (SQL, host names) that must not reach clients. Rows with
// specific set are errors whose specifics the domain writes itself (which
// character of a name is wrong): the client gets the error's text from the
// sentinel's own message on, which drops whatever callers wrapped around it.
type errorRow struct {
	err      error
	status   int
	code     Code
	title    string
	detail   string
	specific bool
}

// errorTable is the one mapping from errors to responses. The first
// row whose error matches wins, so specific errors come before the infrastructure
// kinds they may also wrap. Anything unmatched is a 500 with code internal. The
// table is read-only.
var errorTable = []errorRow{
	{err: ErrNoCredentials, status: http.StatusUnauthorized, code: CodeUnauthenticated,
		title: "Authentication required", detail: "The request carries no credentials."},
	{err: ErrBadCredentials, status: http.StatusUnauthorized, code: CodeUnauthenticated,
		title: "Authentication required", detail: "The credentials are invalid or have expired."},
	{err: backup.ErrUnauthorized, status: http.StatusForbidden, code: CodeForbidden,
		title: "Forbidden", detail: "You are not allowed to access this order."},
	{err: backup.ErrOrderNotFound, status: http.StatusNotFound, code: CodeNotFound,
		title: "Not found", detail: "The order does not exist."},
	{err: backup.ErrProvisionNotFound, status: http.StatusNotFound, code: CodeNotFound,
		title: "Not found", detail: "The provision does not exist under this order, or is not the order's primary game server."},
	{err: backup.ErrBackupNotFound, status: http.StatusNotFound, code: CodeNotFound,
		title: "Not found", detail: "The backup does not exist under this order and provision."},
	{err: backup.ErrAssetNotFound, status: http.StatusNotFound, code: CodeNotFound,
		title: "Not found", detail: "The file does not exist."},
	{err: backup.ErrInvalidName, status: http.StatusUnprocessableEntity, code: CodeInvalidInput,
		title: "Invalid input", detail: fmt.Sprintf("The backup name must be 1 to %d printable characters.", backup.MaxNameLength), specific: true},
	{err: backup.ErrScheduleNotFound, status: http.StatusNotFound, code: CodeScheduleNotFound,
		title: "Schedule not found", detail: "The game server has no backup schedule."},
	{err: backup.ErrInvalidSchedule, status: http.StatusUnprocessableEntity, code: CodeInvalidSchedule,
		title: "Invalid schedule", detail: "The schedule's settings cannot work.", specific: true},
	{err: backup.ErrInvalidExcludes, status: http.StatusUnprocessableEntity, code: CodeInvalidExcludes,
		title: "Invalid exclude patterns", detail: "The exclude patterns break a limit.", specific: true},
	{err: backup.ErrSchedulesUnavailable, status: http.StatusNotImplemented, code: CodeSchedulesUnavailable,
		title: "Schedules unavailable", detail: "This server does not offer backup schedules."},
	{err: backup.ErrActivityUnavailable, status: http.StatusNotImplemented, code: CodeActivityUnavailable,
		title: "Activity unavailable", detail: "This server does not keep an activity log."},
	{err: backup.ErrInvalidPage, status: http.StatusUnprocessableEntity, code: CodeInvalidInput,
		title: "Invalid input", detail: "The page size or cursor is out of range.", specific: true},
	{err: backup.ErrNoSidecar, status: http.StatusUnprocessableEntity, code: CodeNoSidecar,
		title: "No sidecar", detail: "The game server has no sidecar to read and write its files, so it cannot be backed up or restored."},
	{err: backup.ErrOperationInProgress, status: http.StatusConflict, code: CodeOperationInProgress,
		title: "Operation in progress", detail: "A backup or restore is already running for this order; try again when it has finished."},
	{err: backup.ErrBackupInProgress, status: http.StatusConflict, code: CodeBackupInProgress,
		title: "Backup in progress", detail: "A backup or restore is running for this order; wait for it to finish first."},
	{err: backup.ErrReprovisioning, status: http.StatusConflict, code: CodeReprovisioning,
		title: "Server being reprovisioned", detail: "The game server is being reprovisioned; try again when it is back."},
	{err: backup.ErrBackupLocked, status: http.StatusConflict, code: CodeBackupLocked,
		title: "Backup locked", detail: "The backup is locked, so it cannot be deleted; unlock it first."},
	{err: backup.ErrStatusConflict, status: http.StatusConflict, code: CodeStatusConflict,
		title: "Status conflict", detail: "The backup's status does not allow this: a restore needs a ready backup, a delete a ready or failed one, and a backup being deleted can no longer be locked or unlocked."},
	{err: backup.ErrLimitReached, status: http.StatusConflict, code: CodeLimitReached,
		title: "Backup limit reached", detail: "This server already holds the maximum number of backups; delete one first."},
	{err: backup.ErrInvalidRange, status: http.StatusRequestedRangeNotSatisfiable, code: CodeRangeNotSatisfiable,
		title: "Range not satisfiable", detail: "The requested byte range lies outside the file."},
	{err: backup.ErrShuttingDown, status: http.StatusServiceUnavailable, code: CodeUnavailable,
		title: "Service unavailable", detail: "The backup service is restarting; try again in a moment."},
	{err: backup.ErrStorage, status: http.StatusBadGateway, code: CodeUpstreamUnavailable,
		title: "Storage unavailable", detail: "Backup storage could not be reached; try again later."},
	{err: backup.ErrCluster, status: http.StatusBadGateway, code: CodeUpstreamUnavailable,
		title: "Game server unavailable", detail: "The game server's file service could not be reached; try again later."},
}

// internalRow answers every error the table does not know. Its detail is generic
// on purpose: the cause is logged with the problem's instance ID, never returned.
var internalRow = errorRow{status: http.StatusInternalServerError, code: CodeInternal,
	title: "Internal error", detail: "An internal error occurred. Quote the instance ID when reporting it."}

// codeForStatus classifies problems that huma writes itself (request validation,
// bodies too large or malformed, unreadable bodies), which carry a status but no
// code: 401, 403, 404 and 416 keep their meaning, 503 is unavailable, every other
// 4xx is invalid input and every other 5xx internal.
func codeForStatus(status int) (Code, string) {
	switch {
	case status == http.StatusUnauthorized:
		return CodeUnauthenticated, "Authentication required"
	case status == http.StatusForbidden:
		return CodeForbidden, "Forbidden"
	case status == http.StatusNotFound:
		return CodeNotFound, "Not found"
	case status == http.StatusRequestedRangeNotSatisfiable:
		return CodeRangeNotSatisfiable, "Range not satisfiable"
	case status == http.StatusServiceUnavailable:
		return CodeUnavailable, "Service unavailable"
	case status >= 400 && status < 500:
		return CodeInvalidInput, "Invalid input"
	default:
		return internalRow.code, internalRow.title
	}
}

// problemTypePrefix makes each code a problem type URI (RFC 9457 §3.1.1). A URN
// rather than a URL: it identifies the type without promising a page to fetch.
const problemTypePrefix = "urn:savepoint:problem:"

// Problem is the body of every error response: RFC 9457 problem details
// (application/problem+json) plus a stable Code. It implements error and huma's
// StatusError, so a handler can return it as is.
type Problem struct {
	Type     string              `json:"type" format:"uri" doc:"Identifies the problem type: urn:savepoint:problem: followed by the code." example:"urn:savepoint:problem:limit_reached"`
	Title    string              `json:"title" doc:"A short summary of the problem type, for people." example:"Backup limit reached"`
	Status   int                 `json:"status" doc:"The HTTP status code." example:"409"`
	Detail   string              `json:"detail" doc:"What went wrong this time, for people." example:"This server already holds the maximum number of backups; delete one first."`
	Instance string              `json:"instance,omitempty" format:"uri" doc:"Identifies this occurrence (urn:uuid:…) for errors whose cause is only in the server's logs." example:"urn:uuid:0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e"`
	Code     Code                `json:"code" doc:"The stable, machine-readable error code: branch on this."`
	Errors   []*huma.ErrorDetail `json:"errors,omitempty" nullable:"false" doc:"For invalid_input: which parts of the request were wrong."`
}

// Schema documents Code as an enum of every code, taken from the error table.
func (Code) Schema(huma.Registry) *huma.Schema {
	var codes []any
	seen := map[Code]bool{}
	add := func(c Code) {
		if !seen[c] {
			seen[c] = true
			codes = append(codes, string(c))
		}
	}
	for _, row := range errorTable {
		add(row.code)
	}
	add(CodeInvalidInput)
	add(internalRow.code)
	return &huma.Schema{
		Type:        huma.TypeString,
		Enum:        codes,
		Description: "The stable, machine-readable error code: branch on this.",
	}
}

// Error returns the code and the detail, so a Problem reads well in logs.
func (p *Problem) Error() string { return string(p.Code) + ": " + p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// ProblemFor returns the problem the error table gives err: the status, the code
// and a fixed title and detail. An error the table does not know becomes a 500
// with code internal, a generic detail and a fresh Instance ID; ProblemFor never
// puts err's text in such a problem. It does not log: a host that uses it in its
// own handlers (for example, a reprovision endpoint mapping
// backup.ErrBackupInProgress to 409 backup_in_progress) logs err itself, with
// Instance, when Status is 500 or more.
func ProblemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	row := internalRow
	for _, r := range errorTable {
		if errors.Is(err, r.err) {
			row = r
			break
		}
	}
	p = &Problem{
		Type:   problemTypePrefix + string(row.code),
		Title:  row.title,
		Status: row.status,
		Code:   row.code,
		Detail: row.detail,
	}
	if row.specific {
		if msg, i := err.Error(), strings.Index(err.Error(), row.err.Error()); i >= 0 {
			p.Detail = msg[i:]
		}
	}
	if p.Status >= 500 {
		p.Instance = "urn:uuid:" + uuid.NewString()
	}
	return p
}

// failure turns a service error into the problem to return, and logs it once
// when the client is not told the cause: 5xx responses. A request whose client
// went away is logged quietly, since nobody reads that response.
func failure(ctx context.Context, log *slog.Logger, err error, attrs ...any) error {
	p := ProblemFor(err)
	if p.Status < 500 {
		return p
	}
	attrs = append(attrs, "status", p.Status, "code", p.Code, "instance", p.Instance, "err", err)
	if c, ok := ctx.Value(callerKey{}).(caller); ok {
		attrs = append(attrs, "operation", c.operation)
	}
	switch {
	case ctx.Err() != nil:
		log.InfoContext(ctx, "request abandoned by the client", attrs...)
	case p.Status == http.StatusServiceUnavailable:
		log.InfoContext(ctx, "request refused while shutting down", attrs...)
	case p.Status == http.StatusNotImplemented:
		log.InfoContext(ctx, "request for a feature the host did not configure", attrs...)
	case p.Status == http.StatusBadGateway:
		log.WarnContext(ctx, "request failed upstream", attrs...)
	default:
		log.ErrorContext(ctx, "request failed", attrs...)
	}
	return p
}

// foreignProblem is how any error body other than a *Problem is read: huma's own
// ErrorModel, possibly rewrapped by a host transformer (such as huma's schema-link
// transformer, which copies it into a struct with a $schema field).
type foreignProblem struct {
	Detail string              `json:"detail"`
	Code   Code                `json:"code"`
	Errors []*huma.ErrorDetail `json:"errors"`
}

// problemTransformer gives every error that huma writes itself (validation,
// malformed or oversized bodies) the same shape as ours: a Problem with a code.
// It runs only on this adapter's operations (Register installs it on their
// group), so the host's other routes keep their own error model, which replacing
// huma's package global huma.NewError would have changed for every API in the
// process. It must never fail: huma panics when a transformer returns an error.
func problemTransformer(log *slog.Logger) huma.Transformer {
	return func(ctx huma.Context, status string, v any) (any, error) {
		code, err := strconv.Atoi(status)
		if err != nil || code < 400 || v == nil {
			return v, nil
		}
		if _, ok := v.(*Problem); ok {
			return v, nil
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return v, nil
		}
		var fp foreignProblem
		if json.Unmarshal(raw, &fp) != nil || fp.Code != "" {
			return v, nil // not an error object, or already ours (rewrapped)
		}
		c, title := codeForStatus(code)
		detail := fp.Detail
		if code == http.StatusUnprocessableEntity && aboutExcludes(fp.Errors) {
			// The schema's bounds on excludes are the service's: a client gets
			// the same code whichever of the two refuses its patterns.
			c, title = CodeInvalidExcludes, "Invalid exclude patterns"
			detail = fmt.Sprintf("The exclude patterns break a limit: at most %d patterns of at most %d characters each.", maxExcludes, maxExcludeLength)
		}
		for _, d := range fp.Errors {
			if d != nil {
				d.Value = clipValue(d.Value)
			}
		}
		p := &Problem{
			Type:   problemTypePrefix + string(c),
			Title:  title,
			Status: code,
			Code:   c,
			Detail: detail,
			Errors: fp.Errors,
		}
		if p.Detail == "" {
			p.Detail = title
		}
		if code >= 500 {
			// huma puts causes (e.g. a body read error) in errors: log, don't return.
			p.Instance = "urn:uuid:" + uuid.NewString()
			p.Detail, p.Errors = internalRow.detail, nil
			if c == CodeUnavailable {
				p.Detail = fp.Detail
			}
			op := ""
			if o := ctx.Operation(); o != nil {
				op = o.OperationID
			}
			level := slog.LevelError
			if fp.Detail == "cannot read request body" {
				// The client broke off its own upload (a body shorter than its
				// Content-Length); it will not see this answer, and nothing failed here.
				level = slog.LevelInfo
			}
			log.Log(ctx.Context(), level, "request failed", "operation", op, "status", code,
				"instance", p.Instance, "err", describe(fp))
		}
		return p, nil
	}
}

// clipValue shortens the value a validation error quotes: enough for a person
// to see which one was wrong, never a copy of a large body (a name of
// thousands of characters, hundreds of exclude patterns).
func clipValue(v any) any {
	const keep = 64
	if s, ok := v.(string); ok {
		if len(s) <= keep {
			return s
		}
		cut := keep
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	if b, err := json.Marshal(v); err != nil || len(b) > 4*keep {
		return nil
	}
	return v
}

// excludeBoundMessages are huma's messages for the schema's bounds on exclude
// patterns: too many of them, or one too long.
var excludeBoundMessages = []string{
	fmt.Sprintf(validation.MsgExpectedMaxItems, maxExcludes),
	fmt.Sprintf(validation.MsgExpectedMaxLength, maxExcludeLength),
}

// aboutExcludes reports whether every validation error is the body's exclude
// patterns breaking a bound (other mistakes in them, such as a string where
// the list belongs, stay invalid input).
func aboutExcludes(details []*huma.ErrorDetail) bool {
	for _, d := range details {
		if d == nil || (d.Location != "body.excludes" && !strings.HasPrefix(d.Location, "body.excludes[")) ||
			!slices.Contains(excludeBoundMessages, d.Message) {
			return false
		}
	}
	return len(details) > 0
}

// describe renders huma's error details for the log.
func describe(fp foreignProblem) string {
	var b strings.Builder
	b.WriteString(fp.Detail)
	for _, d := range fp.Errors {
		if d != nil {
			fmt.Fprintf(&b, "; %s", d.Error())
		}
	}
	return b.String()
}

// writeProblem writes p directly, for middleware that answers before huma's
// handler runs (authentication). Headers carried by err (huma.ErrorWithHeaders,
// e.g. WWW-Authenticate) are sent too.
func writeProblem(ctx huma.Context, p *Problem, err error) {
	var he huma.HeadersError
	if errors.As(err, &he) {
		for name, values := range he.GetHeaders() {
			for _, v := range values {
				ctx.AppendHeader(name, v)
			}
		}
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(p.Status)
	enc := json.NewEncoder(ctx.BodyWriter())
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p) // the client may be gone; there is nobody left to tell
}

package http

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The schedule operations' IDs.
const (
	opGetSchedule      = "get-schedule"
	opPutSchedule      = "put-schedule"
	opDeleteSchedule   = "delete-schedule"
	opListScheduleRuns = "list-schedule-runs"
)

const (
	schedulePath     = "/api/v1/orders/{order_id}/provisions/{provision_id}/schedule"
	scheduleRunsPath = schedulePath + "/runs"
)

// scheduleBodyLimit bounds a put-schedule body: a few short strings, four
// counts and the exclude patterns.
const scheduleBodyLimit = 4<<10 + excludesBodyLimit

// ScheduleView is a provision's backup schedule as clients see it. Every field
// is always present; those not known are null.
type ScheduleView struct {
	ID           string        `json:"id" format:"uuid" doc:"The schedule's ID; it stays the same when the schedule is replaced."`
	Cron         string        `json:"cron" doc:"When backups are made: five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily or @every 6h." example:"0 4 * * *"`
	TimeZone     string        `json:"time_zone" doc:"The IANA time zone the cron expression is read in." example:"Europe/Berlin"`
	Enabled      bool          `json:"enabled" doc:"False while the schedule is paused."`
	NameTemplate string        `json:"name_template" doc:"How the backups are named: {date} and {time} are the slot's date and time in the schedule's zone." example:"Scheduled {date} {time}"`
	Retention    RetentionView `json:"retention" doc:"Which of the schedule's backups are kept when it runs."`
	Excludes     []string      `json:"excludes" nullable:"false" doc:"Gitignore-style patterns of paths the schedule's backups leave out, after the data directory's .savepointignore file; empty when none." example:"[\"cache/\"]"`
	// NextRunAt is null while paused.
	NextRunAt *time.Time   `json:"next_run_at" doc:"When the schedule next makes a backup (RFC 3339, UTC); null while it is paused."`
	LastRun   *LastRunView `json:"last_run" doc:"What the last run did; null before the first."`
	CreatedAt time.Time    `json:"created_at" doc:"When the schedule was first set (RFC 3339, UTC)."`
	UpdatedAt time.Time    `json:"updated_at" doc:"When the schedule was last set (RFC 3339, UTC)."`
}

// RetentionView is a retention policy: which backups a schedule keeps, as
// restic's forget --keep-* options say.
type RetentionView struct {
	KeepLast    int `json:"keep_last" minimum:"0" doc:"Keep the newest this many backups."`
	KeepDaily   int `json:"keep_daily" minimum:"0" doc:"Keep the newest backup of each of the last this many days that have one."`
	KeepWeekly  int `json:"keep_weekly" minimum:"0" doc:"Keep the newest backup of each of the last this many weeks that have one."`
	KeepMonthly int `json:"keep_monthly" minimum:"0" doc:"Keep the newest backup of each of the last this many months that have one."`
}

// LastRunView is a schedule's last run, or null.
type LastRunView struct {
	// huma makes only scalar pointers nullable; an object says so itself.
	_        struct{}  `nullable:"true"`
	Slot     time.Time `json:"slot" doc:"The scheduled time the run was for (RFC 3339, UTC)."`
	At       time.Time `json:"at" doc:"When the run began (RFC 3339, UTC)."`
	Outcome  string    `json:"outcome" enum:"started,skipped,failed" doc:"started: a backup was made (backup_id; its own status says how it went). skipped: a backup or restore was running, or the server was being reprovisioned. failed: see reason."`
	BackupID *string   `json:"backup_id" format:"uuid" doc:"The backup the run made; null unless it started one."`
	Reason   *string   `json:"reason" doc:"Why the run was skipped or failed, for people; null when it started a backup."`
}

// ScheduleRunView is one run of a schedule.
type ScheduleRunView struct {
	Slot     time.Time `json:"slot" doc:"The scheduled time the run was for (RFC 3339, UTC)."`
	At       time.Time `json:"at" doc:"When the run began (RFC 3339, UTC)."`
	Outcome  string    `json:"outcome" enum:"pending,started,skipped,failed" doc:"pending: the run is still deciding. started, skipped and failed: as in last_run."`
	BackupID *string   `json:"backup_id" format:"uuid" doc:"The backup the run made; null unless it started one."`
	Reason   *string   `json:"reason" doc:"Why the run was skipped or failed, for people; null otherwise."`
}

// ScheduleRunList is the body of list-schedule-runs.
type ScheduleRunList struct {
	Runs []ScheduleRunView `json:"runs" nullable:"false" doc:"The schedule's recent runs, newest first (at most 100)."`
}

// NewScheduleView returns the view of sc that the API sends.
func NewScheduleView(sc ports.Schedule) ScheduleView {
	r := sc.Retention
	v := ScheduleView{
		ID: sc.ID.String(), Cron: sc.Cron, TimeZone: sc.TimeZone, Enabled: sc.Enabled, NameTemplate: sc.NameTemplate,
		Retention: RetentionView{KeepLast: r.KeepLast, KeepDaily: r.KeepDaily, KeepWeekly: r.KeepWeekly, KeepMonthly: r.KeepMonthly},
		Excludes:  nonNil(sc.Excludes),
		NextRunAt: optionalTime(sc.NextRunAt), CreatedAt: sc.CreatedAt.UTC(), UpdatedAt: sc.UpdatedAt.UTC(),
	}
	if run := sc.LastRun; run != nil {
		rv := NewScheduleRunView(*run)
		v.LastRun = &LastRunView{Slot: rv.Slot, At: rv.At, Outcome: rv.Outcome, BackupID: rv.BackupID, Reason: rv.Reason}
	}
	return v
}

// NewScheduleRunView returns the view of run that the API sends.
func NewScheduleRunView(run ports.ScheduleRun) ScheduleRunView {
	v := ScheduleRunView{Slot: run.Slot.UTC(), At: run.At.UTC(), Outcome: string(run.Outcome)}
	if v.Outcome == "" {
		v.Outcome = "pending"
	}
	if !run.BackupID.IsZero() {
		id := run.BackupID.String()
		v.BackupID = &id
	}
	if run.Reason != "" {
		v.Reason = &run.Reason
	}
	return v
}

// ScheduleRequest is the body of put-schedule: the whole schedule, which
// replaces the one the provision has. Unknown fields are refused (422
// invalid_input).
type ScheduleRequest struct {
	_            struct{}          `additionalProperties:"false"`
	Cron         string            `json:"cron" minLength:"1" maxLength:"100" doc:"Five fields (minute hour day-of-month month day-of-week) or a descriptor: @yearly, @monthly, @weekly, @daily, @hourly, or @every followed by a duration such as 6h." example:"0 4 * * *"`
	TimeZone     string            `json:"time_zone,omitempty" maxLength:"64" doc:"An IANA time zone such as Europe/Berlin, in which the cron expression is read. Omit for UTC." example:"Europe/Berlin"`
	Enabled      *bool             `json:"enabled,omitempty" doc:"False pauses the schedule. Omit for true."`
	NameTemplate string            `json:"name_template,omitempty" maxLength:"200" doc:"How backups are named: {date} becomes the slot's date (2006-01-02) and {time} its time (15:04), in the schedule's zone; the result must be a valid backup name. Omit for Scheduled {date} {time}." example:"Nightly {date}"`
	Retention    *RetentionRequest `json:"retention,omitempty" doc:"Which backups to keep; omit to keep all of them (the provision's limit then makes room by deleting the oldest)."`
	Excludes     []string          `json:"excludes,omitempty" nullable:"false" maxItems:"256" maxLength:"256" doc:"Gitignore-style patterns, relative to the server's data directory, of paths the schedule's backups leave out, as create-backup's excludes. Omit for none." example:"[\"cache/\"]"`
}

// RetentionRequest is a retention policy in a request; an omitted rule is 0
// (not used).
type RetentionRequest struct {
	_           struct{} `additionalProperties:"false"`
	KeepLast    int      `json:"keep_last,omitempty" minimum:"0" maximum:"1000" doc:"Keep the newest this many backups."`
	KeepDaily   int      `json:"keep_daily,omitempty" minimum:"0" maximum:"1000" doc:"Keep the newest backup of each of the last this many days."`
	KeepWeekly  int      `json:"keep_weekly,omitempty" minimum:"0" maximum:"1000" doc:"Keep the newest backup of each of the last this many ISO weeks."`
	KeepMonthly int      `json:"keep_monthly,omitempty" minimum:"0" maximum:"1000" doc:"Keep the newest backup of each of the last this many months."`
}

// UnmarshalJSON decodes the body, refusing bytes that are not valid UTF-8, for
// the reason CreateBackupRequest does.
func (r *ScheduleRequest) UnmarshalJSON(b []byte) error {
	if !utf8.Valid(b) {
		return errInvalidUTF8
	}
	type plain ScheduleRequest // without this method
	return json.Unmarshal(b, (*plain)(r))
}

// settings turns the request into the service's settings.
func (r *ScheduleRequest) settings() backup.ScheduleSettings {
	set := backup.ScheduleSettings{Cron: r.Cron, TimeZone: r.TimeZone, Enabled: r.Enabled == nil || *r.Enabled, NameTemplate: r.NameTemplate, Excludes: r.Excludes}
	if p := r.Retention; p != nil {
		set.Retention = ports.RetentionPolicy{KeepLast: p.KeepLast, KeepDaily: p.KeepDaily, KeepWeekly: p.KeepWeekly, KeepMonthly: p.KeepMonthly}
	}
	return set
}

type putScheduleInput struct {
	OrderID     string `path:"order_id" format:"uuid" doc:"The order (the customer's game server)."`
	ProvisionID string `path:"provision_id" format:"uuid" doc:"The order's primary game-server provision."`
	Body        ScheduleRequest
	order       ports.OrderID
	provision   ports.ProvisionID
}

func (in *putScheduleInput) Resolve(huma.Context) []error {
	var errs []error
	in.order = parseID(&errs, "order_id", in.OrderID, ports.ParseOrderID)
	in.provision = parseID(&errs, "provision_id", in.ProvisionID, ports.ParseProvisionID)
	return errs
}

type scheduleOutput struct{ Body ScheduleView }

type scheduleRunsOutput struct{ Body ScheduleRunList }

func registerSchedules(api huma.API, h *handlers) {
	reg := api.OpenAPI().Components.Schemas
	huma.Register(api, huma.Operation{
		OperationID:        opGetSchedule,
		Method:             http.MethodGet,
		Path:               schedulePath,
		Tags:               []string{tagSchedules},
		Summary:            "Get the backup schedule",
		Description:        "Returns the provision's backup schedule, with its next run and what its last run did.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses: problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeScheduleNotFound,
			CodeSchedulesUnavailable),
	}, h.getSchedule)

	huma.Register(api, huma.Operation{
		OperationID: opPutSchedule,
		Method:      http.MethodPut,
		Path:        schedulePath,
		Tags:        []string{tagSchedules},
		Summary:     "Set the backup schedule",
		Description: "Creates the provision's backup schedule, or replaces it (keeping its ID and runs). Each run deletes " +
			"the schedule's backups the retention policy lets go, deletes the oldest one it may when the provision is at " +
			"its limit (never a locked one), and starts a backup; a run that finds a backup or restore running is skipped.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		MaxBodyBytes:       scheduleBodyLimit,
		Responses: problemResponses(reg, true, CodeInvalidInput, CodeInvalidSchedule, CodeInvalidExcludes, CodeForbidden, CodeNotFound,
			CodeSchedulesUnavailable),
	}, h.putSchedule)

	huma.Register(api, huma.Operation{
		OperationID:        opDeleteSchedule,
		Method:             http.MethodDelete,
		Path:               schedulePath,
		Tags:               []string{tagSchedules},
		Summary:            "Delete the backup schedule",
		Description:        "Deletes the provision's backup schedule and its runs; the backups it made stay.",
		DefaultStatus:      http.StatusNoContent,
		Security:           security(),
		SkipValidateParams: true,
		Responses: problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeScheduleNotFound,
			CodeSchedulesUnavailable),
	}, h.deleteSchedule)

	huma.Register(api, huma.Operation{
		OperationID:        opListScheduleRuns,
		Method:             http.MethodGet,
		Path:               scheduleRunsPath,
		Tags:               []string{tagSchedules},
		Summary:            "List the schedule's runs",
		Description:        "Returns the schedule's recent runs, newest first: which backup each started, or why it was skipped or failed.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses: problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeScheduleNotFound,
			CodeSchedulesUnavailable),
	}, h.listScheduleRuns)
}

func (h *handlers) getSchedule(ctx context.Context, in *backupsInput) (*scheduleOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	sc, err := h.svc.GetSchedule(ctx, user, in.order, in.provision)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	return &scheduleOutput{Body: NewScheduleView(sc)}, nil
}

func (h *handlers) putSchedule(ctx context.Context, in *putScheduleInput) (*scheduleOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	sc, err := h.svc.PutSchedule(ctx, user, in.order, in.provision, in.Body.settings())
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	return &scheduleOutput{Body: NewScheduleView(sc)}, nil
}

func (h *handlers) deleteSchedule(ctx context.Context, in *backupsInput) (*struct{}, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	if err := h.svc.DeleteSchedule(ctx, user, in.order, in.provision); err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	return nil, nil
}

func (h *handlers) listScheduleRuns(ctx context.Context, in *backupsInput) (*scheduleRunsOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	runs, err := h.svc.ListScheduleRuns(ctx, user, in.order, in.provision)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	out := &scheduleRunsOutput{Body: ScheduleRunList{Runs: make([]ScheduleRunView, 0, len(runs))}}
	for _, run := range runs {
		out.Body.Runs = append(out.Body.Runs, NewScheduleRunView(run))
	}
	return out, nil
}

package http

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// opListActivity is the activity operation's ID.
const opListActivity = "list-activity"

const activityPath = "/api/v1/orders/{order_id}/activity"

// ActivityView is one event of an order's activity log.
type ActivityView struct {
	ID          int64     `json:"id" minimum:"1" doc:"The event's ID. IDs grow: a later event has a larger one." example:"123"`
	Type        string    `json:"type" enum:"backup.created,backup.ready,backup.failed,restore.started,restore.finished,restore.failed,backup.deleted,backup.locked,backup.unlocked,schedule.run_skipped,schedule.run_failed" doc:"What happened. New types may be added; treat an unknown one as informational."`
	OrderID     string    `json:"order_id" format:"uuid" doc:"The order."`
	ProvisionID string    `json:"provision_id" format:"uuid" doc:"The game-server provision."`
	BackupID    *string   `json:"backup_id" format:"uuid" doc:"The backup; null for a schedule's run that made none. It may since have been deleted."`
	BackupName  string    `json:"backup_name" doc:"The backup's name when the event happened; empty for a schedule's run that made none." example:"Before the 1.21 update"`
	Actor       ActorView `json:"actor" doc:"Who caused the event."`
	At          time.Time `json:"at" doc:"When it happened (RFC 3339, UTC)."`
	Reason      string    `json:"reason,omitempty" doc:"Why an operation failed or a run was skipped, for people; absent for other events."`
}

// ActorView is who caused an event: a user, a schedule, or savepoint itself.
type ActorView struct {
	Kind       string `json:"kind" enum:"user,schedule,system" doc:"user: a user's request (user_id), or the work it started. schedule: a backup schedule (schedule_id). system: savepoint settling an operation whose worker died, or the host deleting the order."`
	UserID     string `json:"user_id,omitempty" format:"uuid" doc:"The user, when kind is user."`
	ScheduleID string `json:"schedule_id,omitempty" format:"uuid" doc:"The schedule, when kind is schedule."`
}

// ActivityList is the body of list-activity: one page, newest first.
type ActivityList struct {
	Items      []ActivityView `json:"items" nullable:"false" doc:"The events, newest first."`
	NextBefore *int64         `json:"next_before" doc:"Pass as before to get the next, older page; null when there is none."`
}

// NewActivityView returns the view of a that the API sends.
func NewActivityView(a ports.Activity) ActivityView {
	v := ActivityView{
		ID: int64(a.ID), Type: string(a.Type), OrderID: a.OrderID.String(), ProvisionID: a.ProvisionID.String(),
		BackupName: a.BackupName, At: a.At.UTC(), Reason: a.Reason,
		Actor: ActorView{Kind: string(a.Actor.Kind)},
	}
	if !a.BackupID.IsZero() {
		id := a.BackupID.String()
		v.BackupID = &id
	}
	switch a.Actor.Kind {
	case ports.ActorUser:
		v.Actor.UserID = a.Actor.UserID.String()
	case ports.ActorSchedule:
		v.Actor.ScheduleID = a.Actor.ScheduleID.String()
	}
	return v
}

type activityInput struct {
	OrderID string `path:"order_id" format:"uuid" doc:"The order (the customer's game server)."`
	Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"How many events to return at most."`
	Before  int64  `query:"before" minimum:"1" doc:"Return only events older than this ID: the next_before of the previous page. Omit for the newest."`
	order   ports.OrderID
}

func (in *activityInput) Resolve(huma.Context) []error {
	var errs []error
	in.order = parseID(&errs, "order_id", in.OrderID, ports.ParseOrderID)
	return errs
}

type activityOutput struct{ Body ActivityList }

func registerActivity(api huma.API, h *handlers) {
	reg := api.OpenAPI().Components.Schemas
	huma.Register(api, huma.Operation{
		OperationID: opListActivity,
		Method:      http.MethodGet,
		Path:        activityPath,
		Tags:        []string{tagActivity},
		Summary:     "List the order's activity",
		Description: "Returns what happened to the order's backups, newest first, a page at a time: creates, restores, " +
			"locks, unlocks and deletes, and schedule runs that made no backup, each with who caused it. Events stay " +
			"when their backup is deleted.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          problemResponses(reg, false, CodeInvalidInput, CodeForbidden, CodeNotFound, CodeActivityUnavailable),
	}, h.listActivity)
}

func (h *handlers) listActivity(ctx context.Context, in *activityInput) (*activityOutput, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	page, err := h.svc.ListActivity(ctx, user, in.order, ports.ActivityID(in.Before), in.Limit)
	if err != nil {
		return nil, failure(ctx, h.log, err, "order_id", in.order)
	}
	return &activityOutput{Body: newActivityList(page)}, nil
}

func newActivityList(page backup.ActivityPage) ActivityList {
	out := ActivityList{Items: make([]ActivityView, 0, len(page.Items))}
	for _, a := range page.Items {
		out.Items = append(out.Items, NewActivityView(a))
	}
	if page.NextBefore > 0 {
		n := int64(page.NextBefore)
		out.NextBefore = &n
	}
	return out
}

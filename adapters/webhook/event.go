package webhook

import (
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Event is a delivery's JSON body: one event of the activity log. Receivers in
// Go may decode into it.
type Event struct {
	// ID is the event's activity ID: it grows along the log, and with the
	// endpoint ID makes the delivery's idempotency key.
	ID          ports.ActivityID   `json:"id"`
	Type        ports.ActivityType `json:"type"`
	OrderID     ports.OrderID      `json:"order_id"`
	ProvisionID ports.ProvisionID  `json:"provision_id"`
	// BackupID is null for a schedule's run that made no backup.
	BackupID   *ports.BackupID `json:"backup_id"`
	BackupName string          `json:"backup_name"`
	Actor      Actor           `json:"actor"`
	At         time.Time       `json:"at"`
	// Reason says why an operation failed or a run was skipped; absent
	// otherwise.
	Reason string `json:"reason,omitempty"`
}

// Actor is who caused an event: {"kind":"user","user_id":…},
// {"kind":"schedule","schedule_id":…} or {"kind":"system"}.
type Actor struct {
	Kind       ports.ActorKind   `json:"kind"`
	UserID     *ports.UserID     `json:"user_id,omitempty"`
	ScheduleID *ports.ScheduleID `json:"schedule_id,omitempty"`
}

// NewEvent returns the body delivered for a.
func NewEvent(a ports.Activity) Event {
	e := Event{
		ID: a.ID, Type: a.Type, OrderID: a.OrderID, ProvisionID: a.ProvisionID,
		BackupName: a.BackupName, Actor: Actor{Kind: a.Actor.Kind}, At: a.At.UTC(), Reason: a.Reason,
	}
	if !a.BackupID.IsZero() {
		e.BackupID = &a.BackupID
	}
	if !a.Actor.UserID.IsZero() {
		e.Actor.UserID = &a.Actor.UserID
	}
	if !a.Actor.ScheduleID.IsZero() {
		e.Actor.ScheduleID = &a.Actor.ScheduleID
	}
	return e
}

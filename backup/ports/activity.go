package ports

import (
	"context"
	"time"
)

// ActivityID identifies an event of the activity log. IDs grow: an event
// recorded after another has a larger ID, in every store, so the log can be
// paged and followed by ID alone.
type ActivityID int64

// ActivityType is what happened. The values are the wire strings, stable
// across releases: receivers of webhooks switch on them.
type ActivityType string

// The types of activity. Every state change of a backup is one event, written
// by the store in the same transaction as the change itself.
const (
	// ActivityBackupCreated: a create was accepted (the backup is creating).
	ActivityBackupCreated ActivityType = "backup.created"
	// ActivityBackupReady: the archive is stored (creating → ready).
	ActivityBackupReady ActivityType = "backup.ready"
	// ActivityBackupFailed: the create failed (creating → failed); Reason says why.
	ActivityBackupFailed ActivityType = "backup.failed"
	// ActivityRestoreStarted: a restore was accepted (ready → restoring).
	ActivityRestoreStarted ActivityType = "restore.started"
	// ActivityRestoreFinished: the restore completed (restoring → ready).
	ActivityRestoreFinished ActivityType = "restore.finished"
	// ActivityRestoreFailed: the restore did not complete (restoring → ready
	// with an error); Reason says why. The server's data is as it was.
	ActivityRestoreFailed ActivityType = "restore.failed"
	// ActivityBackupDeleted: the backup and its archive are gone.
	ActivityBackupDeleted ActivityType = "backup.deleted"
	// ActivityBackupLocked: the backup was locked.
	ActivityBackupLocked ActivityType = "backup.locked"
	// ActivityBackupUnlocked: the backup was unlocked.
	ActivityBackupUnlocked ActivityType = "backup.unlocked"
	// ActivityScheduleRunSkipped: a schedule's slot passed without a backup
	// (the order was busy); Reason says why. BackupID is zero.
	ActivityScheduleRunSkipped ActivityType = "schedule.run_skipped"
	// ActivityScheduleRunFailed: a schedule's slot could not start a backup
	// (the provision is full and nothing could be rotated, say); Reason says
	// why. BackupID is zero.
	ActivityScheduleRunFailed ActivityType = "schedule.run_failed"
)

// Valid reports whether t is one of the activity types.
func (t ActivityType) Valid() bool {
	switch t {
	case ActivityBackupCreated, ActivityBackupReady, ActivityBackupFailed,
		ActivityRestoreStarted, ActivityRestoreFinished, ActivityRestoreFailed,
		ActivityBackupDeleted, ActivityBackupLocked, ActivityBackupUnlocked,
		ActivityScheduleRunSkipped, ActivityScheduleRunFailed:
		return true
	}
	return false
}

// ActorKind says who caused an event. The values are the wire strings.
type ActorKind string

// The kinds of actor.
const (
	// ActorUser: a user's request (Actor.UserID), or the work it started.
	ActorUser ActorKind = "user"
	// ActorSchedule: a backup schedule (Actor.ScheduleID), or the work it started.
	ActorSchedule ActorKind = "schedule"
	// ActorSystem: savepoint itself (recovery settling an operation whose
	// worker died) or the host (deleting an order's backups).
	ActorSystem ActorKind = "system"
)

// Actor is who caused an event.
type Actor struct {
	Kind ActorKind
	// UserID is set when Kind is ActorUser.
	UserID UserID
	// ScheduleID is set when Kind is ActorSchedule.
	ScheduleID ScheduleID
}

// UserActor returns the actor for a user's request.
func UserActor(id UserID) Actor { return Actor{Kind: ActorUser, UserID: id} }

// ScheduleActor returns the actor for a schedule's run.
func ScheduleActor(id ScheduleID) Actor { return Actor{Kind: ActorSchedule, ScheduleID: id} }

// SystemActor is the actor of changes no user or schedule asked for.
var SystemActor = Actor{Kind: ActorSystem}

type actorKey struct{}

// WithActor returns a context that says who the store's changes made with it
// are for: the service sets it at every entry point and on the work a request
// or a schedule starts, and the stores write it into the events they record.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx, or SystemActor.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Kind != "" {
		return a
	}
	return SystemActor
}

// Activity is one event of an order's activity log.
type Activity struct {
	ID   ActivityID
	Type ActivityType
	// OrderID and ProvisionID are always set; BackupID is zero for a schedule's
	// run that made no backup.
	OrderID     OrderID
	ProvisionID ProvisionID
	BackupID    BackupID
	// BackupName is the backup's name when the event was recorded.
	BackupName string
	Actor      Actor
	At         time.Time
	// Reason says, in words a customer can read, why an operation failed or a
	// run was skipped. Empty for other events.
	Reason string
}

// BackupChange returns the event a store records when it stores after in place
// of before (nil when after is being created), and false when the change is not
// an event (a heartbeat, progress, a lock set to the value it had). Every
// Repository implementation records exactly these, in the same transaction as
// the change; a removal is ActivityBackupDeleted, recorded by Delete.
func BackupChange(before *Backup, after Backup) (ActivityType, bool) {
	if before == nil {
		return ActivityBackupCreated, true
	}
	if before.Locked != after.Locked {
		if after.Locked {
			return ActivityBackupLocked, true
		}
		return ActivityBackupUnlocked, true
	}
	switch {
	case before.Status == StatusCreating && after.Status == StatusReady:
		return ActivityBackupReady, true
	case before.Status == StatusCreating && after.Status == StatusFailed:
		return ActivityBackupFailed, true
	case before.Status != StatusRestoring && after.Status == StatusRestoring:
		return ActivityRestoreStarted, true
	case before.Status == StatusRestoring && after.Status != StatusRestoring && after.Error != "":
		return ActivityRestoreFailed, true
	case before.Status == StatusRestoring && after.Status != StatusRestoring:
		return ActivityRestoreFinished, true
	}
	return "", false
}

// NewBackupActivity returns the event for a change of b, by actor, at at; the
// store sets its ID. Reason is b's error for the failures.
func NewBackupActivity(t ActivityType, b Backup, actor Actor, at time.Time) Activity {
	a := Activity{
		Type: t, OrderID: b.OrderID, ProvisionID: b.ProvisionID, BackupID: b.ID,
		BackupName: b.Name, Actor: actor, At: at,
	}
	if t == ActivityBackupFailed || t == ActivityRestoreFailed {
		a.Reason = b.Error
	}
	return a
}

// NewRunActivity returns the event a Schedules store records when it records
// run's outcome on sc (FinishRun, the first outcome only), at at, and false
// when the outcome is not an event: a run that started a backup is told by
// the backup's own events. The actor is the schedule; the store sets the ID.
func NewRunActivity(sc Schedule, run ScheduleRun, at time.Time) (Activity, bool) {
	var t ActivityType
	switch run.Outcome {
	case RunSkipped:
		t = ActivityScheduleRunSkipped
	case RunFailed:
		t = ActivityScheduleRunFailed
	default:
		return Activity{}, false
	}
	return Activity{
		Type: t, OrderID: sc.OrderID, ProvisionID: sc.ProvisionID, BackupID: run.BackupID,
		Actor: ScheduleActor(sc.ID), At: at, Reason: run.Reason,
	}, true
}

// DefaultActivityPage is how many events a page of the activity log holds
// unless the caller asks for another number; MaxActivityPage is the most.
const (
	DefaultActivityPage = 50
	MaxActivityPage     = 200
)

// ActivityLog reads the activity log that the Repository (and the Schedules
// store, for a schedule's runs) write. Events are history: they stay when
// their backup is deleted.
type ActivityLog interface {
	// ListActivity returns the order's events newest first: those with an ID
	// below before (every one when before is 0), at most limit of them.
	ListActivity(ctx context.Context, order OrderID, before ActivityID, limit int) ([]Activity, error)

	// ActivitySince returns events with an ID above after, oldest first, at
	// most limit of them: every order's, or only order's when it is not zero.
	// It is how a follower (the webhook dispatcher) reads the log as an outbox:
	// an event becomes visible only once every event with a smaller ID has, so
	// a follower that remembers the last ID it read misses none.
	ActivitySince(ctx context.Context, after ActivityID, order OrderID, limit int) ([]Activity, error)

	// LatestActivity returns the largest ID recorded so far, 0 when none.
	LatestActivity(ctx context.Context) (ActivityID, error)
}

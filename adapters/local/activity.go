package local

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ActivityLog is an in-memory ports.ActivityLog. A Repository and a Schedules
// store write into it while they hold their own lock, so an event is recorded
// exactly when its change is, and no reader sees one without the other for
// longer than the two appends take. Share one log between the two stores
// (NewRepositoryWithLog, NewSchedulesWithLog) to see an order's whole history.
type ActivityLog struct {
	mu     sync.Mutex
	events []ports.Activity // by ID, oldest first; an event's ID is its index plus one
}

var _ ports.ActivityLog = (*ActivityLog)(nil)

// NewActivityLog returns an empty ActivityLog.
func NewActivityLog() *ActivityLog { return &ActivityLog{} }

// record appends a with the next ID. Callers hold their store's lock, so the
// lock order is always store, then log.
func (l *ActivityLog) record(a ports.Activity) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a.ID = ports.ActivityID(len(l.events) + 1)
	a.At = dbTime(a.At)
	l.events = append(l.events, a)
}

// recordBackup records the event the change of before into after is, if it
// is one (see ports.BackupChange), for the actor in ctx.
func (l *ActivityLog) recordBackup(ctx context.Context, before *ports.Backup, after ports.Backup) {
	if t, ok := ports.BackupChange(before, after); ok {
		l.record(ports.NewBackupActivity(t, after, ports.ActorFrom(ctx), time.Now()))
	}
}

// ListActivity returns the order's events below before (all when before is 0),
// newest first, at most limit.
func (l *ActivityLog) ListActivity(ctx context.Context, order ports.OrderID, before ports.ActivityID, limit int) ([]ports.Activity, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: list activity: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	end := len(l.events)
	if before > 0 {
		end = min(end, int(before)-1)
	}
	var out []ports.Activity
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		if l.events[i].OrderID == order {
			out = append(out, l.events[i])
		}
	}
	return out, nil
}

// ActivitySince returns the events above after, of every order or only of
// order when it is not zero, oldest first, at most limit.
func (l *ActivityLog) ActivitySince(ctx context.Context, after ports.ActivityID, order ports.OrderID, limit int) ([]ports.Activity, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local: activity since %d: %w", after, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ports.Activity
	for i := max(int(after), 0); i < len(l.events) && len(out) < limit; i++ {
		if order.IsZero() || l.events[i].OrderID == order {
			out = append(out, l.events[i])
		}
	}
	return slices.Clip(out), nil
}

// LatestActivity returns the newest event's ID, 0 when there is none.
func (l *ActivityLog) LatestActivity(ctx context.Context) (ports.ActivityID, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("local: latest activity: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return ports.ActivityID(len(l.events)), nil
}

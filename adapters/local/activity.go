package local

import (
	"cmp"
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
	events []ports.Activity // by ID, oldest first
	last   ports.ActivityID // the largest ID handed out, erased or not
}

var _ ports.ActivityLog = (*ActivityLog)(nil)

// NewActivityLog returns an empty ActivityLog.
func NewActivityLog() *ActivityLog { return &ActivityLog{} }

// record appends a with the next ID. Callers hold their store's lock, so the
// lock order is always store, then log.
func (l *ActivityLog) record(a ports.Activity) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	a.ID = l.last
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
		end = l.above(before - 1)
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
	for i := l.above(after); i < len(l.events) && len(out) < limit; i++ {
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
	if len(l.events) == 0 {
		return 0, nil
	}
	return l.events[len(l.events)-1].ID, nil
}

// DeleteOrderActivity erases the order's events and returns how many there
// were. Events are history and outlive their order, so that a follower still
// reads the backup.deleted events of DeleteOrderBackups; call it when the
// history must go too, once the followers that need its events have read
// them. The other events keep their IDs.
func (l *ActivityLog) DeleteOrderActivity(ctx context.Context, order ports.OrderID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("local: delete activity of order %s: %w", order, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.events)
	l.events = slices.DeleteFunc(l.events, func(a ports.Activity) bool { return a.OrderID == order })
	return n - len(l.events), nil
}

// above returns the index of the first event whose ID is above id. Callers
// hold l.mu.
func (l *ActivityLog) above(id ports.ActivityID) int {
	i, _ := slices.BinarySearchFunc(l.events, id+1, func(a ports.Activity, id ports.ActivityID) int { return cmp.Compare(a.ID, id) })
	return i
}

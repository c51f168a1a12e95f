package backup

import (
	"context"
	"errors"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// ScheduledRun is one slot of a schedule: the time its cron expression gave, to
// be run once across every replica.
type ScheduledRun struct {
	ScheduleID ports.ScheduleID
	// Slot is the cron time this run is for; with ScheduleID it names the run.
	Slot time.Time
	// Due is the schedule's next run time the slot was derived from, so that
	// AdvanceSchedule moves the schedule on only if nobody else has.
	Due time.Time
}

// DueScheduledRuns returns a run for every enabled schedule whose next run time
// has come: one per schedule, for the latest slot not after now, so that a
// schedule that missed several slots during an outage runs once to catch up.
// It changes nothing; AdvanceSchedule does.
func (s *Service) DueScheduledRuns(ctx context.Context) ([]ScheduledRun, error) {
	return nil, errors.New("not implemented")
}

// AdvanceSchedule moves run's schedule on to its next run time after now, if
// its next run time is still run.Due (another replica may have moved it).
func (s *Service) AdvanceSchedule(ctx context.Context, run ScheduledRun) error {
	return errors.New("not implemented")
}

// RunScheduledBackup runs one slot: at most once however often it is called,
// on any replica. It records the outcome on the schedule (a backup started, or
// skipped or failed and why) and returns an error only when the outcome could
// not be recorded, so that the caller retries.
func (s *Service) RunScheduledBackup(ctx context.Context, run ScheduledRun) error {
	return errors.New("not implemented")
}

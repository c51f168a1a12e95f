package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
)

// runSchedules runs the service's due schedules every tick until ctx ends: the
// zero-config server is one process with its schedules in memory, so it has no
// replicas to share the work with and needs no job engine. With a database the
// server runs them on River instead (adapters/river), which runs each slot once
// however many replicas there are.
func runSchedules(ctx context.Context, svc *backup.Service, tick time.Duration, log *slog.Logger) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		runs, err := svc.DueScheduledRuns(ctx)
		if err != nil {
			log.Warn("looking for due schedules failed", "err", err)
			continue
		}
		for _, run := range runs {
			// Run, then move on: a run that could not record its outcome is
			// tried again at the next tick, and the slot's claim makes sure it
			// runs once.
			if err := svc.RunScheduledBackup(ctx, run); err != nil {
				log.Warn("a scheduled backup could not run; retried at the next tick", "schedule_id", run.ScheduleID, "slot", run.Slot, "err", err)
				continue
			}
			if err := svc.AdvanceSchedule(ctx, run); err != nil {
				log.Warn("moving a schedule on failed", "schedule_id", run.ScheduleID, "err", err)
			}
		}
	}
}

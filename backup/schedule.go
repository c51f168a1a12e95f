package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
// It changes nothing; AdvanceSchedule does. A schedule whose settings no longer
// parse (a zone this machine's time zone database lacks) is logged and left
// out. Returns ErrSchedulesUnavailable, or an error wrapping ErrDatabase.
func (s *Service) DueScheduledRuns(ctx context.Context) ([]ScheduledRun, error) {
	store, err := s.schedules()
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	due, err := store.ListDue(ctx, now)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "listing due schedules", err)
	}
	runs := make([]ScheduledRun, 0, len(due))
	for _, sc := range due {
		spec, err := parseCron(sc.Cron, sc.TimeZone)
		if err != nil {
			s.log.Warn("a due schedule cannot be read; it does not run", "schedule_id", sc.ID, "order_id", sc.OrderID, "err", err)
			continue
		}
		runs = append(runs, ScheduledRun{ScheduleID: sc.ID, Slot: spec.lastSlot(sc.NextRunAt, now), Due: sc.NextRunAt})
	}
	return runs, nil
}

// AdvanceSchedule moves run's schedule on to its next run time after now, if
// its next run time is still run.Due (another replica may have moved it, or the
// user paused, replaced or deleted the schedule: then nothing changes and it
// returns nil). A schedule whose expression never fires again is left with no
// next run. Returns ErrSchedulesUnavailable, ErrInvalidSchedule (the stored
// settings no longer parse), or an error wrapping ErrDatabase.
func (s *Service) AdvanceSchedule(ctx context.Context, run ScheduledRun) error {
	store, err := s.schedules()
	if err != nil {
		return err
	}
	sc, err := store.Find(ctx, run.ScheduleID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil
	case err != nil:
		return wrapInfra(ErrDatabase, "loading schedule", err)
	case !sc.Enabled || !sc.NextRunAt.Equal(run.Due):
		return nil
	}
	spec, err := parseCron(sc.Cron, sc.TimeZone)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", sc.ID, err)
	}
	next := spec.next(s.opts.Now())
	if _, err := store.Advance(ctx, sc.ID, run.Due, next); err != nil {
		return wrapInfra(ErrDatabase, "advancing schedule", err)
	}
	return nil
}

// RunScheduledBackup runs one slot: at most once however often it is called,
// on any replica. It records the outcome on the schedule (a backup started, or
// skipped or failed and why) and returns an error only when the outcome could
// not be recorded, so that the caller retries.
//
// A schedule that is gone or paused runs nothing and records nothing. One that
// was changed since the slot came due still runs it, with its current name
// template and retention: the slot was due under the settings of its time, and
// the user's latest word decides how. The run claims the slot first; a slot
// already claimed (by another replica, or an earlier call) does not run again.
// Then, in order: an order with an operation in progress or a fence is skipped
// before anything is deleted; the retention policy deletes what it lets go (never
// a locked backup); at the limit, rotation deletes the oldest backup it may, and
// with none to delete the run fails; and the backup is created as CreateBackup
// creates one, with ScheduleID set and the rendered name.
//
// A call that finds its slot claimed but without an outcome returns an error
// while the claim is recent (its claimant is presumably still deciding, and the
// caller should retry), and once the claim is older than Options.StaleAfter
// records an outcome itself: started, with the backup the schedule made since
// the claim if there is one, or failed. Returns ErrSchedulesUnavailable,
// ErrShuttingDown (nothing was claimed: retry, on another replica), or an error
// wrapping ErrDatabase.
func (s *Service) RunScheduledBackup(ctx context.Context, run ScheduledRun) error {
	ctx = ports.WithActor(ctx, ports.ScheduleActor(run.ScheduleID))
	store, err := s.schedules()
	if err != nil {
		return err
	}
	sc, err := store.Find(ctx, run.ScheduleID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil
	case err != nil:
		return wrapInfra(ErrDatabase, "loading schedule", err)
	case !sc.Enabled:
		return nil
	}
	if s.runner.closing() {
		return ErrShuttingDown
	}
	now := s.opts.Now()
	claimed, won, err := store.ClaimRun(ctx, sc.ID, run.Slot, now)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil // deleted since it was read
	case err != nil:
		return wrapInfra(ErrDatabase, "claiming the run", err)
	case !won:
		return s.settleClaimed(ctx, sc, run, claimed, now)
	}
	return s.finishRun(ctx, sc, s.runSlot(ctx, sc, claimed))
}

// settleClaimed handles a run whose slot was claimed before: see
// RunScheduledBackup.
func (s *Service) settleClaimed(ctx context.Context, sc ports.Schedule, run ScheduledRun, claimed ports.ScheduleRun, now time.Time) error {
	switch {
	case !claimed.Slot.Equal(run.Slot), claimed.Outcome != "":
		return nil // a newer slot ran instead, or this one ran
	case now.Sub(claimed.At) < s.opts.StaleAfter:
		return fmt.Errorf("the run of schedule %s for %v, claimed at %v, has no outcome yet; try again later",
			sc.ID, run.Slot.UTC(), claimed.At.UTC())
	}
	claimed.Outcome, claimed.Reason = ports.RunFailed, "the run was interrupted before it could start a backup"
	list, err := s.deps.Repository.ListByProvision(ctx, sc.ProvisionID)
	if err != nil {
		return wrapInfra(ErrDatabase, "listing backups", err)
	}
	for _, b := range list {
		if b.ScheduleID == sc.ID && !b.CreatedAt.Before(claimed.At) {
			claimed.Outcome, claimed.BackupID, claimed.Reason = ports.RunStarted, b.ID, ""
		}
	}
	return s.finishRun(ctx, sc, claimed)
}

// runSlot decides the claimed run and returns it with its outcome.
func (s *Service) runSlot(ctx context.Context, sc ports.Schedule, run ports.ScheduleRun) ports.ScheduleRun {
	log := s.log.With("schedule_id", sc.ID, "order_id", sc.OrderID, "slot", run.Slot)
	b, err := s.createScheduled(ctx, sc, run.Slot, log)
	switch {
	case err == nil:
		run.Outcome, run.BackupID = ports.RunStarted, b.ID
		log.Info("scheduled backup started", "backup_id", b.ID)
	case errors.Is(err, ErrOperationInProgress) || errors.Is(err, ErrReprovisioning):
		run.Outcome, run.Reason = ports.RunSkipped, runReason(err)
		log.Info("scheduled backup skipped", "reason", run.Reason)
	default:
		run.Outcome, run.Reason = ports.RunFailed, runReason(err)
		log.Warn("scheduled backup failed", "reason", run.Reason, "err", err)
	}
	return run
}

// noRoomError: the provision is at its limit and rotation may delete none of
// its backups.
type noRoomError struct {
	held   int
	manual bool // backups made by hand may be rotated out
}

func (e *noRoomError) Error() string { return e.reason() }

func (e *noRoomError) Is(target error) bool { return target == ErrLimitReached }

// reason says why nothing could be deleted, naming the rules that keep backups.
func (e *noRoomError) reason() string {
	kept := "locked, in use, the newest, made by hand, or kept by the retention policy"
	if e.manual {
		kept = "locked, in use, the newest, or kept by the retention policy"
	}
	return fmt.Sprintf("the server holds %d backups, its limit, and none may be deleted to make room: each is %s", e.held, kept)
}

// createScheduled makes room and creates the schedule's backup for slot.
func (s *Service) createScheduled(ctx context.Context, sc ports.Schedule, slot time.Time, log *slog.Logger) (ports.Backup, error) {
	order, err := s.deps.Orders.GetOrder(ctx, sc.OrderID)
	if err != nil {
		return ports.Backup{}, wrapInfra(ErrDatabase, "loading order", s.notFound(err, ErrOrderNotFound))
	}
	prov, err := s.gameServer(ctx, order, sc.ProvisionID)
	if err != nil {
		return ports.Backup{}, err
	}
	spec, err := parseCron(sc.Cron, sc.TimeZone)
	if err != nil {
		return ports.Backup{}, err
	}
	name, err := RenderName(sc.NameTemplate, slot.In(spec.loc))
	if err != nil {
		return ports.Backup{}, err
	}
	// Checked before anything is deleted to make room: a busy order skips the
	// slot and keeps every backup it has. The create checks again.
	if _, err := s.idleSidecar(ctx, order.ID, prov); err != nil {
		return ports.Backup{}, err
	}
	list, err := s.deps.Repository.ListByProvision(ctx, prov.ID)
	if err != nil {
		return ports.Backup{}, wrapInfra(ErrDatabase, "listing backups", err)
	}
	for _, b := range Forget(list, sc.Retention, spec.loc, s.opts.RetentionIncludesManual) {
		if err := s.remove(ctx, b, EventDeleteRequested); err != nil && !errors.Is(err, ErrBackupNotFound) {
			// The next run tries again; this one still makes its backup.
			log.Warn("retention could not delete a backup", "backup_id", b.ID, "err", err)
			continue
		}
		log.Info("backup deleted by retention", "backup_id", b.ID)
	}
	// Each pass deletes one backup, so a limit lowered below what a provision
	// holds takes several; the bound only guards against a store that never
	// lets the count fall.
	for range s.opts.MaxBackupsPerProvision + 1 {
		b, err := s.create(ctx, order, prov, CreateRequest{Name: name, Excludes: sc.Excludes}, sc.ID, s.opts.Now())
		if !errors.Is(err, ErrLimitReached) {
			return b, err
		}
		list, err := s.deps.Repository.ListByProvision(ctx, prov.ID)
		if err != nil {
			return ports.Backup{}, wrapInfra(ErrDatabase, "listing backups", err)
		}
		victim, ok := RotationCandidate(list, sc.Retention, spec.loc, s.opts.RetentionIncludesManual)
		if !ok {
			return ports.Backup{}, &noRoomError{held: len(list), manual: s.opts.RetentionIncludesManual}
		}
		if err := s.remove(ctx, victim, EventDeleteRequested); err != nil && !errors.Is(err, ErrBackupNotFound) {
			return ports.Backup{}, fmt.Errorf("rotating out backup %s: %w", victim.ID, err)
		}
		log.Info("backup rotated out to make room", "backup_id", victim.ID)
	}
	return ports.Backup{}, fmt.Errorf("%w: still at the limit after rotating", ErrLimitReached)
}

// finishRun records the run's outcome. It does so on a context of its own: the
// backup has started, and a caller that gave up meanwhile must not leave the
// slot without an outcome.
func (s *Service) finishRun(ctx context.Context, sc ports.Schedule, run ports.ScheduleRun) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	defer cancel()
	if err := s.deps.Schedules.FinishRun(ctx, sc.ID, run); err != nil {
		return wrapInfra(ErrDatabase, "recording the run's outcome", err)
	}
	return nil
}

// runReasons are the reasons a run records, in words a customer can read, for
// the errors that stop it. The first match wins. An error's own text is never
// used: wrapped causes can carry adapter detail (SQL, host names).
var runReasons = []struct {
	err    error
	reason string
}{
	{ErrOperationInProgress, "a backup or restore was already running for this server"},
	{ErrReprovisioning, "the server was being reprovisioned"},
	{ErrNoSidecar, "the game server has no sidecar to back up its files"},
	{ErrOrderNotFound, "the order no longer exists"},
	{ErrProvisionNotFound, "the game server no longer exists"},
	{ErrLimitReached, "the server is at its backup limit"},
	{ErrInvalidSchedule, "the schedule's settings cannot be read on this server"},
	{ErrInvalidName, "the schedule's name template gives a backup name that is not valid"},
	{ports.ErrLocked, "the backup chosen to make room is locked"},
	{ErrStatusConflict, "the backup chosen to make room changed while it was being deleted"},
	{ErrShuttingDown, "the backup service was restarting"},
	{ErrStorage, "backup storage could not be reached"},
	{ErrCluster, "the game server's file service could not be reached"},
	{ErrDatabase, "the backup database could not be reached"},
}

// runReason returns the reason a run records for err.
func runReason(err error) string {
	if nr := (*noRoomError)(nil); errors.As(err, &nr) {
		return nr.reason()
	}
	for _, r := range runReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "an internal error occurred"
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/exclude"
)

// Service creates, lists, downloads, restores and deletes backups on behalf of
// users. Every backup method checks that the caller owns the order or holds
// ViewAllOrders, and that the provision and backup belong to that order;
// downloads are authorized the same way, against the order's current owner (see
// Options.AllowStaffDownload for staff). Creates and restores are accepted
// synchronously and run in the background on the service's runner; their outcome
// is visible in the backup's Status and Error.
type Service struct {
	deps   Deps
	opts   Options
	log    *slog.Logger
	runner *runner
}

// NewService returns a Service using deps. Zero options mean the defaults (see
// Options). Call Shutdown before the process exits, and run RunRecovery in the
// background so operations of crashed replicas are settled.
func NewService(deps Deps, opts Options) (*Service, error) {
	if err := deps.validate(); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Service{deps: deps, opts: opts, log: opts.Logger}
	s.runner = newRunner(runnerOptions{
		MaxConcurrent:     opts.MaxConcurrentOperations,
		HeartbeatInterval: opts.HeartbeatInterval,
		OperationTimeout:  opts.OperationTimeout,
		CleanupTimeout:    opts.CleanupTimeout,
		Logger:            opts.Logger,
		Heartbeat: func(ctx context.Context, id ports.BackupID, status ports.Status, progress *ports.Progress) error {
			return deps.Repository.Heartbeat(ctx, id, status, opts.Now(), progress)
		},
	})
	return s, nil
}

// CreateRequest is what a user asks of a new backup. The zero value is a
// backup named DefaultName that leaves out only what the data directory's
// .savepointignore file does.
type CreateRequest struct {
	// Name is the backup's name, validated by NewName; empty means DefaultName.
	Name string
	// Excludes are gitignore-style patterns, relative to the data directory, of
	// paths to leave out, applied after the data directory's .savepointignore
	// file. The backup records both sets (Backup.Excludes), and a restore of it
	// keeps the current paths they match. At most 256 patterns of at most 256
	// bytes and 16 wildcards (* ? [) each, without control characters; blank
	// lines and # comments count toward nothing.
	Excludes []string
}

// CreateBackup starts a backup of the provision's server data and returns it in
// status creating. The checks run in this order, so that each refusal names the
// first thing wrong: name; excludes; order, ownership; provision is the order's
// primary deployment; a sidecar exists; no operation in progress; fewer than
// the limit of backups. Each create asks the sidecar to pause the game's writes
// while it archives (see Options.FailWithoutQuiesce). Returns ErrInvalidName,
// ErrInvalidExcludes, ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound,
// ErrNoSidecar, ErrOperationInProgress, ErrReprovisioning, ErrLimitReached,
// ErrShuttingDown, or an error wrapping ErrDatabase.
func (s *Service) CreateBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, req CreateRequest) (ports.Backup, error) {
	ctx = ports.WithActor(ctx, ports.UserActor(user))
	now := s.opts.Now()
	if strings.TrimSpace(req.Name) == "" {
		req.Name = DefaultName(now)
	} else {
		var err error
		if req.Name, err = NewName(req.Name); err != nil {
			return ports.Backup{}, err
		}
	}
	if err := checkExcludes(req.Excludes); err != nil {
		return ports.Backup{}, err
	}
	order, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return ports.Backup{}, err
	}
	return s.create(ctx, order, prov, req, ports.ScheduleID{}, now)
}

// checkExcludes refuses a pattern set over the limits, naming the limit: the
// sidecar would refuse it too, but only once the backup had been accepted.
func checkExcludes(patterns []string) error {
	if err := exclude.Check(patterns, exclude.Limits{}); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidExcludes, err)
	}
	return nil
}

// create is CreateBackup after the caller is authorized and the request is
// valid, shared with scheduled runs so that both keep the same invariants: a
// sidecar exists, no operation in progress, fewer than the limit of backups.
// schedule is the schedule that asks for the backup, zero for a user; now is
// when it was asked.
func (s *Service) create(ctx context.Context, order ports.Order, prov ports.Provision, req CreateRequest, schedule ports.ScheduleID, now time.Time) (ports.Backup, error) {
	sidecar, err := s.idleSidecar(ctx, order.ID, prov)
	if err != nil {
		return ports.Backup{}, err
	}
	// A scheduled run leaves the limit to the repository, which reports a fence
	// before it: rotation must not delete a backup to make room for a run that
	// the fence then skips.
	if schedule.IsZero() {
		count, err := s.deps.Repository.CountByProvision(ctx, prov.ID)
		if err != nil {
			return ports.Backup{}, wrapInfra(ErrDatabase, "counting backups", err)
		}
		if count >= s.opts.MaxBackupsPerProvision {
			return ports.Backup{}, fmt.Errorf("%w: %d of %d", ErrLimitReached, count, s.opts.MaxBackupsPerProvision)
		}
	}
	if s.runner.closing() {
		return ports.Backup{}, ErrShuttingDown // before writing anything that would then need undoing
	}
	b := newBackup(order.ID, prov.ID, req.Name, now)
	b.ScheduleID = schedule
	if err := s.deps.Repository.Create(ctx, b, s.opts.MaxBackupsPerProvision); err != nil {
		return ports.Backup{}, wrapInfra(ErrDatabase, "creating backup", err)
	}
	s.logFor(b).Info("backup accepted", "name", b.Name, "schedule_id", schedule, "excludes", len(req.Excludes))
	opts := ports.ArchiveOptions{Excludes: slices.Clone(req.Excludes), Quiesce: s.quiescePolicy()}
	if err := s.start(ctx, b, s.createJob(b, order, sidecar, opts)); err != nil {
		return ports.Backup{}, err
	}
	// Answer with the times as stored, so that this answer and every later read
	// agree where the store keeps times coarser than the clock (the rest of the
	// record may already have moved on). The work has started either way: a
	// failed read only costs that exactness.
	if stored, err := s.deps.Repository.Find(ctx, b.ID); err == nil {
		b.CreatedAt, b.HeartbeatAt = stored.CreatedAt, stored.HeartbeatAt
	}
	return b, nil
}

// quiescePolicy is what every create asks of the sidecar: a sidecar with no
// method configured reports none and archives as before, so asking costs
// nothing where the game cannot be paused.
func (s *Service) quiescePolicy() ports.QuiescePolicy {
	if s.opts.FailWithoutQuiesce {
		return ports.QuiesceRequired
	}
	return ports.QuiesceContinue
}

// MaxBackupsPerProvision is how many backups a provision may hold (see
// Options.MaxBackupsPerProvision), for clients that show how close it is.
func (s *Service) MaxBackupsPerProvision() int { return s.opts.MaxBackupsPerProvision }

// ListBackups returns the provision's backups, newest first. Returns
// ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound, or an error wrapping
// ErrDatabase.
func (s *Service) ListBackups(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID) ([]ports.Backup, error) {
	_, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return nil, err
	}
	list, err := s.deps.Repository.ListByProvision(ctx, prov.ID)
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "listing backups", err)
	}
	if list == nil {
		list = []ports.Backup{}
	}
	return list, nil
}

// GetBackup returns one backup, which must belong to the order and provision.
// Returns ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound,
// ErrBackupNotFound, or an error wrapping ErrDatabase.
func (s *Service) GetBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, id ports.BackupID) (ports.Backup, error) {
	_, _, b, err := s.authorizeBackup(ctx, user, orderID, provisionID, id)
	return b, err
}

// RestoreBackup starts restoring a ready backup into the provision's server data
// and returns it in status restoring. When the restore ends the backup is ready
// again, with Error set if the restore failed (the archive is intact, so it can be
// retried). Returns ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound,
// ErrBackupNotFound, ErrStatusConflict (not ready, or being deleted), ErrNoSidecar,
// ErrOperationInProgress, ErrReprovisioning, ErrShuttingDown, or an error wrapping
// ErrDatabase.
func (s *Service) RestoreBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, id ports.BackupID) (ports.Backup, error) {
	ctx = ports.WithActor(ctx, ports.UserActor(user))
	order, prov, b, err := s.authorizeBackup(ctx, user, orderID, provisionID, id)
	if err != nil {
		return ports.Backup{}, err
	}
	next, err := Apply(b, Event{Kind: EventRestoreRequested, At: s.opts.Now()})
	if err != nil {
		return ports.Backup{}, err
	}
	sidecar, err := s.idleSidecar(ctx, order.ID, prov)
	if err != nil {
		return ports.Backup{}, err
	}
	if s.runner.closing() {
		return ports.Backup{}, ErrShuttingDown
	}
	if err := s.deps.Repository.Update(ctx, next, b.Status); err != nil {
		return ports.Backup{}, wrapInfra(ErrDatabase, "starting restore", s.notFound(err, ErrBackupNotFound))
	}
	s.logFor(next).Info("restore accepted")
	if err := s.start(ctx, next, s.restoreJob(next, sidecar)); err != nil {
		return ports.Backup{}, err
	}
	return next, nil
}

// DeleteBackup deletes a ready or failed backup that is not locked: its archive,
// its asset and its record, in that order. The backup is first claimed so no
// restore can start on it and no lock be set; if a step fails the claimed record
// stays, and calling DeleteBackup again finishes the job. Returns
// ErrOrderNotFound, ErrUnauthorized, ErrProvisionNotFound, ErrBackupNotFound,
// ErrBackupLocked (whatever its status), ErrStatusConflict (creating or
// restoring), or an error wrapping ErrStorage or ErrDatabase.
func (s *Service) DeleteBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, id ports.BackupID) error {
	ctx = ports.WithActor(ctx, ports.UserActor(user))
	_, _, b, err := s.authorizeBackup(ctx, user, orderID, provisionID, id)
	if err != nil {
		return err
	}
	return s.remove(ctx, b, EventDeleteRequested)
}

// LockBackup locks the backup (locked true), so that it cannot be deleted until
// it is unlocked, or unlocks it (locked false), and returns it as stored. Whoever
// may delete the backup may lock and unlock it; a backup can be locked in any
// status, and stays locked through its creates and restores. Locking a locked
// backup, or unlocking an unlocked one, succeeds. The host deleting the order
// (DeleteOrderBackups) removes locked backups too. Returns ErrOrderNotFound,
// ErrUnauthorized, ErrProvisionNotFound, ErrBackupNotFound, ErrStatusConflict (a
// delete has claimed the backup), or an error wrapping ErrDatabase.
func (s *Service) LockBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, id ports.BackupID, locked bool) (ports.Backup, error) {
	ctx = ports.WithActor(ctx, ports.UserActor(user))
	_, _, b, err := s.authorizeBackup(ctx, user, orderID, provisionID, id)
	if err != nil {
		return ports.Backup{}, err
	}
	kind := EventUnlockRequested
	if locked {
		kind = EventLockRequested
	}
	if _, err := Apply(b, Event{Kind: kind, At: s.opts.Now()}); err != nil {
		return ports.Backup{}, err
	}
	// Only the flag is written, not Apply's record: the backup's operation may
	// have moved it on since it was read.
	stored, err := s.deps.Repository.SetLocked(ctx, b.ID, locked)
	if err != nil {
		return ports.Backup{}, wrapInfra(ErrDatabase, "locking backup", s.notFound(err, ErrBackupNotFound))
	}
	if stored.Locked != b.Locked {
		s.logFor(b).Info("backup lock changed", "locked", locked, "user_id", user)
	}
	return stored, nil
}

// remove deletes a backup the caller may delete, for the reason why
// (EventDeleteRequested or EventOrderDeleted): claims it, then removes its
// archive, asset and record, in an order a retry can always finish.
func (s *Service) remove(ctx context.Context, b ports.Backup, why EventKind) error {
	if _, err := Apply(b, Event{Kind: why, At: s.opts.Now()}); err != nil {
		return err
	}
	b, err := s.deps.Repository.ClaimForDelete(ctx, b.ID, why == EventOrderDeleted)
	if err != nil {
		return wrapInfra(ErrDatabase, "claiming backup for deletion", s.notFound(err, ErrBackupNotFound))
	}
	if err := s.deps.Objects.Delete(ctx, ObjectKey(b.OrderID, b.ID)); err != nil {
		return wrapInfra(ErrStorage, "deleting archive", err)
	}
	if !b.AssetID.IsZero() {
		if err := s.deps.Assets.DeleteAsset(ctx, b.AssetID); err != nil {
			return wrapInfra(ErrDatabase, "deleting asset", err)
		}
	}
	if err := s.deps.Repository.Delete(ctx, b.ID); err != nil && !errors.Is(err, ports.ErrNotFound) {
		return wrapInfra(ErrDatabase, "deleting backup", err)
	}
	s.logFor(b).Info("backup deleted")
	return nil
}

// DeleteOrderBackups removes every backup of the order, under every provision,
// locked ones included: archives, assets and records, and first the order's
// schedules, so that none runs again. The host calls it when it deletes the
// order (a database cascade would remove the records but leave the archives,
// until the orphan sweep finds them); a lock guards a backup against its users
// and rotation, not against its order going. It holds the order's fence while
// it works, so no create or restore can start meanwhile. A failure part-way
// leaves the rest for a retry, which finishes the job. Returns how many backups
// it removed, and ErrBackupInProgress (a create or restore is running),
// ErrReprovisioning (the host holds the fence itself), or an error wrapping
// ErrDatabase or ErrStorage.
func (s *Service) DeleteOrderBackups(ctx context.Context, orderID ports.OrderID) (int, error) {
	ctx = ports.WithActor(ctx, ports.SystemActor)
	fence, err := s.FenceOrder(ctx, orderID)
	if err != nil {
		return 0, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
		defer cancel()
		if err := fence.Release(rctx); err != nil {
			s.log.Warn("could not release the fence after deleting an order's backups; it expires on its own", "order_id", orderID, "err", err)
		}
	}()
	if s.deps.Schedules != nil {
		if _, err := s.deps.Schedules.DeleteByOrder(ctx, orderID); err != nil {
			return 0, wrapInfra(ErrDatabase, "deleting the order's schedules", err)
		}
	}
	list, err := s.deps.Repository.ListByOrder(ctx, orderID)
	if err != nil {
		return 0, wrapInfra(ErrDatabase, "listing the order's backups", err)
	}
	removed := 0
	for _, b := range list {
		if err := s.remove(ctx, b, EventOrderDeleted); err != nil && !errors.Is(err, ErrBackupNotFound) {
			return removed, fmt.Errorf("deleting backup %s: %w", b.ID, err)
		}
		removed++
	}
	return removed, nil
}

// EnsureNoActiveOperation reports whether a backup or restore is running for the
// order. It is only a check: a create may start a moment after it answers. A host
// that tears the game server down holds the order's fence instead (FenceOrder).
// Returns ErrBackupInProgress, or an error wrapping ErrDatabase.
func (s *Service) EnsureNoActiveOperation(ctx context.Context, orderID ports.OrderID) error {
	return s.ensureIdle(ctx, orderID, ErrBackupInProgress)
}

// Shutdown stops accepting creates and restores and waits for running ones until
// ctx ends; those still running then are recorded as interrupted (a create as
// failed, a restore as ready with Error) and Shutdown returns ctx's error, after
// waiting up to Options.CleanupTimeout more for their cleanup.
func (s *Service) Shutdown(ctx context.Context) error {
	return s.runner.Shutdown(ctx)
}

// authorize loads the order and the provision and checks the caller may act on
// them: the caller owns the order or holds ViewAllOrders, and the provision is
// the order's primary deployment.
func (s *Service) authorize(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID) (ports.Order, ports.Provision, error) {
	order, _, err := s.authorizeOrder(ctx, user, orderID, ErrOrderNotFound)
	if err != nil {
		return ports.Order{}, ports.Provision{}, err
	}
	prov, err := s.gameServer(ctx, order, provisionID)
	if err != nil {
		return ports.Order{}, ports.Provision{}, err
	}
	return order, prov, nil
}

// gameServer loads the provision and checks it is the order's primary
// deployment, the one provision that has backups and a schedule.
func (s *Service) gameServer(ctx context.Context, order ports.Order, provisionID ports.ProvisionID) (ports.Provision, error) {
	prov, err := s.deps.Orders.GetProvision(ctx, provisionID)
	if err != nil {
		return ports.Provision{}, wrapInfra(ErrDatabase, "loading provision", s.notFound(err, ErrProvisionNotFound))
	}
	if prov.OrderID != order.ID {
		return ports.Provision{}, ErrProvisionNotFound
	}
	if prov.Kind != ports.KindDeployment || !prov.Primary {
		// Backups exist only for the primary deployment; every route under
		// another provision (its sidecar, say) answers the same way.
		return ports.Provision{}, fmt.Errorf("%w: only the order's primary deployment has backups", ErrProvisionNotFound)
	}
	return prov, nil
}

// authorizeOrder loads the order and checks the caller owns it or holds
// ViewAllOrders (staff reports which). missing is the error for an order that
// does not exist. Returns ErrUnauthorized, missing, or an error wrapping
// ErrDatabase.
func (s *Service) authorizeOrder(ctx context.Context, user ports.UserID, orderID ports.OrderID, missing error) (order ports.Order, staff bool, err error) {
	order, err = s.deps.Orders.GetOrder(ctx, orderID)
	if err != nil {
		return ports.Order{}, false, wrapInfra(ErrDatabase, "loading order", s.notFound(err, missing))
	}
	if order.OwnerID == user {
		return order, false, nil
	}
	staff, err = s.deps.Permissions.CanViewAllOrders(ctx, user)
	if err != nil {
		return ports.Order{}, false, wrapInfra(ErrDatabase, "checking permissions", err)
	}
	if !staff {
		return ports.Order{}, false, ErrUnauthorized
	}
	return order, true, nil
}

// authorizeBackup is authorize plus the backup, which must sit under the same
// order and provision: a backup is only reachable through its own path.
func (s *Service) authorizeBackup(ctx context.Context, user ports.UserID, orderID ports.OrderID, provisionID ports.ProvisionID, id ports.BackupID) (ports.Order, ports.Provision, ports.Backup, error) {
	order, prov, err := s.authorize(ctx, user, orderID, provisionID)
	if err != nil {
		return order, prov, ports.Backup{}, err
	}
	b, err := s.deps.Repository.Find(ctx, id)
	if err != nil {
		return order, prov, ports.Backup{}, wrapInfra(ErrDatabase, "loading backup", s.notFound(err, ErrBackupNotFound))
	}
	if b.OrderID != order.ID || b.ProvisionID != prov.ID {
		return order, prov, ports.Backup{}, ErrBackupNotFound
	}
	return order, prov, b, nil
}

// sidecar finds the provision through which the game server's sidecar is
// reached: the game server itself when it says so (HasSidecar), otherwise the
// order's provision with the sidecar role.
func (s *Service) sidecar(ctx context.Context, gameServer ports.Provision) (ports.Provision, error) {
	if gameServer.HasSidecar {
		return gameServer, nil
	}
	provs, err := s.deps.Orders.ListProvisions(ctx, gameServer.OrderID)
	if err != nil {
		return ports.Provision{}, wrapInfra(ErrDatabase, "listing provisions", err)
	}
	for _, p := range provs {
		if p.Role == ports.RoleSidecar && p.OrderID == gameServer.OrderID {
			return p, nil
		}
	}
	return ports.Provision{}, ErrNoSidecar
}

// idleSidecar is what a create and a restore check before anything else of
// theirs: the game server has a sidecar, and the order no operation running.
// It returns the sidecar's provision.
func (s *Service) idleSidecar(ctx context.Context, order ports.OrderID, gameServer ports.Provision) (ports.Provision, error) {
	sidecar, err := s.sidecar(ctx, gameServer)
	if err != nil {
		return ports.Provision{}, err
	}
	if err := s.ensureIdle(ctx, order, ErrOperationInProgress); err != nil {
		return ports.Provision{}, err
	}
	return sidecar, nil
}

func (s *Service) ensureIdle(ctx context.Context, orderID ports.OrderID, busy error) error {
	active, err := s.deps.Repository.HasActiveOperation(ctx, orderID)
	if err != nil {
		return wrapInfra(ErrDatabase, "checking for active operations", err)
	}
	if active {
		return busy
	}
	return nil
}

// notFound turns the ports' generic ErrNotFound into the specific domain error.
func (s *Service) notFound(err, specific error) error {
	if errors.Is(err, ports.ErrNotFound) {
		return specific
	}
	return err
}

// start hands an accepted operation to the runner, on behalf of the actor in
// ctx (who the operation's events are for). If the runner refuses (shutting
// down), the operation is settled at once rather than left active.
func (s *Service) start(ctx context.Context, b ports.Backup, j job) error {
	j.Actor = ports.ActorFrom(ctx)
	if err := s.runner.Go(j); err != nil {
		ctx, cancel := context.WithTimeout(ports.WithActor(context.Background(), j.Actor), s.opts.CleanupTimeout)
		defer cancel()
		j.Fail(ctx, err)
		return err
	}
	return nil
}

func (s *Service) logFor(b ports.Backup) *slog.Logger {
	return s.log.With("backup_id", b.ID, "order_id", b.OrderID)
}

package portstest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Host records the host platform's rows that backups refer to. A repository with
// foreign keys (PostgreSQL) needs a real order and provision behind every backup;
// the suite creates them, and the assets its backups name, through Host before
// it creates backups.
type Host interface {
	CreateOrder(ctx context.Context, o ports.Order) error
	CreateProvision(ctx context.Context, p ports.Provision) error
	CreateAsset(ctx context.Context, a ports.Asset) error
}

// RepositoryHarness describes a ports.Repository implementation to the contract
// suite.
type RepositoryHarness struct {
	// New returns a repository holding no backups, for one subtest, and the Host
	// whose orders, provisions and assets its backups may refer to. It registers
	// its own cleanup. Subtests run in parallel, so New must be safe to call
	// concurrently.
	New func(t *testing.T) (ports.Repository, Host)
}

// RunRepositoryTests runs the Repository contract suite: every method's
// documented semantics, and concurrency tests that only an implementation
// enforcing the invariants atomically passes. Each behaviour runs in a parallel
// subtest on a repository of its own. What the suite requires beyond the port's
// doc comments is listed in the package documentation.
func RunRepositoryTests(t *testing.T, h RepositoryHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: RepositoryHarness.New is nil")
	}
	setUp := func(t *testing.T) repositorySuite {
		t.Parallel()
		repo, host := h.New(t)
		return repositorySuite{t: t, repo: repo, host: host, tick: new(atomic.Int64)}
	}
	run(t, setUp, []behaviour[repositorySuite]{
		{"a created backup is found with every field it was created with", repositorySuite.createdBackupIsFound},
		{"a backup created without a creation time is stamped with the current time", repositorySuite.createdWithoutTimeIsStampedNow},
		{"finding an unknown backup reports not found", repositorySuite.findUnknown},
		{"create refuses a backup that is not in status creating, or lacks an ID", repositorySuite.createRefusesInvalid},
		{"create refuses a second backup while the order has one being created", repositorySuite.createRefusedWhileCreating},
		{"create refuses a backup while the order has one being restored", repositorySuite.createRefusedWhileRestoring},
		{"one order's operation does not hold up another order", repositorySuite.ordersDoNotHoldUpEachOther},
		{"create succeeds again once the running backup has finished or failed", repositorySuite.createAfterFinishedOrFailed},
		{"create enforces the limit per provision, counting every status", repositorySuite.createEnforcesLimit},
		{"a provision at its limit does not limit another provision", repositorySuite.limitIsPerProvision},
		{"when the order is busy and the provision full, the operation in progress is reported", repositorySuite.busyOrderWinsOverFullProvision},
		{"create refuses a duplicate ID without blaming an invariant", repositorySuite.createRefusesDuplicateID},
		{"list returns the provision's backups newest first and nothing else", repositorySuite.listNewestFirst},
		{"backups created at the same instant are listed by ID, newest first", repositorySuite.listTiesByID},
		{"an unknown provision has no backups", repositorySuite.listUnknownProvision},
		{"count includes backups in every status, claimed ones too", repositorySuite.countEveryStatus},
		{"an order has an operation in progress only while creating or restoring", repositorySuite.activeOnlyWhileCreatingOrRestoring},
		{"update moves the status and writes every mutable field, and nothing else", repositorySuite.updateWritesMutableFields},
		{"update clears fields set to their zero value", repositorySuite.updateClearsZeroFields},
		{"update from a status the backup has left is a status conflict", repositorySuite.updateFromLeftStatus},
		{"of two updates from the same status only the first applies", repositorySuite.secondUpdateFromSameStatus},
		{"update of an unknown backup reports not found", repositorySuite.updateUnknown},
		{"a restore while the order has another active backup reports the operation in progress", repositorySuite.restoreWhileOrderBusy},
		{"update refuses a backup claimed for deletion", repositorySuite.updateRefusesClaimed},
		{"update refuses an invalid status", repositorySuite.updateRefusesInvalidStatus},
		{"skipped files round-trip through create, update and find, in order and exactly", repositorySuite.skippedRoundTrip},
		{"excludes and the quiesce report round-trip through update and find, and update replaces them", repositorySuite.excludesQuiesceRoundTrip},
		{"create and update refuse too many skipped files, or a count below the list", repositorySuite.skippedRefused},
		{"a backup is found by the asset that records its archive", repositorySuite.findByAsset},
		{"list by order returns the order's backups under every provision, newest first", repositorySuite.listByOrder},
		{"missing reports the IDs no backup has, in the order given", repositorySuite.missing},
		{"a fence takes a free slot, and a second fence is refused", repositorySuite.fenceTakesSlot},
		{"create is refused as fenced while a fence holds the slot, even at the limit", repositorySuite.createWhileFenced},
		{"a restore is refused as fenced, and updates that leave the slot free go ahead", repositorySuite.restoreWhileFenced},
		{"a fence cannot be taken while a create or a restore holds the slot", repositorySuite.fenceWhileBusy},
		{"releasing the fence frees the slot, and releasing it again is not an error", repositorySuite.releaseFence},
		{"a fence's heartbeat and release by a wrong ID or order do nothing", repositorySuite.fenceWrongID},
		{"a fence's heartbeat is recorded, and a fence acquired without a time is stamped now", repositorySuite.fenceHeartbeat},
		{"expiring fences releases only those silent since before the cutoff, freeing their slots", repositorySuite.expireFences},
		{"heartbeat records the time while the backup is in the given status", repositorySuite.heartbeatRecorded},
		{"heartbeat after the operation was settled is a status conflict", repositorySuite.heartbeatAfterSettled},
		{"heartbeat saves progress, which never moves backwards and ends with the operation", repositorySuite.heartbeatProgress},
		{"heartbeat of an unknown backup reports not found", repositorySuite.heartbeatUnknown},
		{"stale operations are the active backups silent since before the cutoff", repositorySuite.listStale},
		{"a ready or failed backup can be claimed for deletion, and claimed again", repositorySuite.claimSettled},
		{"a backup being created or restored cannot be claimed for deletion", repositorySuite.claimActiveRefused},
		{"claiming an unknown backup reports not found", repositorySuite.claimUnknown},
		{"delete removes a claimed backup, and a second delete reports not found", repositorySuite.deleteClaimed},
		{"delete refuses a backup that was not claimed", repositorySuite.deleteUnclaimedRefused},
		{"deleting an unknown backup reports not found", repositorySuite.deleteUnknown},
		{"create stores the lock and the schedule, and find and the lists return them", repositorySuite.lockAndScheduleRoundTrip},
		{"a backup can be locked and unlocked in every status, twice over, and comes back as stored", repositorySuite.setLockedEveryStatus},
		{"locking an unknown backup reports not found", repositorySuite.setLockedUnknown},
		{"a backup claimed for deletion can be neither locked nor unlocked", repositorySuite.setLockedClaimedRefused},
		{"update never changes the lock: a create finishing keeps a lock set meanwhile", repositorySuite.updateKeepsLock},
		{"a locked backup cannot be claimed for deletion, whatever its status, until it is unlocked", repositorySuite.claimLockedRefused},
		{"a claim even if locked takes a locked backup, and a plain retry of it is refused", repositorySuite.claimEvenIfLocked},
		// Concurrency: each of these fails for an implementation that checks in one
		// step and writes in another. A lost race is a matter of timing, so each race
		// is run for several rounds, each on fresh orders.
		{"exactly one of 50 concurrent creates for one order succeeds", repositorySuite.raceCreates},
		{"exactly one of 50 concurrent creates for one order across five provisions succeeds", repositorySuite.raceCreatesAcrossProvisions},
		{"concurrent creates for different orders all succeed", repositorySuite.raceCreatesForOtherOrders},
		{"30 racing create-and-finish calls never take a provision holding 8 backups past 10", repositorySuite.raceCreatesAtLimit},
		{"a restore and a delete racing on one backup never both win", repositorySuite.raceRestoreAndDelete},
		{"locks and deletes racing on one backup never both win, 50 rounds", repositorySuite.raceLockAndDelete},
		{"unlocks and deletes racing on a locked backup never leave it claimed and locked, 50 rounds", repositorySuite.raceUnlockAndDelete},
		{"a fence and creates racing for a free slot: exactly one wins, 50 rounds", repositorySuite.raceFenceAndCreates},
		{"a fence and restores racing for a free slot: exactly one wins, 50 rounds", repositorySuite.raceFenceAndRestores},
		{"exactly one of 20 concurrent compare-and-set updates applies", repositorySuite.raceUpdates},
	})
}

// defaultLimit is the service's default number of backups per provision.
const defaultLimit = 10

// repositorySuite is one behaviour's repository, host and clock. Its methods are
// the behaviours RunRepositoryTests lists, and helpers that fail the test when a
// step that should work does not.
type repositorySuite struct {
	t    *testing.T
	repo ports.Repository
	host Host
	tick *atomic.Int64 // shared by the copies the value receivers make
}

// server is an order with its primary game-server provision: what backups belong
// to.
type server struct {
	order ports.Order
	prov  ports.Provision
}

func (s repositorySuite) createdBackupIsFound(t *testing.T) {
	b := s.newBackup(s.newServer())
	b.Name = "Before the 1.21 update ⛏"
	if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	s.assertStored(b)
}

func (s repositorySuite) createdWithoutTimeIsStampedNow(t *testing.T) {
	b := s.newBackup(s.newServer())
	b.CreatedAt = time.Time{}
	b.HeartbeatAt = time.Time{}
	if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got := s.find(b.ID)
	// The store's clock may be another machine's (a database server).
	if d := time.Since(got.CreatedAt); d < -5*time.Minute || d > 5*time.Minute {
		t.Errorf("CreatedAt = %v, want about now (%v)", got.CreatedAt, time.Now())
	}
}

func (s repositorySuite) findUnknown(t *testing.T) {
	_, err := s.repo.Find(t.Context(), ports.NewBackupID())
	wantErr(t, "Find", err, ports.ErrNotFound)
}

func (s repositorySuite) createRefusesInvalid(t *testing.T) {
	srv := s.newServer()
	for _, tc := range []struct {
		name string
		edit func(*ports.Backup)
	}{
		{"status ready", func(b *ports.Backup) { b.Status = ports.StatusReady }},
		{"status restoring", func(b *ports.Backup) { b.Status = ports.StatusRestoring }},
		{"no status", func(b *ports.Backup) { b.Status = "" }},
		{"no order", func(b *ports.Backup) { b.OrderID = ports.OrderID{} }},
		{"no provision", func(b *ports.Backup) { b.ProvisionID = ports.ProvisionID{} }},
		{"negative progress", func(b *ports.Backup) { b.Progress.DoneBytes = -1 }},
		{"progress without a start", func(b *ports.Backup) { b.Progress.StartedAt = time.Time{} }},
	} {
		b := s.newBackup(srv)
		tc.edit(&b)
		if err := s.repo.Create(t.Context(), b, defaultLimit); err == nil {
			t.Errorf("Create with %s succeeded, want an error", tc.name)
		}
	}
	b := s.newBackup(srv)
	b.ID = ports.BackupID{}
	if err := s.repo.Create(t.Context(), b, defaultLimit); err == nil {
		t.Error("Create without an ID succeeded, want an error")
	}
	s.assertCount(srv.prov.ID, 0)
}

func (s repositorySuite) createRefusedWhileCreating(t *testing.T) {
	srv := s.newServer()
	first := s.create(srv)
	err := s.repo.Create(t.Context(), s.newBackup(srv), defaultLimit)
	wantErr(t, "second Create", err, ports.ErrOperationInProgress)
	s.assertCount(srv.prov.ID, 1)
	s.assertStored(first)
}

func (s repositorySuite) createRefusedWhileRestoring(t *testing.T) {
	srv := s.newServer()
	s.restoring(srv)
	err := s.repo.Create(t.Context(), s.newBackup(srv), defaultLimit)
	wantErr(t, "Create during a restore", err, ports.ErrOperationInProgress)
	s.assertCount(srv.prov.ID, 1)
}

func (s repositorySuite) ordersDoNotHoldUpEachOther(t *testing.T) {
	s.create(s.newServer())
	s.create(s.newServer())
}

func (s repositorySuite) createAfterFinishedOrFailed(t *testing.T) {
	srv := s.newServer()
	s.finish(s.create(srv))
	s.fail(s.create(srv))
	s.create(srv)
	s.assertCount(srv.prov.ID, 3)
}

func (s repositorySuite) createEnforcesLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    int
		existing []ports.Status
		want     error
	}{
		{"one below the limit", 3, []ports.Status{ports.StatusReady, ports.StatusFailed}, nil},
		{"at the limit with ready and failed backups", 3, []ports.Status{ports.StatusReady, ports.StatusFailed, ports.StatusReady}, ports.ErrLimitReached},
		{"over a limit that was lowered", 2, []ports.Status{ports.StatusFailed, ports.StatusFailed, ports.StatusFailed}, ports.ErrLimitReached},
		{"a limit of zero", 0, nil, ports.ErrLimitReached},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := s.newServer()
			for _, st := range tc.existing {
				s.settled(srv, st)
			}
			err := s.repo.Create(t.Context(), s.newBackup(srv), tc.limit)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Create: %v, want success", err)
				}
				s.assertCount(srv.prov.ID, len(tc.existing)+1)
				return
			}
			wantErr(t, "Create", err, tc.want)
			s.assertCount(srv.prov.ID, len(tc.existing))
		})
	}
}

func (s repositorySuite) limitIsPerProvision(t *testing.T) {
	full := s.newServer()
	s.settled(full, ports.StatusReady)
	s.settled(full, ports.StatusReady)
	other := s.newServer()
	if err := s.repo.Create(t.Context(), s.newBackup(other), 2); err != nil {
		t.Fatalf("Create on another provision: %v", err)
	}
}

func (s repositorySuite) busyOrderWinsOverFullProvision(t *testing.T) {
	srv := s.newServer()
	s.create(srv)
	err := s.repo.Create(t.Context(), s.newBackup(srv), 1)
	wantErr(t, "Create", err, ports.ErrOperationInProgress)
}

func (s repositorySuite) createRefusesDuplicateID(t *testing.T) {
	srv := s.newServer()
	b := s.finish(s.create(srv))
	again := s.newBackup(srv)
	again.ID = b.ID
	err := s.repo.Create(t.Context(), again, defaultLimit)
	if err == nil || errors.Is(err, ports.ErrOperationInProgress) || errors.Is(err, ports.ErrLimitReached) {
		t.Fatalf("Create with a duplicate ID: %v, want an error that is neither ErrOperationInProgress nor ErrLimitReached", err)
	}
	s.assertStored(b)
}

func (s repositorySuite) listNewestFirst(t *testing.T) {
	srv := s.newServer()
	// Inserted out of creation order, so insertion order cannot pass for it.
	mid := s.newBackup(srv)
	old := s.newBackup(srv)
	old.CreatedAt = mid.CreatedAt.Add(-time.Hour)
	newest := s.newBackup(srv)
	for _, b := range []ports.Backup{mid, old, newest} {
		if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
			t.Fatalf("Create: %v", err)
		}
		s.finish(b)
	}
	s.create(s.newServer()) // another provision's backup
	got := s.list(srv.prov.ID)
	assertIDs(t, "ListByProvision", got, []ports.BackupID{newest.ID, mid.ID, old.ID})
	for _, b := range got {
		s.assertStored(b) // the listed records are the stored ones
	}
}

func (s repositorySuite) listTiesByID(t *testing.T) {
	srv := s.newServer()
	first, second := s.newBackup(srv), s.newBackup(srv)
	second.CreatedAt = first.CreatedAt
	if first.ID.String() > second.ID.String() {
		first, second = second, first
	}
	for _, b := range []ports.Backup{first, second} {
		if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
			t.Fatalf("Create: %v", err)
		}
		s.finish(b)
	}
	assertIDs(t, "ListByProvision", s.list(srv.prov.ID), []ports.BackupID{second.ID, first.ID})
}

func (s repositorySuite) listUnknownProvision(t *testing.T) {
	s.create(s.newServer())
	unknown := ports.NewProvisionID()
	if got := s.list(unknown); len(got) != 0 {
		t.Errorf("ListByProvision = %d backups, want none", len(got))
	}
	s.assertCount(unknown, 0)
}

func (s repositorySuite) countEveryStatus(t *testing.T) {
	srv := s.newServer()
	s.settled(srv, ports.StatusReady)
	s.settled(srv, ports.StatusFailed)
	s.claim(s.settled(srv, ports.StatusReady).ID)
	s.restoring(srv)
	s.assertCount(srv.prov.ID, 4)
}

func (s repositorySuite) activeOnlyWhileCreatingOrRestoring(t *testing.T) {
	srv, other := s.newServer(), s.newServer()
	s.assertActive(srv.order.ID, false, "with no backups")
	b := s.create(srv)
	s.assertActive(srv.order.ID, true, "while creating")
	s.assertActive(other.order.ID, false, "for another order")
	b = s.finish(b)
	s.assertActive(srv.order.ID, false, "once ready")
	b = s.startRestore(b)
	s.assertActive(srv.order.ID, true, "while restoring")
	s.move(b, ports.StatusRestoring, func(b *ports.Backup) { b.Status = ports.StatusReady })
	s.assertActive(srv.order.ID, false, "after the restore")
	s.fail(s.create(srv))
	s.assertActive(srv.order.ID, false, "once failed")
}

func (s repositorySuite) updateWritesMutableFields(t *testing.T) {
	srv := s.newServer()
	b := s.create(srv)
	asset := s.newAsset(srv)
	next := b
	next.Status = ports.StatusReady
	next.AssetID = asset.ID
	next.SizeBytes = 5 << 30
	next.SHA256 = digest(b.ID.String())
	next.Error = "a warning worth keeping"
	next.CompletedAt = s.next()
	next.HeartbeatAt = s.next()
	next.LastRestoredAt = s.next()
	next.Skipped = []ports.SkippedFile{{Path: "world/level.dat_old", Reason: "permission denied"}}
	next.SkippedCount = 3
	// Immutable fields: an update must not touch them.
	next.Name = "renamed"
	next.CreatedAt = s.next()
	next.OrderID = ports.NewOrderID()
	next.ProvisionID = ports.NewProvisionID()
	if err := s.repo.Update(t.Context(), next, ports.StatusCreating); err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := next
	want.Name, want.CreatedAt, want.OrderID, want.ProvisionID = b.Name, b.CreatedAt, b.OrderID, b.ProvisionID
	s.assertStored(want)
}

func (s repositorySuite) updateClearsZeroFields(t *testing.T) {
	srv := s.newServer()
	b := s.move(s.ready(srv), ports.StatusReady, func(b *ports.Backup) {
		b.Status = ports.StatusRestoring
		b.Error = "the last restore failed"
		b.HeartbeatAt = s.next()
		b.Skipped = []ports.SkippedFile{{Path: "logs/latest.log", Reason: "changed while it was being read"}}
		b.SkippedCount = 1
	})
	cleared := b
	cleared.Status = ports.StatusReady
	cleared.Skipped = nil
	cleared.SkippedCount = 0
	cleared.Error = ""
	cleared.HeartbeatAt = time.Time{}
	cleared.AssetID = ports.AssetID{}
	cleared.SizeBytes = 0
	cleared.SHA256 = ""
	cleared.CompletedAt = time.Time{}
	if err := s.repo.Update(t.Context(), cleared, ports.StatusRestoring); err != nil {
		t.Fatalf("Update: %v", err)
	}
	s.assertStored(cleared)
}

func (s repositorySuite) updateFromLeftStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		from ports.Status
		to   ports.Status
	}{
		{"a creating backup updated as if ready", ports.StatusReady, ports.StatusRestoring},
		{"a creating backup updated as if restoring", ports.StatusRestoring, ports.StatusReady},
		{"a creating backup updated as if failed", ports.StatusFailed, ports.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.create(s.newServer())
			next := b
			next.Status = tc.to
			err := s.repo.Update(t.Context(), next, tc.from)
			wantErr(t, "Update", err, ports.ErrStatusConflict)
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) secondUpdateFromSameStatus(t *testing.T) {
	b := s.create(s.newServer())
	failed := s.fail(b)
	ready := b
	ready.Status = ports.StatusReady
	err := s.repo.Update(t.Context(), ready, ports.StatusCreating)
	wantErr(t, "second Update", err, ports.ErrStatusConflict)
	s.assertStored(failed)
}

func (s repositorySuite) updateUnknown(t *testing.T) {
	b := s.newBackup(s.newServer())
	b.Status = ports.StatusFailed
	err := s.repo.Update(t.Context(), b, ports.StatusCreating)
	wantErr(t, "Update", err, ports.ErrNotFound)
}

func (s repositorySuite) restoreWhileOrderBusy(t *testing.T) {
	srv := s.newServer()
	b := s.ready(srv)
	s.create(srv)
	next := b
	next.Status = ports.StatusRestoring
	err := s.repo.Update(t.Context(), next, ports.StatusReady)
	wantErr(t, "Update to restoring", err, ports.ErrOperationInProgress)
	s.assertStored(b)
}

func (s repositorySuite) updateRefusesClaimed(t *testing.T) {
	for _, to := range []ports.Status{ports.StatusRestoring, ports.StatusFailed, ports.StatusReady} {
		t.Run("to "+string(to), func(t *testing.T) {
			claimed := s.claim(s.ready(s.newServer()).ID)
			next := claimed
			next.Status = to
			next.Error = "must not be written"
			err := s.repo.Update(t.Context(), next, ports.StatusReady)
			wantErr(t, "Update", err, ports.ErrStatusConflict)
			s.assertStored(claimed)
		})
	}
}

func (s repositorySuite) updateRefusesInvalidStatus(t *testing.T) {
	b := s.create(s.newServer())
	next := b
	next.Status = "archived"
	if err := s.repo.Update(t.Context(), next, ports.StatusCreating); err == nil {
		t.Fatal("Update to an invalid status succeeded")
	}
	s.assertStored(b)
}

// excludesQuiesceRoundTrip: what a create records when its backup becomes
// ready comes back exactly. Paused times are whole milliseconds, the
// precision a store must keep.
func (s repositorySuite) excludesQuiesceRoundTrip(t *testing.T) {
	srv := s.newServer()
	b := s.create(srv)
	excludes := []string{"logs/", "cache/", "*.tmp", "!keep.tmp", "plugins/Ünïcödé ⛏/", `we\ird "name"`}
	ready := s.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusReady
		b.Excludes = slices.Clone(excludes)
		b.Quiesce = ports.QuiesceReport{Method: "rcon", Paused: 1850 * time.Millisecond, Warning: "save-on failed: connection refused"}
		b.Progress = nil
	})
	excludes[0] = "changed by the caller after Update"
	s.assertStored(ready)
	if got := s.find(b.ID); got.Quiesce != ready.Quiesce || !slices.Equal(got.Excludes, ready.Excludes) {
		t.Errorf("found excludes %q and quiesce %+v, want %q and %+v", got.Excludes, got.Quiesce, ready.Excludes, ready.Quiesce)
	}
	if got := s.list(srv.prov.ID); len(got) != 1 || !sameBackup(got[0], ready) {
		t.Errorf("listed backups differ from the stored one: %v", got)
	}
	// A restore that ends writes the record again; what the create recorded stays
	// only because the record carries it, and a replacement replaces it.
	cleared := s.move(ready, ports.StatusReady, func(b *ports.Backup) {
		b.Excludes = nil
		b.Quiesce = ports.QuiesceReport{Method: "exec"}
	})
	if got := s.find(b.ID); len(got.Excludes) != 0 || got.Quiesce != cleared.Quiesce {
		t.Errorf("after an update without excludes: %q and %+v, want none and %+v", got.Excludes, got.Quiesce, cleared.Quiesce)
	}
}

func (s repositorySuite) skippedRoundTrip(t *testing.T) {
	srv := s.newServer()
	b := s.newBackup(srv)
	b.Skipped = []ports.SkippedFile{
		{Path: "world/session.lock", Reason: "changed while it was being read"},
		{Path: "plugins/Ünïcödé ⛏/config.yml", Reason: `permission denied: "open" failed`},
		{Path: "run/server.sock", Reason: "a socket"},
	}
	b.SkippedCount = 7
	if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	stored := b
	stored.Skipped = slices.Clone(b.Skipped)
	b.Skipped[0].Reason = "changed by the caller after Create"
	s.assertStored(stored)

	// Each update replaces the list: reordered and shorter, then full, then empty.
	ready := s.move(stored, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusReady
		b.Skipped = []ports.SkippedFile{b.Skipped[2], b.Skipped[0]}
		b.SkippedCount = 2
	})
	s.assertStored(ready)
	assertIDs(t, "ListByProvision", s.list(srv.prov.ID), []ports.BackupID{ready.ID})
	if got := s.list(srv.prov.ID)[0]; !sameBackup(got, ready) {
		t.Errorf("listed backup differs:\n got %s\nwant %s", describeBackup(got), describeBackup(ready))
	}
	full := s.move(ready, ports.StatusReady, func(b *ports.Backup) {
		b.Skipped = make([]ports.SkippedFile, ports.MaxSkippedListed)
		for i := range b.Skipped {
			b.Skipped[i] = ports.SkippedFile{Path: fmt.Sprintf("world/region/r.%d.0.mca", i), Reason: "permission denied"}
		}
		b.SkippedCount = 12345
	})
	s.assertStored(full)
	for _, none := range [][]ports.SkippedFile{{}, nil} {
		cleared := s.move(full, ports.StatusReady, func(b *ports.Backup) { b.Skipped, b.SkippedCount = none, 0 })
		if got := s.find(cleared.ID); len(got.Skipped) != 0 || got.SkippedCount != 0 {
			t.Errorf("after clearing with %#v: Skipped = %v, SkippedCount = %d; want none", none, got.Skipped, got.SkippedCount)
		}
	}
}

func (s repositorySuite) skippedRefused(t *testing.T) {
	tooMany := make([]ports.SkippedFile, ports.MaxSkippedListed+1)
	for i := range tooMany {
		tooMany[i] = ports.SkippedFile{Path: fmt.Sprintf("f%d", i), Reason: "a socket"}
	}
	for _, tc := range []struct {
		name    string
		skipped []ports.SkippedFile
		count   int
	}{
		{"more than MaxSkippedListed", tooMany, len(tooMany)},
		{"a count below the list", tooMany[:3], 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := s.newServer()
			b := s.newBackup(srv)
			b.Skipped, b.SkippedCount = tc.skipped, tc.count
			if err := s.repo.Create(t.Context(), b, defaultLimit); err == nil {
				t.Error("Create succeeded")
			}
			s.assertCount(srv.prov.ID, 0)
			created := s.create(srv)
			next := created
			next.Status = ports.StatusReady
			next.Skipped, next.SkippedCount = tc.skipped, tc.count
			if err := s.repo.Update(t.Context(), next, ports.StatusCreating); err == nil {
				t.Error("Update succeeded")
			}
			s.assertStored(created)
		})
	}
}

func (s repositorySuite) findByAsset(t *testing.T) {
	srv := s.newServer()
	s.ready(srv)
	b := s.create(srv)
	archive := ports.Asset{
		ID: ports.ArchiveAssetID(b.ID), OwnerID: srv.order.OwnerID, Key: "backups/" + b.ID.String() + ".tar.gz",
		FileName: "archive.tar.gz", ContentType: "application/gzip", SizeBytes: 4321, SHA256: digest("archive"), CreatedAt: s.next(),
	}
	if err := s.host.CreateAsset(t.Context(), archive); err != nil {
		t.Fatalf("host: creating asset: %v", err)
	}
	b = s.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status, b.AssetID, b.SizeBytes, b.CompletedAt = ports.StatusReady, archive.ID, archive.SizeBytes, s.next()
	})
	s.create(srv) // a backup without an asset yet
	got, err := s.repo.FindByAsset(t.Context(), archive.ID)
	if err != nil {
		t.Fatalf("FindByAsset: %v", err)
	}
	if !sameBackup(got, b) {
		t.Errorf("FindByAsset:\n got %s\nwant %s", describeBackup(got), describeBackup(b))
	}
	for name, id := range map[string]ports.AssetID{"an unknown asset": ports.NewAssetID(), "no asset": {}} {
		_, err := s.repo.FindByAsset(t.Context(), id)
		wantErr(t, "FindByAsset of "+name, err, ports.ErrNotFound)
	}
}

func (s repositorySuite) listByOrder(t *testing.T) {
	srv := s.newServer()
	second := server{order: srv.order, prov: s.newProvision(srv.order.ID, false)}
	var want []ports.BackupID
	for _, on := range []server{srv, second, srv, second} {
		want = append(want, s.ready(on).ID)
	}
	want = append(want, s.create(second).ID)
	slices.Reverse(want)
	other := s.newServer()
	s.ready(other)
	got, err := s.repo.ListByOrder(t.Context(), srv.order.ID)
	if err != nil {
		t.Fatalf("ListByOrder: %v", err)
	}
	assertIDs(t, "ListByOrder", got, want)
	for _, b := range got {
		s.assertStored(b)
	}
	if none, err := s.repo.ListByOrder(t.Context(), ports.NewOrderID()); err != nil || len(none) != 0 {
		t.Errorf("ListByOrder of an unknown order = %d backups, %v; want none", len(none), err)
	}
}

func (s repositorySuite) missing(t *testing.T) {
	srv := s.newServer()
	kept := s.ready(srv)
	gone := s.claim(s.fail(s.create(srv)).ID)
	if err := s.repo.Delete(t.Context(), gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	running := s.create(srv)
	unknown1, unknown2 := ports.NewBackupID(), ports.NewBackupID()
	for _, tc := range []struct {
		name      string
		ids, want []ports.BackupID
	}{
		{"a mix", []ports.BackupID{unknown2, kept.ID, gone.ID, running.ID, unknown1}, []ports.BackupID{unknown2, gone.ID, unknown1}},
		{"none missing", []ports.BackupID{running.ID, kept.ID}, nil},
		{"an empty batch", []ports.BackupID{}, nil},
		{"no batch", nil, nil},
	} {
		got, err := s.repo.Missing(t.Context(), tc.ids)
		if err != nil {
			t.Errorf("Missing with %s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Missing with %s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func (s repositorySuite) fenceTakesSlot(t *testing.T) {
	srv, other := s.newServer(), s.newServer()
	f := s.fence(srv.order.ID)
	wantErr(t, "second AcquireFence", s.repo.AcquireFence(t.Context(), s.newFence(srv.order.ID)), ports.ErrFenced)
	wantErr(t, "AcquireFence with the holder's ID", s.repo.AcquireFence(t.Context(), f), ports.ErrFenced)
	s.fence(other.order.ID)
	s.assertActive(srv.order.ID, false, "while fenced")
}

func (s repositorySuite) createWhileFenced(t *testing.T) {
	srv := s.newServer()
	s.settled(srv, ports.StatusReady)
	s.fence(srv.order.ID)
	wantErr(t, "Create", s.repo.Create(t.Context(), s.newBackup(srv), defaultLimit), ports.ErrFenced)
	wantErr(t, "Create at the limit", s.repo.Create(t.Context(), s.newBackup(srv), 1), ports.ErrFenced)
	s.assertCount(srv.prov.ID, 1)
	s.create(s.newServer()) // another order is not fenced
}

func (s repositorySuite) restoreWhileFenced(t *testing.T) {
	srv := s.newServer()
	b := s.ready(srv)
	claimed := s.claim(s.ready(srv).ID)
	s.fence(srv.order.ID)
	restoring := b
	restoring.Status, restoring.HeartbeatAt = ports.StatusRestoring, s.next()
	wantErr(t, "Update to restoring", s.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrFenced)
	s.assertStored(b)
	restoring.ID = claimed.ID
	wantErr(t, "Update of a claimed backup to restoring", s.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrStatusConflict)
	restoring.ID = ports.NewBackupID()
	wantErr(t, "Update of an unknown backup to restoring", s.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrNotFound)
	s.move(b, ports.StatusReady, func(b *ports.Backup) { b.Error = "the last restore failed" })
	s.move(b, ports.StatusReady, func(b *ports.Backup) { b.Status = ports.StatusFailed })
}

func (s repositorySuite) fenceWhileBusy(t *testing.T) {
	creating, restoring := s.newServer(), s.newServer()
	b := s.create(creating)
	s.restoring(restoring)
	for _, srv := range []server{creating, restoring} {
		wantErr(t, "AcquireFence", s.repo.AcquireFence(t.Context(), s.newFence(srv.order.ID)), ports.ErrOperationInProgress)
	}
	s.finish(b)
	s.fence(creating.order.ID)
}

func (s repositorySuite) releaseFence(t *testing.T) {
	srv := s.newServer()
	f := s.fence(srv.order.ID)
	for range 2 {
		if err := s.repo.ReleaseFence(t.Context(), srv.order.ID, f.ID); err != nil {
			t.Fatalf("ReleaseFence: %v", err)
		}
	}
	if err := s.repo.ReleaseFence(t.Context(), ports.NewOrderID(), ports.NewFenceID()); err != nil {
		t.Errorf("ReleaseFence of an unfenced order: %v", err)
	}
	g := s.fence(srv.order.ID)
	if err := s.repo.ReleaseFence(t.Context(), srv.order.ID, g.ID); err != nil {
		t.Fatalf("ReleaseFence: %v", err)
	}
	s.create(srv)
}

func (s repositorySuite) fenceWrongID(t *testing.T) {
	srv, other := s.newServer(), s.newServer()
	old := s.fence(srv.order.ID)
	if err := s.repo.ReleaseFence(t.Context(), srv.order.ID, old.ID); err != nil {
		t.Fatalf("ReleaseFence: %v", err)
	}
	// A newer fence on the order, and a stale holder of the old one still calling.
	f := s.fence(srv.order.ID)
	otherFence := s.fence(other.order.ID)
	for _, tc := range []struct {
		name  string
		order ports.OrderID
		id    ports.FenceID
	}{
		{"the released fence's ID", srv.order.ID, old.ID},
		{"an unknown ID", srv.order.ID, ports.NewFenceID()},
		{"another order's fence", srv.order.ID, otherFence.ID},
		{"the right ID on another order", other.order.ID, f.ID},
	} {
		err := s.repo.HeartbeatFence(t.Context(), tc.order, tc.id, s.next())
		wantErr(t, "HeartbeatFence with "+tc.name, err, ports.ErrNotFound)
		if err := s.repo.ReleaseFence(t.Context(), tc.order, tc.id); err != nil {
			t.Errorf("ReleaseFence with %s: %v", tc.name, err)
		}
	}
	wantErr(t, "Create", s.repo.Create(t.Context(), s.newBackup(srv), defaultLimit), ports.ErrFenced)
	s.assertFences(epoch().Add(1000*time.Hour), f, otherFence)
}

func (s repositorySuite) fenceHeartbeat(t *testing.T) {
	srv := s.newServer()
	f := s.fence(srv.order.ID)
	at := s.next()
	if err := s.repo.HeartbeatFence(t.Context(), srv.order.ID, f.ID, at); err != nil {
		t.Fatalf("HeartbeatFence: %v", err)
	}
	s.assertFences(at) // not older than its own heartbeat
	f.HeartbeatAt = at

	now := s.newServer()
	g := s.newFence(now.order.ID)
	g.AcquiredAt = time.Time{}
	if err := s.repo.AcquireFence(t.Context(), g); err != nil {
		t.Fatalf("AcquireFence: %v", err)
	}
	expired, err := s.repo.ExpireFences(t.Context(), at.Add(time.Hour))
	if err != nil {
		t.Fatalf("ExpireFences: %v", err)
	}
	for _, x := range expired {
		if x.ID != g.ID {
			continue
		}
		// The store's clock may be another machine's (a database server).
		if d := time.Since(x.AcquiredAt); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("AcquiredAt = %v, want about now (%v)", x.AcquiredAt, time.Now())
		}
		g.AcquiredAt = x.AcquiredAt
	}
	assertSameFences(t, "ExpireFences", expired, f, g)
	wantErr(t, "HeartbeatFence after expiry", s.repo.HeartbeatFence(t.Context(), srv.order.ID, f.ID, s.next()), ports.ErrNotFound)
}

func (s repositorySuite) expireFences(t *testing.T) {
	cutoff := epoch().Add(24 * time.Hour)
	fenced := func(heartbeat time.Time) (server, ports.Fence) {
		srv := s.newServer()
		f := s.newFence(srv.order.ID)
		f.AcquiredAt, f.HeartbeatAt = cutoff.Add(-time.Hour), heartbeat
		if err := s.repo.AcquireFence(t.Context(), f); err != nil {
			t.Fatalf("AcquireFence: %v", err)
		}
		return srv, f
	}
	deadServer, dead := fenced(cutoff.Add(-10 * time.Minute))
	_, deadLonger := fenced(cutoff.Add(-20 * time.Minute))
	atCutoffServer, atCutoff := fenced(cutoff)
	_, alive := fenced(cutoff.Add(time.Minute))
	revivedServer, revived := fenced(cutoff.Add(-10 * time.Minute))
	if err := s.repo.HeartbeatFence(t.Context(), revivedServer.order.ID, revived.ID, cutoff.Add(time.Second)); err != nil {
		t.Fatalf("HeartbeatFence: %v", err)
	}

	s.assertFences(cutoff, dead, deadLonger)
	s.create(deadServer)
	wantErr(t, "Create on the fence at the cutoff", s.repo.Create(t.Context(), s.newBackup(atCutoffServer), defaultLimit), ports.ErrFenced)
	s.assertFences(cutoff)
	revived.HeartbeatAt = cutoff.Add(time.Second)
	s.assertFences(cutoff.Add(time.Hour), atCutoff, alive, revived)
}

func (s repositorySuite) heartbeatRecorded(t *testing.T) {
	srv := s.newServer()
	b := s.create(srv)
	at := s.next()
	if err := s.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, at, nil); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	b.HeartbeatAt = at
	s.assertStored(b)

	r := s.startRestore(s.ready(s.newServer()))
	at = s.next()
	if err := s.repo.Heartbeat(t.Context(), r.ID, ports.StatusRestoring, at, nil); err != nil {
		t.Fatalf("Heartbeat of a restore: %v", err)
	}
	r.HeartbeatAt = at
	s.assertStored(r)
}

func (s repositorySuite) heartbeatProgress(t *testing.T) {
	b := s.create(s.newServer())
	beat := func(p *ports.Progress) {
		t.Helper()
		at := s.next()
		if err := s.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, at, p); err != nil {
			t.Fatalf("Heartbeat with progress %+v: %v", p, err)
		}
		b.HeartbeatAt = at
	}
	started := b.Progress.StartedAt
	beat(&ports.Progress{DoneBytes: 10 << 20, TotalBytes: 0, StartedAt: started})
	b.Progress = &ports.Progress{DoneBytes: 10 << 20, StartedAt: started}
	s.assertStored(b)
	beat(&ports.Progress{DoneBytes: 20 << 20, TotalBytes: 100 << 20, StartedAt: started})
	b.Progress = &ports.Progress{DoneBytes: 20 << 20, TotalBytes: 100 << 20, StartedAt: started}
	s.assertStored(b)

	// A heartbeat that was overtaken (sent before, written after) moves nothing back.
	beat(&ports.Progress{DoneBytes: 15 << 20, TotalBytes: 90 << 20, StartedAt: started})
	s.assertStored(b)
	beat(nil)
	s.assertStored(b)
	if err := s.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, s.next(), &ports.Progress{DoneBytes: -1, StartedAt: started}); err == nil {
		t.Error("Heartbeat with negative progress succeeded, want an error")
	}
	s.assertStored(b)

	// Settling the operation clears it.
	s.assertStored(s.finish(b))
}

func (s repositorySuite) heartbeatAfterSettled(t *testing.T) {
	b := s.fail(s.create(s.newServer()))
	err := s.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, s.next(), nil)
	wantErr(t, "Heartbeat", err, ports.ErrStatusConflict)
	s.assertStored(b)
}

func (s repositorySuite) heartbeatUnknown(t *testing.T) {
	err := s.repo.Heartbeat(t.Context(), ports.NewBackupID(), ports.StatusCreating, s.next(), nil)
	wantErr(t, "Heartbeat", err, ports.ErrNotFound)
}

func (s repositorySuite) listStale(t *testing.T) {
	cutoff := epoch().Add(24 * time.Hour)
	longAgo, recently := cutoff.Add(-10*time.Minute), cutoff.Add(time.Minute)
	creating := func(created, heartbeat time.Time) ports.Backup {
		b := s.newBackup(s.newServer())
		b.CreatedAt, b.HeartbeatAt = created, heartbeat
		if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
			t.Fatalf("Create: %v", err)
		}
		return b
	}
	restoring := func(heartbeat time.Time) ports.Backup {
		return s.move(s.ready(s.newServer()), ports.StatusReady, func(b *ports.Backup) {
			b.Status = ports.StatusRestoring
			b.HeartbeatAt = heartbeat
		})
	}
	settled := func(st ports.Status) ports.Backup {
		b := s.settled(s.newServer(), st)
		return s.move(b, st, func(b *ports.Backup) { b.HeartbeatAt = longAgo })
	}

	staleCreate := creating(longAgo, longAgo)
	staleRestore := restoring(longAgo)
	neverBeat := creating(longAgo, time.Time{})
	creating(longAgo, recently)            // beat since
	creating(recently, time.Time{})        // young, no heartbeat yet
	creating(longAgo, cutoff)              // exactly at the cutoff: not older
	restoring(recently)                    // restore alive
	settled(ports.StatusReady)             // old heartbeats, but settled
	settled(ports.StatusFailed)            //
	s.claim(settled(ports.StatusReady).ID) //

	got, err := s.repo.ListStale(t.Context(), cutoff)
	if err != nil {
		t.Fatalf("ListStale: %v", err)
	}
	slices.SortFunc(got, func(a, b ports.Backup) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	want := []ports.Backup{staleCreate, staleRestore, neverBeat}
	slices.SortFunc(want, func(a, b ports.Backup) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	if len(got) != len(want) {
		t.Fatalf("ListStale returned %d backups, want %d:\n%s", len(got), len(want), describeBackups(got))
	}
	for i := range want {
		if !sameBackup(got[i], want[i]) {
			t.Errorf("ListStale[%d]:\n got %s\nwant %s", i, describeBackup(got[i]), describeBackup(want[i]))
		}
	}
}

func (s repositorySuite) claimSettled(t *testing.T) {
	for _, st := range []ports.Status{ports.StatusReady, ports.StatusFailed} {
		t.Run(string(st), func(t *testing.T) {
			b := s.settled(s.newServer(), st)
			got, err := s.repo.ClaimForDelete(t.Context(), b.ID, false)
			if err != nil {
				t.Fatalf("ClaimForDelete: %v", err)
			}
			b.Deleting = true
			if !sameBackup(got, b) {
				t.Errorf("ClaimForDelete returned\n %s\nwant %s", describeBackup(got), describeBackup(b))
			}
			s.assertStored(b)
			if _, err := s.repo.ClaimForDelete(t.Context(), b.ID, false); err != nil {
				t.Errorf("second ClaimForDelete: %v, want success (a retried delete)", err)
			}
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) claimActiveRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(server) ports.Backup
	}{
		{"creating", s.create},
		{"restoring", s.restoring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.make(s.newServer())
			_, err := s.repo.ClaimForDelete(t.Context(), b.ID, false)
			wantErr(t, "ClaimForDelete", err, ports.ErrStatusConflict)
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) claimUnknown(t *testing.T) {
	_, err := s.repo.ClaimForDelete(t.Context(), ports.NewBackupID(), false)
	wantErr(t, "ClaimForDelete", err, ports.ErrNotFound)
}

func (s repositorySuite) deleteClaimed(t *testing.T) {
	srv := s.newServer()
	keep := s.settled(srv, ports.StatusReady)
	b := s.claim(s.settled(srv, ports.StatusFailed).ID)
	if err := s.repo.Delete(t.Context(), b.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.repo.Find(t.Context(), b.ID)
	wantErr(t, "Find after Delete", err, ports.ErrNotFound)
	assertIDs(t, "ListByProvision after Delete", s.list(srv.prov.ID), []ports.BackupID{keep.ID})
	wantErr(t, "second Delete", s.repo.Delete(t.Context(), b.ID), ports.ErrNotFound)
}

func (s repositorySuite) deleteUnclaimedRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(server) ports.Backup
	}{
		{"ready", s.ready},
		{"creating", s.create},
		{"restoring", s.restoring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.make(s.newServer())
			wantErr(t, "Delete", s.repo.Delete(t.Context(), b.ID), ports.ErrStatusConflict)
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) deleteUnknown(t *testing.T) {
	wantErr(t, "Delete", s.repo.Delete(t.Context(), ports.NewBackupID()), ports.ErrNotFound)
}

func (s repositorySuite) lockAndScheduleRoundTrip(t *testing.T) {
	srv := s.newServer()
	scheduled := s.newBackup(srv)
	scheduled.Locked, scheduled.ScheduleID = true, ports.NewScheduleID()
	if err := s.repo.Create(t.Context(), scheduled, defaultLimit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	s.assertStored(scheduled)
	scheduled = s.finish(scheduled)
	s.assertStored(scheduled)
	manual := s.ready(srv) // unlocked, and no schedule: stored as none
	s.assertStored(manual)

	want := []ports.BackupID{manual.ID, scheduled.ID}
	got := s.list(srv.prov.ID)
	assertIDs(t, "ListByProvision", got, want)
	byOrder, err := s.repo.ListByOrder(t.Context(), srv.order.ID)
	if err != nil {
		t.Fatalf("ListByOrder: %v", err)
	}
	assertIDs(t, "ListByOrder", byOrder, want)
	if len(got) != len(want) || len(byOrder) != len(want) {
		t.FailNow()
	}
	byAsset, err := s.repo.FindByAsset(t.Context(), scheduled.AssetID)
	if err != nil {
		t.Fatalf("FindByAsset: %v", err)
	}
	for what, b := range map[string]ports.Backup{
		"ListByProvision's scheduled backup": got[1], "ListByProvision's manual backup": got[0],
		"ListByOrder's scheduled backup": byOrder[1], "FindByAsset": byAsset,
	} {
		want := scheduled
		if b.ID == manual.ID {
			want = manual
		}
		if !sameBackup(b, want) {
			t.Errorf("%s:\n got %s\nwant %s", what, describeBackup(b), describeBackup(want))
		}
	}
}

// setLocked locks or unlocks the backup and checks that SetLocked answers it as
// stored, with the lock as asked.
func (s repositorySuite) setLocked(b ports.Backup, locked bool) ports.Backup {
	s.t.Helper()
	got, err := s.repo.SetLocked(s.t.Context(), b.ID, locked)
	if err != nil {
		s.t.Fatalf("SetLocked(%t): %v", locked, err)
	}
	b.Locked = locked
	if !sameBackup(got, b) {
		s.t.Errorf("SetLocked(%t) returned\n %s\nwant %s", locked, describeBackup(got), describeBackup(b))
	}
	s.assertStored(b)
	return b
}

func (s repositorySuite) setLockedEveryStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(server) ports.Backup
	}{
		{"creating", s.create},
		{"ready", s.ready},
		{"failed", func(srv server) ports.Backup { return s.fail(s.create(srv)) }},
		{"restoring", s.restoring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.make(s.newServer())
			for _, locked := range []bool{true, true, false, false, true} {
				b = s.setLocked(b, locked)
			}
		})
	}
}

func (s repositorySuite) setLockedUnknown(t *testing.T) {
	for _, locked := range []bool{true, false} {
		_, err := s.repo.SetLocked(t.Context(), ports.NewBackupID(), locked)
		wantErr(t, fmt.Sprintf("SetLocked(%t)", locked), err, ports.ErrNotFound)
	}
}

func (s repositorySuite) setLockedClaimedRefused(t *testing.T) {
	claimed := s.claim(s.ready(s.newServer()).ID)
	_, err := s.repo.SetLocked(t.Context(), claimed.ID, true)
	wantErr(t, "SetLocked(true) of a claimed backup", err, ports.ErrStatusConflict)
	s.assertStored(claimed)

	locked := s.setLocked(s.ready(s.newServer()), true)
	taken, err := s.repo.ClaimForDelete(t.Context(), locked.ID, true)
	if err != nil {
		t.Fatalf("ClaimForDelete even if locked: %v", err)
	}
	_, err = s.repo.SetLocked(t.Context(), locked.ID, false)
	wantErr(t, "SetLocked(false) of a claimed backup", err, ports.ErrStatusConflict)
	s.assertStored(taken)
}

func (s repositorySuite) updateKeepsLock(t *testing.T) {
	b := s.create(s.newServer())
	s.setLocked(b, true)
	// The worker's record was read before the lock: it says unlocked.
	ready := s.finish(b)
	ready.Locked = true
	s.assertStored(ready)

	ready = s.setLocked(ready, false)
	stale := ready
	stale.Locked = true // a record read while the backup was still locked
	restoring := s.startRestore(stale)
	restoring.Locked = false
	s.assertStored(restoring)
}

func (s repositorySuite) claimLockedRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(server) ports.Backup
	}{
		{"ready", s.ready},
		{"failed", func(srv server) ports.Backup { return s.fail(s.create(srv)) }},
		{"creating", s.create},
		{"restoring", s.restoring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.setLocked(tc.make(s.newServer()), true)
			_, err := s.repo.ClaimForDelete(t.Context(), b.ID, false)
			wantErr(t, "ClaimForDelete", err, ports.ErrLocked)
			s.assertStored(b)
			wantErr(t, "Delete", s.repo.Delete(t.Context(), b.ID), ports.ErrStatusConflict)
			s.assertStored(b)

			b = s.setLocked(b, false)
			_, err = s.repo.ClaimForDelete(t.Context(), b.ID, false)
			if !b.Status.Active() {
				if err != nil {
					t.Fatalf("ClaimForDelete once unlocked: %v", err)
				}
				b.Deleting = true
			} else {
				wantErr(t, "ClaimForDelete of an active backup once unlocked", err, ports.ErrStatusConflict)
			}
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) claimEvenIfLocked(t *testing.T) {
	for _, st := range []ports.Status{ports.StatusReady, ports.StatusFailed} {
		t.Run(string(st), func(t *testing.T) {
			b := s.setLocked(s.settled(s.newServer(), st), true)
			got, err := s.repo.ClaimForDelete(t.Context(), b.ID, true)
			if err != nil {
				t.Fatalf("ClaimForDelete even if locked: %v", err)
			}
			b.Deleting = true
			if !sameBackup(got, b) {
				t.Errorf("ClaimForDelete returned\n %s\nwant %s", describeBackup(got), describeBackup(b))
			}
			s.assertStored(b)
			_, err = s.repo.ClaimForDelete(t.Context(), b.ID, false)
			wantErr(t, "a plain ClaimForDelete of the claimed, locked backup", err, ports.ErrLocked)
			if _, err := s.repo.ClaimForDelete(t.Context(), b.ID, true); err != nil {
				t.Errorf("a second ClaimForDelete even if locked: %v, want success (a retried delete)", err)
			}
			s.assertStored(b)
			if err := s.repo.Delete(t.Context(), b.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			_, err = s.repo.Find(t.Context(), b.ID)
			wantErr(t, "Find after Delete", err, ports.ErrNotFound)
		})
	}
	for _, tc := range []struct {
		name string
		make func(server) ports.Backup
	}{{"creating", s.create}, {"restoring", s.restoring}} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.setLocked(tc.make(s.newServer()), true)
			_, err := s.repo.ClaimForDelete(t.Context(), b.ID, true)
			wantErr(t, "ClaimForDelete even if locked", err, ports.ErrStatusConflict)
			s.assertStored(b)
		})
	}
}

func (s repositorySuite) raceCreates(t *testing.T) {
	for round := range 5 {
		srv := s.newServer()
		errs := race(50, func(int) ports.Backup { return s.newBackup(srv) }, func(b ports.Backup) error {
			return s.repo.Create(t.Context(), b, defaultLimit)
		})
		ok, inProgress, other := tally(errs, ports.ErrOperationInProgress)
		if ok != 1 || inProgress != 49 {
			t.Errorf("round %d: %d succeeded and %d got ErrOperationInProgress, want 1 and 49; other errors: %v", round, ok, inProgress, other)
		}
		s.assertCount(srv.prov.ID, 1)
		s.assertActive(srv.order.ID, true, "after the race")
	}
}

func (s repositorySuite) raceCreatesAcrossProvisions(t *testing.T) {
	// Per-provision locking cannot serialise these: only the one-operation-per-
	// order rule itself can.
	for round := range 5 {
		srv := s.newServer()
		provs := []ports.Provision{srv.prov}
		for range 4 {
			provs = append(provs, s.newProvision(srv.order.ID, false))
		}
		errs := race(50, func(i int) ports.Backup {
			b := s.newBackup(srv)
			b.ProvisionID = provs[i%len(provs)].ID
			return b
		}, func(b ports.Backup) error {
			return s.repo.Create(t.Context(), b, defaultLimit)
		})
		ok, inProgress, other := tally(errs, ports.ErrOperationInProgress)
		if ok != 1 || inProgress != 49 {
			t.Errorf("round %d: %d succeeded and %d got ErrOperationInProgress, want 1 and 49; other errors: %v", round, ok, inProgress, other)
		}
		total := 0
		for _, p := range provs {
			total += s.count(p.ID)
		}
		if total != 1 {
			t.Errorf("round %d: the order's provisions hold %d backups, want 1", round, total)
		}
	}
}

func (s repositorySuite) raceCreatesForOtherOrders(t *testing.T) {
	servers := make([]server, 20)
	for i := range servers {
		servers[i] = s.newServer()
	}
	errs := race(len(servers), func(i int) ports.Backup { return s.newBackup(servers[i]) }, func(b ports.Backup) error {
		return s.repo.Create(t.Context(), b, defaultLimit)
	})
	if ok, _, other := tally(errs, nil); ok != len(servers) {
		t.Errorf("%d of %d creates succeeded; errors: %v", ok, len(servers), other)
	}
}

func (s repositorySuite) raceCreatesAtLimit(t *testing.T) {
	// Each winner finishes its backup at once, which frees the order again, so
	// the one-operation rule does not serialise the racers: only the limit,
	// counted and inserted atomically, holds the line.
	const rounds = 20
	outcomes := map[int]int{} // backups held after a round → rounds
	for round := range rounds {
		srv := s.newServer()
		for range 8 {
			s.settled(srv, ports.StatusReady)
		}
		errs := race(30, func(int) ports.Backup { return s.newBackup(srv) }, func(b ports.Backup) error {
			if err := s.repo.Create(t.Context(), b, defaultLimit); err != nil {
				return err
			}
			done := b
			done.Status = ports.StatusFailed
			done.Error = "finished by the race"
			done.CompletedAt = b.CreatedAt
			if err := s.repo.Update(t.Context(), done, ports.StatusCreating); err != nil {
				t.Errorf("round %d: finishing a created backup: %v", round, err)
			}
			return nil
		})
		ok, _, other := tally(errs, ports.ErrLimitReached, ports.ErrOperationInProgress)
		if len(other) > 0 {
			t.Errorf("round %d: errors other than ErrLimitReached and ErrOperationInProgress: %v", round, other)
		}
		n := s.count(srv.prov.ID)
		outcomes[n]++
		if n > defaultLimit {
			t.Errorf("round %d: the provision holds %d backups, more than the limit of %d", round, n, defaultLimit)
		}
		if n != 8+ok {
			t.Errorf("round %d: the provision holds %d backups, want 8 + %d created", round, n, ok)
		}
		if ok < 1 {
			t.Errorf("round %d: no create succeeded, want at least one", round)
		}
	}
	t.Logf("backups held after each of %d rounds (count: rounds): %v", rounds, outcomes)
}

func (s repositorySuite) raceRestoreAndDelete(t *testing.T) {
	const rounds = 20
	var restores, deletes int
	for range rounds {
		b := s.ready(s.newServer())
		restoring := b
		restoring.Status = ports.StatusRestoring
		restoring.HeartbeatAt = s.next()
		var restoreErr, claimErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			restoreErr = s.repo.Update(t.Context(), restoring, ports.StatusReady)
		})
		wg.Go(func() {
			<-start
			_, claimErr = s.repo.ClaimForDelete(t.Context(), b.ID, false)
		})
		close(start)
		wg.Wait()

		switch {
		case restoreErr == nil && claimErr == nil:
			t.Fatalf("both the restore and the delete claimed backup %s", b.ID)
		case restoreErr == nil:
			restores++
			wantErr(t, "losing ClaimForDelete", claimErr, ports.ErrStatusConflict)
			s.assertStored(restoring)
			wantErr(t, "Delete after the restore won", s.repo.Delete(t.Context(), b.ID), ports.ErrStatusConflict)
		case claimErr == nil:
			deletes++
			wantErr(t, "losing restore", restoreErr, ports.ErrStatusConflict)
			b.Deleting = true
			s.assertStored(b)
			wantErr(t, "restore after the delete won", s.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrStatusConflict)
		default:
			t.Fatalf("neither won: restore %v, claim %v", restoreErr, claimErr)
		}
	}
	t.Logf("of %d races the restore won %d and the delete %d", rounds, restores, deletes)
}

// raceLockAndDelete fires locks and delete claims at one ready, unlocked
// backup. Whichever lands first decides every other call: after a lock every
// claim is refused as locked, after a claim every lock as a status conflict.
func (s repositorySuite) raceLockAndDelete(t *testing.T) {
	outcomes := map[string]int{}
	for round := range 50 {
		b := s.ready(s.newServer())
		var locks, claims atomic.Int32
		errs := race(8, func(i int) func() error {
			if i%2 == 0 {
				return func() error {
					_, err := s.repo.SetLocked(t.Context(), b.ID, true)
					return counted(&locks, err)
				}
			}
			return func() error {
				_, err := s.repo.ClaimForDelete(t.Context(), b.ID, false)
				return counted(&claims, err)
			}
		}, func(call func() error) error { return call() })
		_, refused, other := tally(errs, ports.ErrLocked, ports.ErrStatusConflict)
		if len(other) > 0 {
			t.Fatalf("round %d: errors other than ErrLocked and ErrStatusConflict: %v", round, other)
		}
		stored := s.find(b.ID)
		switch {
		case locks.Load() == 4 && claims.Load() == 0:
			outcomes["locked"]++
			if !stored.Locked || stored.Deleting {
				t.Fatalf("round %d: every lock won, but the backup is stored %s", round, describeBackup(stored))
			}
		case claims.Load() == 4 && locks.Load() == 0:
			outcomes["claimed"]++
			if stored.Locked || !stored.Deleting {
				t.Fatalf("round %d: every claim won, but the backup is stored %s", round, describeBackup(stored))
			}
		default:
			t.Fatalf("round %d: %d locks and %d claims won, %d refused: a lock and a delete both won", round, locks.Load(), claims.Load(), refused)
		}
	}
	t.Logf("rounds won by the locks and by the claims: %v", outcomes)
}

// raceUnlockAndDelete fires unlocks and delete claims at one locked backup.
// Both may succeed, the unlocks first; what never happens is a claim of a
// backup that is still locked, or an unlock of a claimed one.
func (s repositorySuite) raceUnlockAndDelete(t *testing.T) {
	for round := range 50 {
		b := s.setLocked(s.ready(s.newServer()), true)
		var unlocks, claims atomic.Int32
		errs := race(8, func(i int) func() error {
			if i%2 == 0 {
				return func() error {
					_, err := s.repo.SetLocked(t.Context(), b.ID, false)
					return counted(&unlocks, err)
				}
			}
			return func() error {
				_, err := s.repo.ClaimForDelete(t.Context(), b.ID, false)
				return counted(&claims, err)
			}
		}, func(call func() error) error { return call() })
		if _, _, other := tally(errs, ports.ErrLocked, ports.ErrStatusConflict); len(other) > 0 {
			t.Fatalf("round %d: errors other than ErrLocked and ErrStatusConflict: %v", round, other)
		}
		stored := s.find(b.ID)
		switch {
		case stored.Locked && stored.Deleting:
			t.Fatalf("round %d: the backup is claimed and locked: %s", round, describeBackup(stored))
		case claims.Load() > 0 && (unlocks.Load() == 0 || !stored.Deleting):
			t.Fatalf("round %d: %d claims won after %d unlocks; stored %s", round, claims.Load(), unlocks.Load(), describeBackup(stored))
		case claims.Load() == 0 && (stored.Locked || stored.Deleting) && unlocks.Load() > 0:
			t.Fatalf("round %d: %d unlocks won and no claim, but the backup is stored %s", round, unlocks.Load(), describeBackup(stored))
		case unlocks.Load() == 0:
			t.Fatalf("round %d: no unlock won, though only an unlock can make a claim win", round)
		}
	}
}

// raceFenceAndCreates fires fences and creates at one order's free slot.
func (s repositorySuite) raceFenceAndCreates(t *testing.T) {
	for round := range 50 {
		srv := s.newServer()
		var fences, creates atomic.Int32
		errs := race(8, func(i int) func() error {
			if i%2 == 0 {
				f := s.newFence(srv.order.ID)
				return func() error { return counted(&fences, s.repo.AcquireFence(t.Context(), f)) }
			}
			b := s.newBackup(srv)
			return func() error { return counted(&creates, s.repo.Create(t.Context(), b, defaultLimit)) }
		}, func(claim func() error) error { return claim() })
		ok, refused, other := tally(errs, ports.ErrOperationInProgress, ports.ErrFenced)
		if ok != 1 || refused != len(errs)-1 {
			t.Fatalf("round %d: %d fences and %d creates won, %d refused; want exactly one winner; other errors: %v",
				round, fences.Load(), creates.Load(), refused, other)
		}
		s.assertCount(srv.prov.ID, int(creates.Load()))
		s.assertActive(srv.order.ID, creates.Load() == 1, "after the race")
	}
}

// raceFenceAndRestores fires fences and restores of one ready backup at its
// order's free slot.
func (s repositorySuite) raceFenceAndRestores(t *testing.T) {
	for round := range 50 {
		b := s.ready(s.newServer())
		var fences, restores atomic.Int32
		errs := race(8, func(i int) func() error {
			if i%2 == 0 {
				f := s.newFence(b.OrderID)
				return func() error { return counted(&fences, s.repo.AcquireFence(t.Context(), f)) }
			}
			next := b
			next.Status, next.HeartbeatAt = ports.StatusRestoring, s.next()
			return func() error { return counted(&restores, s.repo.Update(t.Context(), next, ports.StatusReady)) }
		}, func(claim func() error) error { return claim() })
		ok, refused, other := tally(errs, ports.ErrOperationInProgress, ports.ErrFenced, ports.ErrStatusConflict)
		if ok != 1 || refused != len(errs)-1 {
			t.Fatalf("round %d: %d fences and %d restores won, %d refused; want exactly one winner; other errors: %v",
				round, fences.Load(), restores.Load(), refused, other)
		}
		want := ports.StatusReady
		if restores.Load() == 1 {
			want = ports.StatusRestoring
		}
		if got := s.find(b.ID).Status; got != want {
			t.Errorf("round %d: the backup is %s, want %s", round, got, want)
		}
	}
}

func (s repositorySuite) raceUpdates(t *testing.T) {
	for round := range 5 {
		b := s.create(s.newServer())
		errs := race(20, func(i int) ports.Backup {
			next := b
			next.Status = ports.StatusFailed
			next.Error = fmt.Sprintf("settled by worker %d", i)
			return next
		}, func(next ports.Backup) error {
			return s.repo.Update(t.Context(), next, ports.StatusCreating)
		})
		ok, conflicts, other := tally(errs, ports.ErrStatusConflict)
		if ok != 1 || conflicts != 19 {
			t.Fatalf("round %d: %d updates applied and %d got ErrStatusConflict, want 1 and 19; other errors: %v", round, ok, conflicts, other)
		}
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		if got, want := s.find(b.ID).Error, fmt.Sprintf("settled by worker %d", winner); got != want {
			t.Errorf("round %d: stored Error = %q, want the winner's %q", round, got, want)
		}
	}
}

// next returns a time one second after the previous one, so that backups are
// created in a known order.
func (s repositorySuite) next() time.Time {
	return epoch().Add(time.Duration(s.tick.Add(1)) * time.Second)
}

func (s repositorySuite) newServer() server {
	s.t.Helper()
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	if err := s.host.CreateOrder(s.t.Context(), o); err != nil {
		s.t.Fatalf("host: creating order: %v", err)
	}
	return server{order: o, prov: s.newProvision(o.ID, true)}
}

func (s repositorySuite) newProvision(order ports.OrderID, primary bool) ports.Provision {
	s.t.Helper()
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: order, Kind: ports.KindDeployment, Primary: primary, Role: ports.RoleGameServer}
	if err := s.host.CreateProvision(s.t.Context(), p); err != nil {
		s.t.Fatalf("host: creating provision: %v", err)
	}
	return p
}

func (s repositorySuite) newAsset(srv server) ports.Asset {
	s.t.Helper()
	a := ports.Asset{
		ID: ports.NewAssetID(), OwnerID: srv.order.OwnerID, Key: "backups/" + srv.order.ID.String() + "/archive.tar.gz",
		FileName: "archive.tar.gz", ContentType: "application/gzip", SizeBytes: 1234, SHA256: digest("asset"), CreatedAt: s.next(),
	}
	if err := s.host.CreateAsset(s.t.Context(), a); err != nil {
		s.t.Fatalf("host: creating asset: %v", err)
	}
	return a
}

// newBackup returns a backup as the service creates it; it is not stored.
func (s repositorySuite) newBackup(srv server) ports.Backup {
	at := s.next()
	return ports.Backup{
		ID: ports.NewBackupID(), OrderID: srv.order.ID, ProvisionID: srv.prov.ID,
		Name: "Backup " + at.Format("2006-01-02 15:04:05 UTC"), Status: ports.StatusCreating,
		CreatedAt: at, HeartbeatAt: at, Progress: &ports.Progress{StartedAt: at},
	}
}

func (s repositorySuite) create(srv server) ports.Backup {
	s.t.Helper()
	b := s.newBackup(srv)
	if err := s.repo.Create(s.t.Context(), b, defaultLimit); err != nil {
		s.t.Fatalf("Create: %v", err)
	}
	return b
}

// move stores edit(b) with a compare-and-set from status from, and returns it.
func (s repositorySuite) move(b ports.Backup, from ports.Status, edit func(*ports.Backup)) ports.Backup {
	s.t.Helper()
	edit(&b)
	if err := s.repo.Update(s.t.Context(), b, from); err != nil {
		s.t.Fatalf("Update %s → %s: %v", from, b.Status, err)
	}
	return b
}

func (s repositorySuite) finish(b ports.Backup) ports.Backup {
	s.t.Helper()
	asset := s.newAsset(server{order: ports.Order{ID: b.OrderID, OwnerID: ports.NewUserID()}})
	return s.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusReady
		b.AssetID = asset.ID
		b.SizeBytes = asset.SizeBytes
		b.SHA256 = digest(b.ID.String())
		b.CompletedAt = s.next()
		b.Progress = nil
	})
}

func (s repositorySuite) fail(b ports.Backup) ports.Backup {
	s.t.Helper()
	return s.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusFailed
		b.Error = "compressing the server files failed"
		b.CompletedAt = s.next()
		b.Progress = nil
	})
}

func (s repositorySuite) startRestore(b ports.Backup) ports.Backup {
	s.t.Helper()
	return s.move(b, ports.StatusReady, func(b *ports.Backup) {
		b.Status = ports.StatusRestoring
		b.HeartbeatAt = s.next()
		b.Progress = &ports.Progress{TotalBytes: b.SizeBytes, StartedAt: b.HeartbeatAt}
	})
}

func (s repositorySuite) ready(srv server) ports.Backup { s.t.Helper(); return s.finish(s.create(srv)) }
func (s repositorySuite) restoring(srv server) ports.Backup {
	s.t.Helper()
	return s.startRestore(s.ready(srv))
}

// settled creates a backup that ends ready or failed.
func (s repositorySuite) settled(srv server, st ports.Status) ports.Backup {
	s.t.Helper()
	switch st {
	case ports.StatusReady:
		return s.ready(srv)
	case ports.StatusFailed:
		return s.fail(s.create(srv))
	}
	s.t.Fatalf("portstest: settled(%s)", st)
	return ports.Backup{}
}

// newFence returns a fence on the order as a host takes it; it is not acquired.
func (s repositorySuite) newFence(order ports.OrderID) ports.Fence {
	return ports.Fence{ID: ports.NewFenceID(), OrderID: order, AcquiredAt: s.next(), HeartbeatAt: s.next()}
}

// fence acquires a new fence on the order.
func (s repositorySuite) fence(order ports.OrderID) ports.Fence {
	s.t.Helper()
	f := s.newFence(order)
	if err := s.repo.AcquireFence(s.t.Context(), f); err != nil {
		s.t.Fatalf("AcquireFence: %v", err)
	}
	return f
}

// assertFences expires the fences silent since before, and checks that they are
// exactly want.
func (s repositorySuite) assertFences(before time.Time, want ...ports.Fence) {
	s.t.Helper()
	got, err := s.repo.ExpireFences(s.t.Context(), before)
	if err != nil {
		s.t.Fatalf("ExpireFences: %v", err)
	}
	assertSameFences(s.t, "ExpireFences", got, want...)
}

func assertSameFences(t *testing.T, what string, got []ports.Fence, want ...ports.Fence) {
	t.Helper()
	norm := func(list []ports.Fence) []ports.Fence {
		list = slices.Clone(list)
		for i := range list {
			list[i].AcquiredAt, list[i].HeartbeatAt = list[i].AcquiredAt.UTC(), list[i].HeartbeatAt.UTC()
		}
		slices.SortFunc(list, func(a, b ports.Fence) int { return strings.Compare(a.ID.String(), b.ID.String()) })
		return list
	}
	if g, w := norm(got), norm(want); !slices.Equal(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func (s repositorySuite) claim(id ports.BackupID) ports.Backup {
	s.t.Helper()
	b, err := s.repo.ClaimForDelete(s.t.Context(), id, false)
	if err != nil {
		s.t.Fatalf("ClaimForDelete: %v", err)
	}
	return b
}

func (s repositorySuite) find(id ports.BackupID) ports.Backup {
	s.t.Helper()
	b, err := s.repo.Find(s.t.Context(), id)
	if err != nil {
		s.t.Fatalf("Find %s: %v", id, err)
	}
	return b
}

func (s repositorySuite) list(p ports.ProvisionID) []ports.Backup {
	s.t.Helper()
	list, err := s.repo.ListByProvision(s.t.Context(), p)
	if err != nil {
		s.t.Fatalf("ListByProvision: %v", err)
	}
	return list
}

func (s repositorySuite) count(p ports.ProvisionID) int {
	s.t.Helper()
	n, err := s.repo.CountByProvision(s.t.Context(), p)
	if err != nil {
		s.t.Fatalf("CountByProvision: %v", err)
	}
	return n
}

func (s repositorySuite) assertStored(want ports.Backup) {
	s.t.Helper()
	if got := s.find(want.ID); !sameBackup(got, want) {
		s.t.Errorf("stored backup differs:\n got %s\nwant %s", describeBackup(got), describeBackup(want))
	}
}

func (s repositorySuite) assertCount(p ports.ProvisionID, want int) {
	s.t.Helper()
	if got := s.count(p); got != want {
		s.t.Errorf("CountByProvision = %d, want %d", got, want)
	}
	if got := len(s.list(p)); got != want {
		s.t.Errorf("ListByProvision returned %d backups, want %d", got, want)
	}
}

func (s repositorySuite) assertActive(order ports.OrderID, want bool, when string) {
	s.t.Helper()
	got, err := s.repo.HasActiveOperation(s.t.Context(), order)
	if err != nil {
		s.t.Fatalf("HasActiveOperation: %v", err)
	}
	if got != want {
		s.t.Errorf("HasActiveOperation %s = %v, want %v", when, got, want)
	}
}

// race prepares n inputs, then runs do on all of them at once and returns each
// call's error, by input.
func race[T any](n int, prepare func(i int) T, do func(T) error) []error {
	inputs := make([]T, n)
	for i := range inputs {
		inputs[i] = prepare(i)
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range inputs {
		wg.Go(func() {
			<-start
			errs[i] = do(inputs[i])
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// counted counts a success in n and returns err.
func counted(n *atomic.Int32, err error) error {
	if err == nil {
		n.Add(1)
	}
	return err
}

// tally counts successes and errors matching any of expected, and returns the rest.
func tally(errs []error, expected ...error) (ok, matched int, other []error) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case slices.ContainsFunc(expected, func(target error) bool { return target != nil && errors.Is(err, target) }):
			matched++
		default:
			other = append(other, err)
		}
	}
	return ok, matched, other
}

func assertIDs(t *testing.T, what string, got []ports.Backup, want []ports.BackupID) {
	t.Helper()
	ids := make([]ports.BackupID, len(got))
	for i, b := range got {
		ids[i] = b.ID
	}
	if !slices.Equal(ids, want) {
		t.Errorf("%s: got IDs %v, want %v", what, ids, want)
	}
}

// sameBackup compares backups with times as instants (stores may hand them back
// in another location).
// An empty list of skipped files, or of excludes, equals none.
func sameBackup(a, b ports.Backup) bool {
	a, b = backupInUTC(a), backupInUTC(b)
	if !slices.Equal(a.Skipped, b.Skipped) || !slices.Equal(a.Excludes, b.Excludes) {
		return false
	}
	a.Skipped, b.Skipped = nil, nil
	a.Excludes, b.Excludes = nil, nil
	return reflect.DeepEqual(a, b)
}

func backupInUTC(b ports.Backup) ports.Backup {
	b.CreatedAt = b.CreatedAt.UTC()
	b.CompletedAt = b.CompletedAt.UTC()
	b.HeartbeatAt = b.HeartbeatAt.UTC()
	b.LastRestoredAt = b.LastRestoredAt.UTC()
	if b.Progress != nil {
		p := *b.Progress
		p.StartedAt = p.StartedAt.UTC()
		b.Progress = &p
	}
	return b
}

func describeBackup(b ports.Backup) string {
	b = backupInUTC(b)
	progress := "none"
	if b.Progress != nil {
		progress = fmt.Sprintf("%+v", *b.Progress)
	}
	b.Progress = nil
	return fmt.Sprintf("%+v progress %s", b, progress)
}

func describeBackups(list []ports.Backup) string {
	var s strings.Builder
	for _, b := range list {
		s.WriteString("  " + describeBackup(b) + "\n")
	}
	return s.String()
}

package portstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// RunRepositoryTests runs the Repository contract suite; see
// RepositoryHarness.Run.
func RunRepositoryTests(t *testing.T, h RepositoryHarness) {
	t.Helper()
	h.Run(t)
}

// repoLimit is the service's default number of backups per provision.
const repoLimit = 10

// repoEpoch is where the suite's clock starts: fixed, so that stored times can be
// compared exactly, and with microseconds, the precision PostgreSQL keeps.
func repoEpoch() time.Time { return time.Date(2026, time.March, 14, 15, 9, 26, 535_897_000, time.UTC) }

// Run runs the contract suite: every Repository method's documented semantics,
// and concurrency tests that only an implementation enforcing the invariants
// atomically passes. What it requires beyond the port's doc comments:
//
//   - Create takes a backup in status creating with its ID, order and provision
//     set, and refuses anything else with an error; a zero CreatedAt means now.
//     A duplicate ID is an error but neither ErrOperationInProgress nor
//     ErrLimitReached.
//   - Update never changes the name, IDs or creation time, and refuses an invalid
//     status with an error. Into an active status, its compare-and-set errors
//     (ErrNotFound, ErrStatusConflict) win over ErrOperationInProgress and
//     ErrFenced.
//   - Create and Update refuse, with an error, more than MaxSkippedListed skipped
//     files or a SkippedCount below the number listed. An empty list is stored as
//     none, and the store keeps its own copy of the list.
//   - ListByProvision orders backups created at the same instant by ID, newest
//     first.
//   - A fence is not an operation: HasActiveOperation ignores it, and updates into
//     ready or failed go ahead while it holds the slot.
//   - ListStale uses the creation time of a backup that never had a heartbeat, and
//     "older than before" is strict.
//   - Times round-trip exactly at microsecond precision.
func (h RepositoryHarness) Run(t *testing.T) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: RepositoryHarness.New is nil")
	}
	run := func(name string, test func(t *testing.T, e *repoEnv)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			repo, host := h.New(t)
			test(t, &repoEnv{t: t, repo: repo, host: host})
		})
	}

	run("a created backup is found with every field it was created with", func(t *testing.T, e *repoEnv) {
		b := e.newBackup(e.newServer())
		b.Name = "Before the 1.21 update ⛏"
		if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
			t.Fatalf("Create: %v", err)
		}
		e.assertStored(b)
	})

	run("a backup created without a creation time is stamped with the current time", func(t *testing.T, e *repoEnv) {
		b := e.newBackup(e.newServer())
		b.CreatedAt = time.Time{}
		b.HeartbeatAt = time.Time{}
		if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got := e.find(b.ID)
		// The store's clock may be another machine's (a database server).
		if d := time.Since(got.CreatedAt); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("CreatedAt = %v, want about now (%v)", got.CreatedAt, time.Now())
		}
	})

	run("finding an unknown backup reports not found", func(t *testing.T, e *repoEnv) {
		_, err := e.repo.Find(t.Context(), ports.NewBackupID())
		repoWantErr(t, "Find", err, ports.ErrNotFound)
	})

	run("create refuses a backup that is not in status creating, or lacks an ID", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		for _, tc := range []struct {
			name string
			edit func(*ports.Backup)
		}{
			{"status ready", func(b *ports.Backup) { b.Status = ports.StatusReady }},
			{"status restoring", func(b *ports.Backup) { b.Status = ports.StatusRestoring }},
			{"no status", func(b *ports.Backup) { b.Status = "" }},
			{"no order", func(b *ports.Backup) { b.OrderID = ports.OrderID{} }},
			{"no provision", func(b *ports.Backup) { b.ProvisionID = ports.ProvisionID{} }},
		} {
			b := e.newBackup(s)
			tc.edit(&b)
			if err := e.repo.Create(t.Context(), b, repoLimit); err == nil {
				t.Errorf("Create with %s succeeded, want an error", tc.name)
			}
		}
		b := e.newBackup(s)
		b.ID = ports.BackupID{}
		if err := e.repo.Create(t.Context(), b, repoLimit); err == nil {
			t.Error("Create without an ID succeeded, want an error")
		}
		e.assertCount(s.prov.ID, 0)
	})

	run("create refuses a second backup while the order has one being created", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		first := e.create(s)
		err := e.repo.Create(t.Context(), e.newBackup(s), repoLimit)
		repoWantErr(t, "second Create", err, ports.ErrOperationInProgress)
		e.assertCount(s.prov.ID, 1)
		e.assertStored(first)
	})

	run("create refuses a backup while the order has one being restored", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		e.restoring(s)
		err := e.repo.Create(t.Context(), e.newBackup(s), repoLimit)
		repoWantErr(t, "Create during a restore", err, ports.ErrOperationInProgress)
		e.assertCount(s.prov.ID, 1)
	})

	run("one order's operation does not hold up another order", func(t *testing.T, e *repoEnv) {
		e.create(e.newServer())
		e.create(e.newServer())
	})

	run("create succeeds again once the running backup has finished or failed", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		e.finish(e.create(s))
		e.fail(e.create(s))
		e.create(s)
		e.assertCount(s.prov.ID, 3)
	})

	run("create enforces the limit per provision, counting every status", func(t *testing.T, e *repoEnv) {
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
				s := e.newServer()
				for _, st := range tc.existing {
					e.settled(s, st)
				}
				err := e.repo.Create(t.Context(), e.newBackup(s), tc.limit)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("Create: %v, want success", err)
					}
					e.assertCount(s.prov.ID, len(tc.existing)+1)
					return
				}
				repoWantErr(t, "Create", err, tc.want)
				e.assertCount(s.prov.ID, len(tc.existing))
			})
		}
	})

	run("a provision at its limit does not limit another provision", func(t *testing.T, e *repoEnv) {
		full := e.newServer()
		e.settled(full, ports.StatusReady)
		e.settled(full, ports.StatusReady)
		other := e.newServer()
		if err := e.repo.Create(t.Context(), e.newBackup(other), 2); err != nil {
			t.Fatalf("Create on another provision: %v", err)
		}
	})

	run("when the order is busy and the provision full, the operation in progress is reported", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		e.create(s)
		err := e.repo.Create(t.Context(), e.newBackup(s), 1)
		repoWantErr(t, "Create", err, ports.ErrOperationInProgress)
	})

	run("create refuses a duplicate ID without blaming an invariant", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		b := e.finish(e.create(s))
		again := e.newBackup(s)
		again.ID = b.ID
		err := e.repo.Create(t.Context(), again, repoLimit)
		if err == nil || errors.Is(err, ports.ErrOperationInProgress) || errors.Is(err, ports.ErrLimitReached) {
			t.Fatalf("Create with a duplicate ID: %v, want an error that is neither ErrOperationInProgress nor ErrLimitReached", err)
		}
		e.assertStored(b)
	})

	run("list returns the provision's backups newest first and nothing else", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		// Inserted out of creation order, so insertion order cannot pass for it.
		mid := e.newBackup(s)
		old := e.newBackup(s)
		old.CreatedAt = mid.CreatedAt.Add(-time.Hour)
		newest := e.newBackup(s)
		for _, b := range []ports.Backup{mid, old, newest} {
			if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
				t.Fatalf("Create: %v", err)
			}
			e.finish(b)
		}
		e.create(e.newServer()) // another provision's backup
		got := e.list(s.prov.ID)
		repoAssertIDs(t, "ListByProvision", got, []ports.BackupID{newest.ID, mid.ID, old.ID})
		for _, b := range got {
			e.assertStored(b) // the listed records are the stored ones
		}
	})

	run("backups created at the same instant are listed by ID, newest first", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		first, second := e.newBackup(s), e.newBackup(s)
		second.CreatedAt = first.CreatedAt
		if first.ID.String() > second.ID.String() {
			first, second = second, first
		}
		for _, b := range []ports.Backup{first, second} {
			if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
				t.Fatalf("Create: %v", err)
			}
			e.finish(b)
		}
		repoAssertIDs(t, "ListByProvision", e.list(s.prov.ID), []ports.BackupID{second.ID, first.ID})
	})

	run("an unknown provision has no backups", func(t *testing.T, e *repoEnv) {
		e.create(e.newServer())
		unknown := ports.NewProvisionID()
		if got := e.list(unknown); len(got) != 0 {
			t.Errorf("ListByProvision = %d backups, want none", len(got))
		}
		e.assertCount(unknown, 0)
	})

	run("count includes backups in every status, claimed ones too", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		e.settled(s, ports.StatusReady)
		e.settled(s, ports.StatusFailed)
		e.claim(e.settled(s, ports.StatusReady).ID)
		e.restoring(s)
		e.assertCount(s.prov.ID, 4)
	})

	run("an order has an operation in progress only while creating or restoring", func(t *testing.T, e *repoEnv) {
		s, other := e.newServer(), e.newServer()
		e.assertActive(s.order.ID, false, "with no backups")
		b := e.create(s)
		e.assertActive(s.order.ID, true, "while creating")
		e.assertActive(other.order.ID, false, "for another order")
		b = e.finish(b)
		e.assertActive(s.order.ID, false, "once ready")
		b = e.startRestore(b)
		e.assertActive(s.order.ID, true, "while restoring")
		e.move(b, ports.StatusRestoring, func(b *ports.Backup) { b.Status = ports.StatusReady })
		e.assertActive(s.order.ID, false, "after the restore")
		e.fail(e.create(s))
		e.assertActive(s.order.ID, false, "once failed")
	})

	run("update moves the status and writes every mutable field, and nothing else", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		b := e.create(s)
		asset := e.newAsset(s)
		next := b
		next.Status = ports.StatusReady
		next.AssetID = asset.ID
		next.SizeBytes = 5 << 30
		next.SHA256 = repoDigest(b.ID.String())
		next.Error = "a warning worth keeping"
		next.CompletedAt = e.next()
		next.HeartbeatAt = e.next()
		next.LastRestoredAt = e.next()
		next.Skipped = []ports.SkippedFile{{Path: "world/level.dat_old", Reason: "permission denied"}}
		next.SkippedCount = 3
		// Immutable fields: an update must not touch them.
		next.Name = "renamed"
		next.CreatedAt = e.next()
		next.OrderID = ports.NewOrderID()
		next.ProvisionID = ports.NewProvisionID()
		if err := e.repo.Update(t.Context(), next, ports.StatusCreating); err != nil {
			t.Fatalf("Update: %v", err)
		}
		want := next
		want.Name, want.CreatedAt, want.OrderID, want.ProvisionID = b.Name, b.CreatedAt, b.OrderID, b.ProvisionID
		e.assertStored(want)
	})

	run("update clears fields set to their zero value", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		b := e.move(e.ready(s), ports.StatusReady, func(b *ports.Backup) {
			b.Status = ports.StatusRestoring
			b.Error = "the last restore failed"
			b.HeartbeatAt = e.next()
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
		if err := e.repo.Update(t.Context(), cleared, ports.StatusRestoring); err != nil {
			t.Fatalf("Update: %v", err)
		}
		e.assertStored(cleared)
	})

	run("update from a status the backup has left is a status conflict", func(t *testing.T, e *repoEnv) {
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
				b := e.create(e.newServer())
				next := b
				next.Status = tc.to
				err := e.repo.Update(t.Context(), next, tc.from)
				repoWantErr(t, "Update", err, ports.ErrStatusConflict)
				e.assertStored(b)
			})
		}
	})

	run("of two updates from the same status only the first applies", func(t *testing.T, e *repoEnv) {
		b := e.create(e.newServer())
		failed := e.fail(b)
		ready := b
		ready.Status = ports.StatusReady
		err := e.repo.Update(t.Context(), ready, ports.StatusCreating)
		repoWantErr(t, "second Update", err, ports.ErrStatusConflict)
		e.assertStored(failed)
	})

	run("update of an unknown backup reports not found", func(t *testing.T, e *repoEnv) {
		b := e.newBackup(e.newServer())
		b.Status = ports.StatusFailed
		err := e.repo.Update(t.Context(), b, ports.StatusCreating)
		repoWantErr(t, "Update", err, ports.ErrNotFound)
	})

	run("a restore while the order has another active backup reports the operation in progress", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		b := e.ready(s)
		e.create(s)
		next := b
		next.Status = ports.StatusRestoring
		err := e.repo.Update(t.Context(), next, ports.StatusReady)
		repoWantErr(t, "Update to restoring", err, ports.ErrOperationInProgress)
		e.assertStored(b)
	})

	run("update refuses a backup claimed for deletion", func(t *testing.T, e *repoEnv) {
		for _, to := range []ports.Status{ports.StatusRestoring, ports.StatusFailed, ports.StatusReady} {
			t.Run("to "+string(to), func(t *testing.T) {
				claimed := e.claim(e.ready(e.newServer()).ID)
				next := claimed
				next.Status = to
				next.Error = "must not be written"
				err := e.repo.Update(t.Context(), next, ports.StatusReady)
				repoWantErr(t, "Update", err, ports.ErrStatusConflict)
				e.assertStored(claimed)
			})
		}
	})

	run("update refuses an invalid status", func(t *testing.T, e *repoEnv) {
		b := e.create(e.newServer())
		next := b
		next.Status = "archived"
		if err := e.repo.Update(t.Context(), next, ports.StatusCreating); err == nil {
			t.Fatal("Update to an invalid status succeeded")
		}
		e.assertStored(b)
	})

	run("skipped files round-trip through create, update and find, in order and exactly", repoSkippedRoundTrip)
	run("create and update refuse too many skipped files, or a count below the list", repoSkippedRefused)
	run("a backup is found by the asset that records its archive", repoFindByAsset)
	run("list by order returns the order's backups under every provision, newest first", repoListByOrder)
	run("missing reports the IDs no backup has, in the order given", repoMissing)

	run("a fence takes a free slot, and a second fence is refused", repoFenceTakesSlot)
	run("create is refused as fenced while a fence holds the slot, even at the limit", repoCreateWhileFenced)
	run("a restore is refused as fenced, and updates that leave the slot free go ahead", repoRestoreWhileFenced)
	run("a fence cannot be taken while a create or a restore holds the slot", repoFenceWhileBusy)
	run("releasing the fence frees the slot, and releasing it again is not an error", repoReleaseFence)
	run("a fence's heartbeat and release by a wrong ID or order do nothing", repoFenceWrongID)
	run("a fence's heartbeat is recorded, and a fence acquired without a time is stamped now", repoFenceHeartbeat)
	run("expiring fences releases only those silent since before the cutoff, freeing their slots", repoExpireFences)

	run("heartbeat records the time while the backup is in the given status", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		b := e.create(s)
		at := e.next()
		if err := e.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, at); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		b.HeartbeatAt = at
		e.assertStored(b)

		r := e.startRestore(e.ready(e.newServer()))
		at = e.next()
		if err := e.repo.Heartbeat(t.Context(), r.ID, ports.StatusRestoring, at); err != nil {
			t.Fatalf("Heartbeat of a restore: %v", err)
		}
		r.HeartbeatAt = at
		e.assertStored(r)
	})

	run("heartbeat after the operation was settled is a status conflict", func(t *testing.T, e *repoEnv) {
		b := e.fail(e.create(e.newServer()))
		err := e.repo.Heartbeat(t.Context(), b.ID, ports.StatusCreating, e.next())
		repoWantErr(t, "Heartbeat", err, ports.ErrStatusConflict)
		e.assertStored(b)
	})

	run("heartbeat of an unknown backup reports not found", func(t *testing.T, e *repoEnv) {
		err := e.repo.Heartbeat(t.Context(), ports.NewBackupID(), ports.StatusCreating, e.next())
		repoWantErr(t, "Heartbeat", err, ports.ErrNotFound)
	})

	run("stale operations are the active backups silent since before the cutoff", func(t *testing.T, e *repoEnv) {
		cutoff := repoEpoch().Add(24 * time.Hour)
		longAgo, recently := cutoff.Add(-10*time.Minute), cutoff.Add(time.Minute)
		creating := func(created, heartbeat time.Time) ports.Backup {
			b := e.newBackup(e.newServer())
			b.CreatedAt, b.HeartbeatAt = created, heartbeat
			if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
				t.Fatalf("Create: %v", err)
			}
			return b
		}
		restoring := func(heartbeat time.Time) ports.Backup {
			return e.move(e.ready(e.newServer()), ports.StatusReady, func(b *ports.Backup) {
				b.Status = ports.StatusRestoring
				b.HeartbeatAt = heartbeat
			})
		}
		settled := func(st ports.Status) ports.Backup {
			b := e.settled(e.newServer(), st)
			return e.move(b, st, func(b *ports.Backup) { b.HeartbeatAt = longAgo })
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
		e.claim(settled(ports.StatusReady).ID) //

		got, err := e.repo.ListStale(t.Context(), cutoff)
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
	})

	run("a ready or failed backup can be claimed for deletion, and claimed again", func(t *testing.T, e *repoEnv) {
		for _, st := range []ports.Status{ports.StatusReady, ports.StatusFailed} {
			t.Run(string(st), func(t *testing.T) {
				b := e.settled(e.newServer(), st)
				got, err := e.repo.ClaimForDelete(t.Context(), b.ID)
				if err != nil {
					t.Fatalf("ClaimForDelete: %v", err)
				}
				b.Deleting = true
				if !sameBackup(got, b) {
					t.Errorf("ClaimForDelete returned\n %s\nwant %s", describeBackup(got), describeBackup(b))
				}
				e.assertStored(b)
				if _, err := e.repo.ClaimForDelete(t.Context(), b.ID); err != nil {
					t.Errorf("second ClaimForDelete: %v, want success (a retried delete)", err)
				}
				e.assertStored(b)
			})
		}
	})

	run("a backup being created or restored cannot be claimed for deletion", func(t *testing.T, e *repoEnv) {
		for _, tc := range []struct {
			name string
			make func(repoServer) ports.Backup
		}{
			{"creating", e.create},
			{"restoring", e.restoring},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := tc.make(e.newServer())
				_, err := e.repo.ClaimForDelete(t.Context(), b.ID)
				repoWantErr(t, "ClaimForDelete", err, ports.ErrStatusConflict)
				e.assertStored(b)
			})
		}
	})

	run("claiming an unknown backup reports not found", func(t *testing.T, e *repoEnv) {
		_, err := e.repo.ClaimForDelete(t.Context(), ports.NewBackupID())
		repoWantErr(t, "ClaimForDelete", err, ports.ErrNotFound)
	})

	run("delete removes a claimed backup, and a second delete reports not found", func(t *testing.T, e *repoEnv) {
		s := e.newServer()
		keep := e.settled(s, ports.StatusReady)
		b := e.claim(e.settled(s, ports.StatusFailed).ID)
		if err := e.repo.Delete(t.Context(), b.ID); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := e.repo.Find(t.Context(), b.ID)
		repoWantErr(t, "Find after Delete", err, ports.ErrNotFound)
		repoAssertIDs(t, "ListByProvision after Delete", e.list(s.prov.ID), []ports.BackupID{keep.ID})
		repoWantErr(t, "second Delete", e.repo.Delete(t.Context(), b.ID), ports.ErrNotFound)
	})

	run("delete refuses a backup that was not claimed", func(t *testing.T, e *repoEnv) {
		for _, tc := range []struct {
			name string
			make func(repoServer) ports.Backup
		}{
			{"ready", e.ready},
			{"creating", e.create},
			{"restoring", e.restoring},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := tc.make(e.newServer())
				repoWantErr(t, "Delete", e.repo.Delete(t.Context(), b.ID), ports.ErrStatusConflict)
				e.assertStored(b)
			})
		}
	})

	run("deleting an unknown backup reports not found", func(t *testing.T, e *repoEnv) {
		repoWantErr(t, "Delete", e.repo.Delete(t.Context(), ports.NewBackupID()), ports.ErrNotFound)
	})

	// Concurrency: each of these fails for an implementation that checks in one
	// step and writes in another. A lost race is a matter of timing, so each race
	// is run for several rounds, each on fresh orders.

	run("exactly one of 50 concurrent creates for one order succeeds", func(t *testing.T, e *repoEnv) {
		for round := range 5 {
			s := e.newServer()
			errs := repoRace(50, func(int) ports.Backup { return e.newBackup(s) }, func(b ports.Backup) error {
				return e.repo.Create(t.Context(), b, repoLimit)
			})
			ok, inProgress, other := repoTally(errs, ports.ErrOperationInProgress)
			if ok != 1 || inProgress != 49 {
				t.Errorf("round %d: %d succeeded and %d got ErrOperationInProgress, want 1 and 49; other errors: %v", round, ok, inProgress, other)
			}
			e.assertCount(s.prov.ID, 1)
			e.assertActive(s.order.ID, true, "after the race")
		}
	})

	run("exactly one of 50 concurrent creates for one order across five provisions succeeds", func(t *testing.T, e *repoEnv) {
		// Per-provision locking cannot serialise these: only the one-operation-per-
		// order rule itself can.
		for round := range 5 {
			s := e.newServer()
			provs := []ports.Provision{s.prov}
			for range 4 {
				provs = append(provs, e.newProvision(s.order.ID, false))
			}
			errs := repoRace(50, func(i int) ports.Backup {
				b := e.newBackup(s)
				b.ProvisionID = provs[i%len(provs)].ID
				return b
			}, func(b ports.Backup) error {
				return e.repo.Create(t.Context(), b, repoLimit)
			})
			ok, inProgress, other := repoTally(errs, ports.ErrOperationInProgress)
			if ok != 1 || inProgress != 49 {
				t.Errorf("round %d: %d succeeded and %d got ErrOperationInProgress, want 1 and 49; other errors: %v", round, ok, inProgress, other)
			}
			total := 0
			for _, p := range provs {
				total += e.count(p.ID)
			}
			if total != 1 {
				t.Errorf("round %d: the order's provisions hold %d backups, want 1", round, total)
			}
		}
	})

	run("concurrent creates for different orders all succeed", func(t *testing.T, e *repoEnv) {
		servers := make([]repoServer, 20)
		for i := range servers {
			servers[i] = e.newServer()
		}
		errs := repoRace(len(servers), func(i int) ports.Backup { return e.newBackup(servers[i]) }, func(b ports.Backup) error {
			return e.repo.Create(t.Context(), b, repoLimit)
		})
		if ok, _, other := repoTally(errs, nil); ok != len(servers) {
			t.Errorf("%d of %d creates succeeded; errors: %v", ok, len(servers), other)
		}
	})

	run("30 racing create-and-finish calls never take a provision holding 8 backups past 10", func(t *testing.T, e *repoEnv) {
		// Each winner finishes its backup at once, which frees the order again, so
		// the one-operation rule does not serialise the racers: only the limit,
		// counted and inserted atomically, holds the line.
		const rounds = 20
		outcomes := map[int]int{} // backups held after a round → rounds
		for round := range rounds {
			s := e.newServer()
			for range 8 {
				e.settled(s, ports.StatusReady)
			}
			errs := repoRace(30, func(int) ports.Backup { return e.newBackup(s) }, func(b ports.Backup) error {
				if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
					return err
				}
				done := b
				done.Status = ports.StatusFailed
				done.Error = "finished by the race"
				done.CompletedAt = b.CreatedAt
				if err := e.repo.Update(t.Context(), done, ports.StatusCreating); err != nil {
					t.Errorf("round %d: finishing a created backup: %v", round, err)
				}
				return nil
			})
			ok, _, other := repoTally(errs, ports.ErrLimitReached, ports.ErrOperationInProgress)
			if len(other) > 0 {
				t.Errorf("round %d: errors other than ErrLimitReached and ErrOperationInProgress: %v", round, other)
			}
			n := e.count(s.prov.ID)
			outcomes[n]++
			if n > repoLimit {
				t.Errorf("round %d: the provision holds %d backups, more than the limit of %d", round, n, repoLimit)
			}
			if n != 8+ok {
				t.Errorf("round %d: the provision holds %d backups, want 8 + %d created", round, n, ok)
			}
			if ok < 1 {
				t.Errorf("round %d: no create succeeded, want at least one", round)
			}
		}
		t.Logf("backups held after each of %d rounds (count: rounds): %v", rounds, outcomes)
	})

	run("a restore and a delete racing on one backup never both win", func(t *testing.T, e *repoEnv) {
		const rounds = 20
		var restores, deletes int
		for range rounds {
			b := e.ready(e.newServer())
			restoring := b
			restoring.Status = ports.StatusRestoring
			restoring.HeartbeatAt = e.next()
			var restoreErr, claimErr error
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				restoreErr = e.repo.Update(t.Context(), restoring, ports.StatusReady)
			})
			wg.Go(func() {
				<-start
				_, claimErr = e.repo.ClaimForDelete(t.Context(), b.ID)
			})
			close(start)
			wg.Wait()

			switch {
			case restoreErr == nil && claimErr == nil:
				t.Fatalf("both the restore and the delete claimed backup %s", b.ID)
			case restoreErr == nil:
				restores++
				repoWantErr(t, "losing ClaimForDelete", claimErr, ports.ErrStatusConflict)
				e.assertStored(restoring)
				repoWantErr(t, "Delete after the restore won", e.repo.Delete(t.Context(), b.ID), ports.ErrStatusConflict)
			case claimErr == nil:
				deletes++
				repoWantErr(t, "losing restore", restoreErr, ports.ErrStatusConflict)
				b.Deleting = true
				e.assertStored(b)
				repoWantErr(t, "restore after the delete won", e.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrStatusConflict)
			default:
				t.Fatalf("neither won: restore %v, claim %v", restoreErr, claimErr)
			}
		}
		t.Logf("of %d races the restore won %d and the delete %d", rounds, restores, deletes)
	})

	run("a fence and creates racing for a free slot: exactly one wins, 50 rounds", repoFenceCreateRace)
	run("a fence and restores racing for a free slot: exactly one wins, 50 rounds", repoFenceRestoreRace)

	run("exactly one of 20 concurrent compare-and-set updates applies", func(t *testing.T, e *repoEnv) {
		for round := range 5 {
			b := e.create(e.newServer())
			errs := repoRace(20, func(i int) ports.Backup {
				next := b
				next.Status = ports.StatusFailed
				next.Error = fmt.Sprintf("settled by worker %d", i)
				return next
			}, func(next ports.Backup) error {
				return e.repo.Update(t.Context(), next, ports.StatusCreating)
			})
			ok, conflicts, other := repoTally(errs, ports.ErrStatusConflict)
			if ok != 1 || conflicts != 19 {
				t.Fatalf("round %d: %d updates applied and %d got ErrStatusConflict, want 1 and 19; other errors: %v", round, ok, conflicts, other)
			}
			winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
			if got, want := e.find(b.ID).Error, fmt.Sprintf("settled by worker %d", winner); got != want {
				t.Errorf("round %d: stored Error = %q, want the winner's %q", round, got, want)
			}
		}
	})
}

// The behaviours below are named in Run.

func repoSkippedRoundTrip(t *testing.T, e *repoEnv) {
	s := e.newServer()
	b := e.newBackup(s)
	b.Skipped = []ports.SkippedFile{
		{Path: "world/session.lock", Reason: "changed while it was being read"},
		{Path: "plugins/Ünïcödé ⛏/config.yml", Reason: `permission denied: "open" failed`},
		{Path: "run/server.sock", Reason: "a socket"},
	}
	b.SkippedCount = 7
	if err := e.repo.Create(t.Context(), b, repoLimit); err != nil {
		t.Fatalf("Create: %v", err)
	}
	stored := b
	stored.Skipped = slices.Clone(b.Skipped)
	b.Skipped[0].Reason = "changed by the caller after Create"
	e.assertStored(stored)

	// Each update replaces the list: reordered and shorter, then full, then empty.
	ready := e.move(stored, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusReady
		b.Skipped = []ports.SkippedFile{b.Skipped[2], b.Skipped[0]}
		b.SkippedCount = 2
	})
	e.assertStored(ready)
	repoAssertIDs(t, "ListByProvision", e.list(s.prov.ID), []ports.BackupID{ready.ID})
	if got := e.list(s.prov.ID)[0]; !sameBackup(got, ready) {
		t.Errorf("listed backup differs:\n got %s\nwant %s", describeBackup(got), describeBackup(ready))
	}
	full := e.move(ready, ports.StatusReady, func(b *ports.Backup) {
		b.Skipped = make([]ports.SkippedFile, ports.MaxSkippedListed)
		for i := range b.Skipped {
			b.Skipped[i] = ports.SkippedFile{Path: fmt.Sprintf("world/region/r.%d.0.mca", i), Reason: "permission denied"}
		}
		b.SkippedCount = 12345
	})
	e.assertStored(full)
	for _, none := range [][]ports.SkippedFile{{}, nil} {
		cleared := e.move(full, ports.StatusReady, func(b *ports.Backup) { b.Skipped, b.SkippedCount = none, 0 })
		if got := e.find(cleared.ID); len(got.Skipped) != 0 || got.SkippedCount != 0 {
			t.Errorf("after clearing with %#v: Skipped = %v, SkippedCount = %d; want none", none, got.Skipped, got.SkippedCount)
		}
	}
}

func repoSkippedRefused(t *testing.T, e *repoEnv) {
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
			s := e.newServer()
			b := e.newBackup(s)
			b.Skipped, b.SkippedCount = tc.skipped, tc.count
			if err := e.repo.Create(t.Context(), b, repoLimit); err == nil {
				t.Error("Create succeeded")
			}
			e.assertCount(s.prov.ID, 0)
			created := e.create(s)
			next := created
			next.Status = ports.StatusReady
			next.Skipped, next.SkippedCount = tc.skipped, tc.count
			if err := e.repo.Update(t.Context(), next, ports.StatusCreating); err == nil {
				t.Error("Update succeeded")
			}
			e.assertStored(created)
		})
	}
}

func repoFindByAsset(t *testing.T, e *repoEnv) {
	s := e.newServer()
	e.ready(s)
	b := e.create(s)
	archive := ports.Asset{
		ID: ports.ArchiveAssetID(b.ID), OwnerID: s.order.OwnerID, Key: "backups/" + b.ID.String() + ".tar.gz",
		FileName: "archive.tar.gz", ContentType: "application/gzip", SizeBytes: 4321, SHA256: repoDigest("archive"), CreatedAt: e.next(),
	}
	if err := e.host.CreateAsset(t.Context(), archive); err != nil {
		t.Fatalf("host: creating asset: %v", err)
	}
	b = e.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status, b.AssetID, b.SizeBytes, b.CompletedAt = ports.StatusReady, archive.ID, archive.SizeBytes, e.next()
	})
	e.create(s) // a backup without an asset yet
	got, err := e.repo.FindByAsset(t.Context(), archive.ID)
	if err != nil {
		t.Fatalf("FindByAsset: %v", err)
	}
	if !sameBackup(got, b) {
		t.Errorf("FindByAsset:\n got %s\nwant %s", describeBackup(got), describeBackup(b))
	}
	for name, id := range map[string]ports.AssetID{"an unknown asset": ports.NewAssetID(), "no asset": {}} {
		_, err := e.repo.FindByAsset(t.Context(), id)
		repoWantErr(t, "FindByAsset of "+name, err, ports.ErrNotFound)
	}
}

func repoListByOrder(t *testing.T, e *repoEnv) {
	s := e.newServer()
	second := repoServer{order: s.order, prov: e.newProvision(s.order.ID, false)}
	var want []ports.BackupID
	for _, on := range []repoServer{s, second, s, second} {
		want = append(want, e.ready(on).ID)
	}
	want = append(want, e.create(second).ID)
	slices.Reverse(want)
	other := e.newServer()
	e.ready(other)
	got, err := e.repo.ListByOrder(t.Context(), s.order.ID)
	if err != nil {
		t.Fatalf("ListByOrder: %v", err)
	}
	repoAssertIDs(t, "ListByOrder", got, want)
	for _, b := range got {
		e.assertStored(b)
	}
	if none, err := e.repo.ListByOrder(t.Context(), ports.NewOrderID()); err != nil || len(none) != 0 {
		t.Errorf("ListByOrder of an unknown order = %d backups, %v; want none", len(none), err)
	}
}

func repoMissing(t *testing.T, e *repoEnv) {
	s := e.newServer()
	kept := e.ready(s)
	gone := e.claim(e.fail(e.create(s)).ID)
	if err := e.repo.Delete(t.Context(), gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	running := e.create(s)
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
		got, err := e.repo.Missing(t.Context(), tc.ids)
		if err != nil {
			t.Errorf("Missing with %s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Missing with %s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func repoFenceTakesSlot(t *testing.T, e *repoEnv) {
	s, other := e.newServer(), e.newServer()
	f := e.fence(s.order.ID)
	repoWantErr(t, "second AcquireFence", e.repo.AcquireFence(t.Context(), e.newFence(s.order.ID)), ports.ErrFenced)
	repoWantErr(t, "AcquireFence with the holder's ID", e.repo.AcquireFence(t.Context(), f), ports.ErrFenced)
	e.fence(other.order.ID)
	e.assertActive(s.order.ID, false, "while fenced")
}

func repoCreateWhileFenced(t *testing.T, e *repoEnv) {
	s := e.newServer()
	e.settled(s, ports.StatusReady)
	e.fence(s.order.ID)
	repoWantErr(t, "Create", e.repo.Create(t.Context(), e.newBackup(s), repoLimit), ports.ErrFenced)
	repoWantErr(t, "Create at the limit", e.repo.Create(t.Context(), e.newBackup(s), 1), ports.ErrFenced)
	e.assertCount(s.prov.ID, 1)
	e.create(e.newServer()) // another order is not fenced
}

func repoRestoreWhileFenced(t *testing.T, e *repoEnv) {
	s := e.newServer()
	b := e.ready(s)
	claimed := e.claim(e.ready(s).ID)
	e.fence(s.order.ID)
	restoring := b
	restoring.Status, restoring.HeartbeatAt = ports.StatusRestoring, e.next()
	repoWantErr(t, "Update to restoring", e.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrFenced)
	e.assertStored(b)
	restoring.ID = claimed.ID
	repoWantErr(t, "Update of a claimed backup to restoring", e.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrStatusConflict)
	restoring.ID = ports.NewBackupID()
	repoWantErr(t, "Update of an unknown backup to restoring", e.repo.Update(t.Context(), restoring, ports.StatusReady), ports.ErrNotFound)
	e.move(b, ports.StatusReady, func(b *ports.Backup) { b.Error = "the last restore failed" })
	e.move(b, ports.StatusReady, func(b *ports.Backup) { b.Status = ports.StatusFailed })
}

func repoFenceWhileBusy(t *testing.T, e *repoEnv) {
	creating, restoring := e.newServer(), e.newServer()
	b := e.create(creating)
	e.restoring(restoring)
	for _, s := range []repoServer{creating, restoring} {
		repoWantErr(t, "AcquireFence", e.repo.AcquireFence(t.Context(), e.newFence(s.order.ID)), ports.ErrOperationInProgress)
	}
	e.finish(b)
	e.fence(creating.order.ID)
}

func repoReleaseFence(t *testing.T, e *repoEnv) {
	s := e.newServer()
	f := e.fence(s.order.ID)
	for range 2 {
		if err := e.repo.ReleaseFence(t.Context(), s.order.ID, f.ID); err != nil {
			t.Fatalf("ReleaseFence: %v", err)
		}
	}
	if err := e.repo.ReleaseFence(t.Context(), ports.NewOrderID(), ports.NewFenceID()); err != nil {
		t.Errorf("ReleaseFence of an unfenced order: %v", err)
	}
	g := e.fence(s.order.ID)
	if err := e.repo.ReleaseFence(t.Context(), s.order.ID, g.ID); err != nil {
		t.Fatalf("ReleaseFence: %v", err)
	}
	e.create(s)
}

func repoFenceWrongID(t *testing.T, e *repoEnv) {
	s, other := e.newServer(), e.newServer()
	old := e.fence(s.order.ID)
	if err := e.repo.ReleaseFence(t.Context(), s.order.ID, old.ID); err != nil {
		t.Fatalf("ReleaseFence: %v", err)
	}
	// A newer fence on the order, and a stale holder of the old one still calling.
	f := e.fence(s.order.ID)
	otherFence := e.fence(other.order.ID)
	for _, tc := range []struct {
		name  string
		order ports.OrderID
		id    ports.FenceID
	}{
		{"the released fence's ID", s.order.ID, old.ID},
		{"an unknown ID", s.order.ID, ports.NewFenceID()},
		{"another order's fence", s.order.ID, otherFence.ID},
		{"the right ID on another order", other.order.ID, f.ID},
	} {
		err := e.repo.HeartbeatFence(t.Context(), tc.order, tc.id, e.next())
		repoWantErr(t, "HeartbeatFence with "+tc.name, err, ports.ErrNotFound)
		if err := e.repo.ReleaseFence(t.Context(), tc.order, tc.id); err != nil {
			t.Errorf("ReleaseFence with %s: %v", tc.name, err)
		}
	}
	repoWantErr(t, "Create", e.repo.Create(t.Context(), e.newBackup(s), repoLimit), ports.ErrFenced)
	e.assertFences(repoEpoch().Add(1000*time.Hour), f, otherFence)
}

func repoFenceHeartbeat(t *testing.T, e *repoEnv) {
	s := e.newServer()
	f := e.fence(s.order.ID)
	at := e.next()
	if err := e.repo.HeartbeatFence(t.Context(), s.order.ID, f.ID, at); err != nil {
		t.Fatalf("HeartbeatFence: %v", err)
	}
	e.assertFences(at) // not older than its own heartbeat
	f.HeartbeatAt = at

	now := e.newServer()
	g := e.newFence(now.order.ID)
	g.AcquiredAt = time.Time{}
	if err := e.repo.AcquireFence(t.Context(), g); err != nil {
		t.Fatalf("AcquireFence: %v", err)
	}
	expired, err := e.repo.ExpireFences(t.Context(), at.Add(time.Hour))
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
	repoAssertFences(t, "ExpireFences", expired, f, g)
	repoWantErr(t, "HeartbeatFence after expiry", e.repo.HeartbeatFence(t.Context(), s.order.ID, f.ID, e.next()), ports.ErrNotFound)
}

func repoExpireFences(t *testing.T, e *repoEnv) {
	cutoff := repoEpoch().Add(24 * time.Hour)
	fenced := func(heartbeat time.Time) (repoServer, ports.Fence) {
		s := e.newServer()
		f := e.newFence(s.order.ID)
		f.AcquiredAt, f.HeartbeatAt = cutoff.Add(-time.Hour), heartbeat
		if err := e.repo.AcquireFence(t.Context(), f); err != nil {
			t.Fatalf("AcquireFence: %v", err)
		}
		return s, f
	}
	deadServer, dead := fenced(cutoff.Add(-10 * time.Minute))
	_, deadLonger := fenced(cutoff.Add(-20 * time.Minute))
	atCutoffServer, atCutoff := fenced(cutoff)
	_, alive := fenced(cutoff.Add(time.Minute))
	revivedServer, revived := fenced(cutoff.Add(-10 * time.Minute))
	if err := e.repo.HeartbeatFence(t.Context(), revivedServer.order.ID, revived.ID, cutoff.Add(time.Second)); err != nil {
		t.Fatalf("HeartbeatFence: %v", err)
	}

	e.assertFences(cutoff, dead, deadLonger)
	e.create(deadServer)
	repoWantErr(t, "Create on the fence at the cutoff", e.repo.Create(t.Context(), e.newBackup(atCutoffServer), repoLimit), ports.ErrFenced)
	e.assertFences(cutoff)
	revived.HeartbeatAt = cutoff.Add(time.Second)
	e.assertFences(cutoff.Add(time.Hour), atCutoff, alive, revived)
}

// repoFenceCreateRace fires fences and creates at one order's free slot.
func repoFenceCreateRace(t *testing.T, e *repoEnv) {
	for round := range 50 {
		s := e.newServer()
		var fences, creates atomic.Int32
		errs := repoRace(8, func(i int) func() error {
			if i%2 == 0 {
				f := e.newFence(s.order.ID)
				return func() error { return repoCounted(&fences, e.repo.AcquireFence(t.Context(), f)) }
			}
			b := e.newBackup(s)
			return func() error { return repoCounted(&creates, e.repo.Create(t.Context(), b, repoLimit)) }
		}, func(claim func() error) error { return claim() })
		ok, refused, other := repoTally(errs, ports.ErrOperationInProgress, ports.ErrFenced)
		if ok != 1 || refused != len(errs)-1 {
			t.Fatalf("round %d: %d fences and %d creates won, %d refused; want exactly one winner; other errors: %v",
				round, fences.Load(), creates.Load(), refused, other)
		}
		e.assertCount(s.prov.ID, int(creates.Load()))
		e.assertActive(s.order.ID, creates.Load() == 1, "after the race")
	}
}

// repoFenceRestoreRace fires fences and restores of one ready backup at its
// order's free slot.
func repoFenceRestoreRace(t *testing.T, e *repoEnv) {
	for round := range 50 {
		b := e.ready(e.newServer())
		var fences, restores atomic.Int32
		errs := repoRace(8, func(i int) func() error {
			if i%2 == 0 {
				f := e.newFence(b.OrderID)
				return func() error { return repoCounted(&fences, e.repo.AcquireFence(t.Context(), f)) }
			}
			next := b
			next.Status, next.HeartbeatAt = ports.StatusRestoring, e.next()
			return func() error { return repoCounted(&restores, e.repo.Update(t.Context(), next, ports.StatusReady)) }
		}, func(claim func() error) error { return claim() })
		ok, refused, other := repoTally(errs, ports.ErrOperationInProgress, ports.ErrFenced, ports.ErrStatusConflict)
		if ok != 1 || refused != len(errs)-1 {
			t.Fatalf("round %d: %d fences and %d restores won, %d refused; want exactly one winner; other errors: %v",
				round, fences.Load(), restores.Load(), refused, other)
		}
		want := ports.StatusReady
		if restores.Load() == 1 {
			want = ports.StatusRestoring
		}
		if got := e.find(b.ID).Status; got != want {
			t.Errorf("round %d: the backup is %s, want %s", round, got, want)
		}
	}
}

// repoCounted counts a success in n and returns err.
func repoCounted(n *atomic.Int32, err error) error {
	if err == nil {
		n.Add(1)
	}
	return err
}

// repoEnv is one subtest's repository, host and clock, with helpers that fail
// the test when a step that should work does not.
type repoEnv struct {
	t    *testing.T
	repo ports.Repository
	host Host
	tick atomic.Int64
}

// repoServer is an order with its primary game-server provision: what backups belong to.
type repoServer struct {
	order ports.Order
	prov  ports.Provision
}

// next returns a time one second after the previous one, so that backups are
// created in a known order.
func (e *repoEnv) next() time.Time {
	return repoEpoch().Add(time.Duration(e.tick.Add(1)) * time.Second)
}

func (e *repoEnv) newServer() repoServer {
	e.t.Helper()
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
	if err := e.host.CreateOrder(e.t.Context(), o); err != nil {
		e.t.Fatalf("host: creating order: %v", err)
	}
	return repoServer{order: o, prov: e.newProvision(o.ID, true)}
}

func (e *repoEnv) newProvision(order ports.OrderID, primary bool) ports.Provision {
	e.t.Helper()
	p := ports.Provision{ID: ports.NewProvisionID(), OrderID: order, Kind: ports.KindDeployment, Primary: primary, Role: ports.RoleGameServer}
	if err := e.host.CreateProvision(e.t.Context(), p); err != nil {
		e.t.Fatalf("host: creating provision: %v", err)
	}
	return p
}

func (e *repoEnv) newAsset(s repoServer) ports.Asset {
	e.t.Helper()
	a := ports.Asset{
		ID: ports.NewAssetID(), OwnerID: s.order.OwnerID, Key: "backups/" + s.order.ID.String() + "/archive.tar.gz",
		FileName: "archive.tar.gz", ContentType: "application/gzip", SizeBytes: 1234, SHA256: repoDigest("asset"), CreatedAt: e.next(),
	}
	if err := e.host.CreateAsset(e.t.Context(), a); err != nil {
		e.t.Fatalf("host: creating asset: %v", err)
	}
	return a
}

// newBackup returns a backup as the service creates it; it is not stored.
func (e *repoEnv) newBackup(s repoServer) ports.Backup {
	at := e.next()
	return ports.Backup{
		ID: ports.NewBackupID(), OrderID: s.order.ID, ProvisionID: s.prov.ID,
		Name: "Backup " + at.Format("2006-01-02 15:04:05 UTC"), Status: ports.StatusCreating,
		CreatedAt: at, HeartbeatAt: at,
	}
}

func (e *repoEnv) create(s repoServer) ports.Backup {
	e.t.Helper()
	b := e.newBackup(s)
	if err := e.repo.Create(e.t.Context(), b, repoLimit); err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return b
}

// move stores edit(b) with a compare-and-set from status from, and returns it.
func (e *repoEnv) move(b ports.Backup, from ports.Status, edit func(*ports.Backup)) ports.Backup {
	e.t.Helper()
	edit(&b)
	if err := e.repo.Update(e.t.Context(), b, from); err != nil {
		e.t.Fatalf("Update %s → %s: %v", from, b.Status, err)
	}
	return b
}

func (e *repoEnv) finish(b ports.Backup) ports.Backup {
	e.t.Helper()
	asset := e.newAsset(repoServer{order: ports.Order{ID: b.OrderID, OwnerID: ports.NewUserID()}})
	return e.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusReady
		b.AssetID = asset.ID
		b.SizeBytes = asset.SizeBytes
		b.SHA256 = repoDigest(b.ID.String())
		b.CompletedAt = e.next()
	})
}

func (e *repoEnv) fail(b ports.Backup) ports.Backup {
	e.t.Helper()
	return e.move(b, ports.StatusCreating, func(b *ports.Backup) {
		b.Status = ports.StatusFailed
		b.Error = "compressing the server files failed"
		b.CompletedAt = e.next()
	})
}

func (e *repoEnv) startRestore(b ports.Backup) ports.Backup {
	e.t.Helper()
	return e.move(b, ports.StatusReady, func(b *ports.Backup) {
		b.Status = ports.StatusRestoring
		b.HeartbeatAt = e.next()
	})
}

func (e *repoEnv) ready(s repoServer) ports.Backup { e.t.Helper(); return e.finish(e.create(s)) }
func (e *repoEnv) restoring(s repoServer) ports.Backup {
	e.t.Helper()
	return e.startRestore(e.ready(s))
}

// settled creates a backup that ends ready or failed.
func (e *repoEnv) settled(s repoServer, st ports.Status) ports.Backup {
	e.t.Helper()
	switch st {
	case ports.StatusReady:
		return e.ready(s)
	case ports.StatusFailed:
		return e.fail(e.create(s))
	}
	e.t.Fatalf("portstest: settled(%s)", st)
	return ports.Backup{}
}

// newFence returns a fence on the order as a host takes it; it is not acquired.
func (e *repoEnv) newFence(order ports.OrderID) ports.Fence {
	return ports.Fence{ID: ports.NewFenceID(), OrderID: order, AcquiredAt: e.next(), HeartbeatAt: e.next()}
}

// fence acquires a new fence on the order.
func (e *repoEnv) fence(order ports.OrderID) ports.Fence {
	e.t.Helper()
	f := e.newFence(order)
	if err := e.repo.AcquireFence(e.t.Context(), f); err != nil {
		e.t.Fatalf("AcquireFence: %v", err)
	}
	return f
}

// assertFences expires the fences silent since before, and checks that they are
// exactly want.
func (e *repoEnv) assertFences(before time.Time, want ...ports.Fence) {
	e.t.Helper()
	got, err := e.repo.ExpireFences(e.t.Context(), before)
	if err != nil {
		e.t.Fatalf("ExpireFences: %v", err)
	}
	repoAssertFences(e.t, "ExpireFences", got, want...)
}

func repoAssertFences(t *testing.T, what string, got []ports.Fence, want ...ports.Fence) {
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

func (e *repoEnv) claim(id ports.BackupID) ports.Backup {
	e.t.Helper()
	b, err := e.repo.ClaimForDelete(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("ClaimForDelete: %v", err)
	}
	return b
}

func (e *repoEnv) find(id ports.BackupID) ports.Backup {
	e.t.Helper()
	b, err := e.repo.Find(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("Find %s: %v", id, err)
	}
	return b
}

func (e *repoEnv) list(p ports.ProvisionID) []ports.Backup {
	e.t.Helper()
	list, err := e.repo.ListByProvision(e.t.Context(), p)
	if err != nil {
		e.t.Fatalf("ListByProvision: %v", err)
	}
	return list
}

func (e *repoEnv) count(p ports.ProvisionID) int {
	e.t.Helper()
	n, err := e.repo.CountByProvision(e.t.Context(), p)
	if err != nil {
		e.t.Fatalf("CountByProvision: %v", err)
	}
	return n
}

func (e *repoEnv) assertStored(want ports.Backup) {
	e.t.Helper()
	if got := e.find(want.ID); !sameBackup(got, want) {
		e.t.Errorf("stored backup differs:\n got %s\nwant %s", describeBackup(got), describeBackup(want))
	}
}

func (e *repoEnv) assertCount(p ports.ProvisionID, want int) {
	e.t.Helper()
	if got := e.count(p); got != want {
		e.t.Errorf("CountByProvision = %d, want %d", got, want)
	}
	if got := len(e.list(p)); got != want {
		e.t.Errorf("ListByProvision returned %d backups, want %d", got, want)
	}
}

func (e *repoEnv) assertActive(order ports.OrderID, want bool, when string) {
	e.t.Helper()
	got, err := e.repo.HasActiveOperation(e.t.Context(), order)
	if err != nil {
		e.t.Fatalf("HasActiveOperation: %v", err)
	}
	if got != want {
		e.t.Errorf("HasActiveOperation %s = %v, want %v", when, got, want)
	}
}

// repoRace prepares n inputs, then runs do on all of them at once and returns each
// call's error, by input.
func repoRace[T any](n int, prepare func(i int) T, do func(T) error) []error {
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

// repoTally counts successes and errors matching any of expected, and returns the rest.
func repoTally(errs []error, expected ...error) (ok, matched int, other []error) {
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

func repoWantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func repoAssertIDs(t *testing.T, what string, got []ports.Backup, want []ports.BackupID) {
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
// An empty list of skipped files equals none.
func sameBackup(a, b ports.Backup) bool {
	a, b = backupInUTC(a), backupInUTC(b)
	if !slices.Equal(a.Skipped, b.Skipped) {
		return false
	}
	a.Skipped, b.Skipped = nil, nil
	return reflect.DeepEqual(a, b)
}

func backupInUTC(b ports.Backup) ports.Backup {
	b.CreatedAt = b.CreatedAt.UTC()
	b.CompletedAt = b.CompletedAt.UTC()
	b.HeartbeatAt = b.HeartbeatAt.UTC()
	b.LastRestoredAt = b.LastRestoredAt.UTC()
	return b
}

func describeBackup(b ports.Backup) string { return fmt.Sprintf("%+v", backupInUTC(b)) }

func describeBackups(list []ports.Backup) string {
	var s strings.Builder
	for _, b := range list {
		s.WriteString("  " + describeBackup(b) + "\n")
	}
	return s.String()
}

func repoDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// AssetsHarness describes a ports.Assets implementation to the contract suite.
type AssetsHarness struct {
	// New returns an assets store holding no assets, for one subtest. It registers
	// its own cleanup and must be safe to call from parallel subtests.
	New func(t *testing.T) ports.Assets
}

// RunAssetsTests runs the Assets contract suite: the port's documented semantics,
// plus that ID, OwnerID and Key are required, a duplicate ID is refused and leaves
// the first asset as it was, a zero CreatedAt means now, and times round-trip at
// microsecond precision.
func RunAssetsTests(t *testing.T, h AssetsHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: AssetsHarness.New is nil")
	}
	newAsset := func() ports.Asset {
		id := ports.NewAssetID()
		return ports.Asset{
			ID: id, OwnerID: ports.NewUserID(), Key: "backups/" + id.String() + ".tar.gz",
			FileName: "Backup 2026-03-14 15:09 UTC.tar.gz", ContentType: "application/gzip",
			SizeBytes: 3 << 30, SHA256: repoDigest(id.String()), CreatedAt: repoEpoch(),
		}
	}
	get := func(t *testing.T, s ports.Assets, id ports.AssetID) ports.Asset {
		t.Helper()
		a, err := s.GetAsset(t.Context(), id)
		if err != nil {
			t.Fatalf("GetAsset: %v", err)
		}
		a.CreatedAt = a.CreatedAt.UTC()
		return a
	}
	run := func(name string, test func(t *testing.T, s ports.Assets)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, h.New(t))
		})
	}

	run("a created asset is returned with every field", func(t *testing.T, s ports.Assets) {
		a := newAsset()
		if err := s.CreateAsset(t.Context(), a); err != nil {
			t.Fatalf("CreateAsset: %v", err)
		}
		if got := get(t, s, a.ID); got != a {
			t.Errorf("GetAsset:\n got %+v\nwant %+v", got, a)
		}
	})

	run("an asset created without a time is stamped with the current time", func(t *testing.T, s ports.Assets) {
		a := newAsset()
		a.CreatedAt = time.Time{}
		if err := s.CreateAsset(t.Context(), a); err != nil {
			t.Fatalf("CreateAsset: %v", err)
		}
		if d := time.Since(get(t, s, a.ID).CreatedAt); d < -5*time.Minute || d > 5*time.Minute {
			t.Errorf("CreatedAt is %v away from now", d)
		}
	})

	run("an unknown asset is not found", func(t *testing.T, s ports.Assets) {
		_, err := s.GetAsset(t.Context(), ports.NewAssetID())
		repoWantErr(t, "GetAsset", err, ports.ErrNotFound)
	})

	run("a second asset with the same ID is refused and the first kept", func(t *testing.T, s ports.Assets) {
		a := newAsset()
		if err := s.CreateAsset(t.Context(), a); err != nil {
			t.Fatalf("CreateAsset: %v", err)
		}
		dup := newAsset()
		dup.ID = a.ID
		if err := s.CreateAsset(t.Context(), dup); err == nil {
			t.Fatal("CreateAsset with a duplicate ID succeeded")
		}
		if got := get(t, s, a.ID); got != a {
			t.Errorf("after the refused duplicate:\n got %+v\nwant %+v", got, a)
		}
	})

	run("an asset without an ID, owner or key is refused", func(t *testing.T, s ports.Assets) {
		for _, tc := range []struct {
			name string
			edit func(*ports.Asset)
		}{
			{"no ID", func(a *ports.Asset) { a.ID = ports.AssetID{} }},
			{"no owner", func(a *ports.Asset) { a.OwnerID = ports.UserID{} }},
			{"no key", func(a *ports.Asset) { a.Key = "" }},
		} {
			a := newAsset()
			tc.edit(&a)
			if err := s.CreateAsset(t.Context(), a); err == nil {
				t.Errorf("CreateAsset with %s succeeded", tc.name)
			}
		}
	})

	run("a deleted asset is gone, and deleting it again is not an error", func(t *testing.T, s ports.Assets) {
		a, keep := newAsset(), newAsset()
		for _, x := range []ports.Asset{a, keep} {
			if err := s.CreateAsset(t.Context(), x); err != nil {
				t.Fatalf("CreateAsset: %v", err)
			}
		}
		if err := s.DeleteAsset(t.Context(), a.ID); err != nil {
			t.Fatalf("DeleteAsset: %v", err)
		}
		_, err := s.GetAsset(t.Context(), a.ID)
		repoWantErr(t, "GetAsset after DeleteAsset", err, ports.ErrNotFound)
		if err := s.DeleteAsset(t.Context(), a.ID); err != nil {
			t.Errorf("second DeleteAsset: %v", err)
		}
		if err := s.DeleteAsset(t.Context(), ports.NewAssetID()); err != nil {
			t.Errorf("DeleteAsset of an unknown asset: %v", err)
		}
		get(t, s, keep.ID)
	})
}

// Catalog is a host catalog a test can fill: the ports it serves to the service,
// and the methods that record orders, provisions and permissions.
type Catalog interface {
	ports.Orders
	ports.Permissions
	CreateOrder(ctx context.Context, o ports.Order) error
	CreateProvision(ctx context.Context, p ports.Provision) error
	GrantViewAllOrders(ctx context.Context, user ports.UserID) error
}

// CatalogHarness describes a Catalog implementation to the contract suite.
type CatalogHarness struct {
	// New returns an empty catalog, for one subtest. It registers its own cleanup
	// and must be safe to call from parallel subtests.
	New func(t *testing.T) Catalog
}

// RunCatalogTests runs the Catalog contract suite: the ports' documented
// semantics, plus that a duplicate ID is refused, a provision needs an existing
// order (ErrNotFound otherwise), and granting twice is not an error.
func RunCatalogTests(t *testing.T, h CatalogHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("portstest: CatalogHarness.New is nil")
	}
	run := func(name string, test func(t *testing.T, c Catalog)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, h.New(t))
		})
	}
	newOrder := func(t *testing.T, c Catalog) ports.Order {
		t.Helper()
		o := ports.Order{ID: ports.NewOrderID(), OwnerID: ports.NewUserID()}
		if err := c.CreateOrder(t.Context(), o); err != nil {
			t.Fatalf("CreateOrder: %v", err)
		}
		return o
	}
	newProvision := func(t *testing.T, c Catalog, order ports.OrderID, role ports.ProvisionRole, primary bool) ports.Provision {
		t.Helper()
		p := ports.Provision{ID: ports.NewProvisionID(), OrderID: order, Kind: ports.KindDeployment, Primary: primary, Role: role}
		if err := c.CreateProvision(t.Context(), p); err != nil {
			t.Fatalf("CreateProvision: %v", err)
		}
		return p
	}

	run("a created order is returned as it was recorded", func(t *testing.T, c Catalog) {
		o := newOrder(t, c)
		got, err := c.GetOrder(t.Context(), o.ID)
		if err != nil || got != o {
			t.Errorf("GetOrder = %+v, %v; want %+v", got, err, o)
		}
	})

	run("an unknown order or provision is not found", func(t *testing.T, c Catalog) {
		_, err := c.GetOrder(t.Context(), ports.NewOrderID())
		repoWantErr(t, "GetOrder", err, ports.ErrNotFound)
		_, err = c.GetProvision(t.Context(), ports.NewProvisionID())
		repoWantErr(t, "GetProvision", err, ports.ErrNotFound)
	})

	run("a second order with the same ID is refused", func(t *testing.T, c Catalog) {
		o := newOrder(t, c)
		if err := c.CreateOrder(t.Context(), ports.Order{ID: o.ID, OwnerID: ports.NewUserID()}); err == nil {
			t.Fatal("CreateOrder with a duplicate ID succeeded")
		}
		if got, _ := c.GetOrder(t.Context(), o.ID); got != o {
			t.Errorf("after the refused duplicate GetOrder = %+v, want %+v", got, o)
		}
	})

	run("a created provision is returned with every field", func(t *testing.T, c Catalog) {
		o := newOrder(t, c)
		for _, p := range []ports.Provision{
			{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer},
			{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar},
			{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer, HasSidecar: true},
			{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: "database", Role: "mysql"}, // kinds the host invents
		} {
			if err := c.CreateProvision(t.Context(), p); err != nil {
				t.Fatalf("CreateProvision: %v", err)
			}
			got, err := c.GetProvision(t.Context(), p.ID)
			if err != nil || got != p {
				t.Errorf("GetProvision = %+v, %v; want %+v", got, err, p)
			}
		}
	})

	run("a provision of an unknown order is refused as not found", func(t *testing.T, c Catalog) {
		p := ports.Provision{ID: ports.NewProvisionID(), OrderID: ports.NewOrderID(), Kind: ports.KindDeployment, Role: ports.RoleGameServer}
		repoWantErr(t, "CreateProvision", c.CreateProvision(t.Context(), p), ports.ErrNotFound)
		_, err := c.GetProvision(t.Context(), p.ID)
		repoWantErr(t, "GetProvision of the refused provision", err, ports.ErrNotFound)
	})

	run("listing provisions returns exactly the order's own", func(t *testing.T, c Catalog) {
		o, other := newOrder(t, c), newOrder(t, c)
		want := []ports.Provision{
			newProvision(t, c, o.ID, ports.RoleGameServer, true),
			newProvision(t, c, o.ID, ports.RoleSidecar, false),
		}
		newProvision(t, c, other.ID, ports.RoleGameServer, true)
		got, err := c.ListProvisions(t.Context(), o.ID)
		if err != nil {
			t.Fatalf("ListProvisions: %v", err)
		}
		byID := func(a, b ports.Provision) int { return strings.Compare(a.ID.String(), b.ID.String()) }
		slices.SortFunc(got, byID)
		slices.SortFunc(want, byID)
		if !slices.Equal(got, want) {
			t.Errorf("ListProvisions:\n got %+v\nwant %+v", got, want)
		}
		none, err := c.ListProvisions(t.Context(), ports.NewOrderID())
		if err != nil || len(none) != 0 {
			t.Errorf("ListProvisions of an unknown order = %+v, %v; want none", none, err)
		}
	})

	run("only users granted ViewAllOrders can view all orders", func(t *testing.T, c Catalog) {
		staff, customer := ports.NewUserID(), ports.NewUserID()
		check := func(user ports.UserID, want bool, who string) {
			t.Helper()
			got, err := c.CanViewAllOrders(t.Context(), user)
			if err != nil || got != want {
				t.Errorf("CanViewAllOrders(%s) = %v, %v; want %v", who, got, err, want)
			}
		}
		check(staff, false, "staff before the grant")
		for range 2 { // granting twice is not an error
			if err := c.GrantViewAllOrders(t.Context(), staff); err != nil {
				t.Fatalf("GrantViewAllOrders: %v", err)
			}
		}
		check(staff, true, "staff")
		check(customer, false, "a customer")
	})
}

package backup_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

var allEvents = []backup.EventKind{
	backup.EventStored, backup.EventFailed, backup.EventRestoreRequested,
	backup.EventRestored, backup.EventDeleteRequested, backup.EventLockRequested,
	backup.EventUnlockRequested, backup.EventOrderDeleted,
}

var allStatuses = []ports.Status{ports.StatusCreating, ports.StatusReady, ports.StatusFailed, ports.StatusRestoring}

// TestApplyEveryStatusAndEvent walks the whole (status, deleting, locked,
// event) space. The legal moves are the lifecycle's, written out here rather
// than derived from the code under test; everything else must be refused and
// leave the backup alone: a delete request of a locked backup as locked, the
// rest as a status conflict.
func TestApplyEveryStatusAndEvent(t *testing.T) {
	type key struct {
		from     ports.Status
		deleting bool
		locked   bool
		event    backup.EventKind
	}
	type outcome struct {
		status ports.Status
		locked bool
	}
	legal := map[key]outcome{}
	// The operations, the same whether or not the backup is locked; a lock
	// outlasts them.
	for _, locked := range []bool{false, true} {
		for k, to := range map[key]ports.Status{
			{ports.StatusCreating, false, locked, backup.EventStored}:        ports.StatusReady,
			{ports.StatusCreating, false, locked, backup.EventFailed}:        ports.StatusFailed,
			{ports.StatusReady, false, locked, backup.EventRestoreRequested}: ports.StatusRestoring,
			{ports.StatusRestoring, false, locked, backup.EventRestored}:     ports.StatusReady,
			{ports.StatusRestoring, false, locked, backup.EventFailed}:       ports.StatusReady,
			{ports.StatusReady, false, locked, backup.EventOrderDeleted}:     ports.StatusReady,
			{ports.StatusFailed, false, locked, backup.EventOrderDeleted}:    ports.StatusFailed,
			{ports.StatusReady, true, locked, backup.EventOrderDeleted}:      ports.StatusReady,
			{ports.StatusFailed, true, locked, backup.EventOrderDeleted}:     ports.StatusFailed,
		} {
			legal[k] = outcome{to, locked}
		}
	}
	// A user's delete only of an unlocked backup.
	for k, to := range map[key]ports.Status{
		{ports.StatusReady, false, false, backup.EventDeleteRequested}:  ports.StatusReady,
		{ports.StatusFailed, false, false, backup.EventDeleteRequested}: ports.StatusFailed,
		{ports.StatusReady, true, false, backup.EventDeleteRequested}:   ports.StatusReady,
		{ports.StatusFailed, true, false, backup.EventDeleteRequested}:  ports.StatusFailed,
	} {
		legal[k] = outcome{to, false}
	}
	// Locking and unlocking, in every status, until a delete claims the backup.
	for _, from := range allStatuses {
		for _, locked := range []bool{false, true} {
			legal[key{from, false, locked, backup.EventLockRequested}] = outcome{from, true}
			legal[key{from, false, locked, backup.EventUnlockRequested}] = outcome{from, false}
		}
	}
	seen := 0
	for _, from := range allStatuses {
		for _, deleting := range []bool{false, true} {
			for _, locked := range []bool{false, true} {
				for _, ev := range append(allEvents, 0, 99) {
					want, ok := legal[key{from, deleting, locked, ev}]
					name := fmt.Sprintf("%s backup (deleting=%t, locked=%t) given %q", from, deleting, locked, ev)
					if ok {
						seen++
						name += fmt.Sprintf(" becomes %s (locked=%t)", want.status, want.locked)
					} else {
						name += " is refused"
					}
					t.Run(name, func(t *testing.T) {
						b := ports.Backup{ID: ports.NewBackupID(), Status: from, Deleting: deleting, Locked: locked, Error: "earlier failure"}
						got, err := backup.Apply(b, backup.Event{Kind: ev, At: fixedNow, Reason: "why"})
						if !ok {
							refusal := backup.ErrStatusConflict
							if locked && ev == backup.EventDeleteRequested {
								refusal = backup.ErrBackupLocked
							}
							if !errors.Is(err, refusal) {
								t.Fatalf("Apply = %v, want %v", err, refusal)
							}
							if !reflect.DeepEqual(got, b) {
								t.Fatalf("a refused event changed the backup: %+v", got)
							}
							return
						}
						if err != nil {
							t.Fatalf("Apply: %v", err)
						}
						if got.Status != want.status || got.Locked != want.locked {
							t.Fatalf("status %s, locked %t; want %s, %t", got.Status, got.Locked, want.status, want.locked)
						}
						if got.Deleting != deleting || got.ID != b.ID {
							t.Fatalf("Apply changed identity or the delete claim: %+v", got)
						}
					})
				}
			}
		}
	}
	if seen != len(legal) {
		t.Fatalf("walked %d legal moves, the table lists %d", seen, len(legal))
	}
}

func TestApplyRecordsWhatEachTransitionSays(t *testing.T) {
	at := fixedNow.Add(time.Minute)
	asset := ports.NewAssetID()

	t.Run("stored records the archive and when it completed", func(t *testing.T) {
		b := ports.Backup{Status: ports.StatusCreating, Error: "stale text"}
		got, err := backup.Apply(b, backup.Event{Kind: backup.EventStored, At: at, AssetID: asset, SizeBytes: 42, SHA256: "ab12"})
		if err != nil {
			t.Fatal(err)
		}
		if got.AssetID != asset || got.SizeBytes != 42 || got.SHA256 != "ab12" || !got.CompletedAt.Equal(at) || got.Error != "" {
			t.Fatalf("stored backup %+v", got)
		}
	})
	t.Run("a failed create keeps the reason and when it ended", func(t *testing.T) {
		got, err := backup.Apply(ports.Backup{Status: ports.StatusCreating}, backup.Event{Kind: backup.EventFailed, At: at, Reason: "disk on fire"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ports.StatusFailed || got.Error != "disk on fire" || !got.CompletedAt.Equal(at) {
			t.Fatalf("failed backup %+v", got)
		}
	})
	t.Run("a restore request clears the last error, refreshes the heartbeat and starts the progress", func(t *testing.T) {
		b := ports.Backup{Status: ports.StatusReady, Error: "Restore failed: earlier", HeartbeatAt: fixedNow.Add(-time.Hour), SizeBytes: 7 << 20}
		got, err := backup.Apply(b, backup.Event{Kind: backup.EventRestoreRequested, At: at})
		if err != nil {
			t.Fatal(err)
		}
		want := ports.Progress{DoneBytes: 0, TotalBytes: 7 << 20, StartedAt: at}
		if got.Error != "" || !got.HeartbeatAt.Equal(at) || got.Progress == nil || *got.Progress != want {
			t.Fatalf("restoring backup %+v, progress %+v, want %+v", got, got.Progress, want)
		}
	})
	t.Run("every way out of creating and restoring clears the progress", func(t *testing.T) {
		running := &ports.Progress{DoneBytes: 5, TotalBytes: 9, StartedAt: fixedNow}
		for _, tc := range []struct {
			from ports.Status
			kind backup.EventKind
		}{
			{ports.StatusCreating, backup.EventStored}, {ports.StatusCreating, backup.EventFailed},
			{ports.StatusRestoring, backup.EventRestored}, {ports.StatusRestoring, backup.EventFailed},
		} {
			got, err := backup.Apply(ports.Backup{Status: tc.from, Progress: running}, backup.Event{Kind: tc.kind, At: at, Reason: "why"})
			if err != nil || got.Progress != nil {
				t.Errorf("%s on a %s backup: progress %+v, %v; want none", tc.kind, tc.from, got.Progress, err)
			}
		}
	})
	t.Run("a finished restore records when and keeps the archive", func(t *testing.T) {
		b := ports.Backup{Status: ports.StatusRestoring, AssetID: asset, SizeBytes: 7, SHA256: "cd"}
		got, err := backup.Apply(b, backup.Event{Kind: backup.EventRestored, At: at})
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastRestoredAt.Equal(at) || got.AssetID != asset || got.SizeBytes != 7 || got.SHA256 != "cd" {
			t.Fatalf("restored backup %+v", got)
		}
	})
	t.Run("a failed restore leaves the archive usable and says why", func(t *testing.T) {
		b := ports.Backup{Status: ports.StatusRestoring, AssetID: asset, SizeBytes: 7, SHA256: "cd", LastRestoredAt: fixedNow}
		got, err := backup.Apply(b, backup.Event{Kind: backup.EventFailed, At: at, Reason: "Restore failed: no space"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ports.StatusReady || got.Error != "Restore failed: no space" || got.AssetID != asset || got.SHA256 != "cd" || !got.LastRestoredAt.Equal(fixedNow) {
			t.Fatalf("backup after a failed restore %+v", got)
		}
	})
	t.Run("locking and unlocking change nothing but the lock, the running operation's progress included", func(t *testing.T) {
		running := ports.Backup{Status: ports.StatusCreating, Error: "kept", HeartbeatAt: fixedNow,
			Progress: &ports.Progress{DoneBytes: 5, TotalBytes: 9, StartedAt: fixedNow}}
		locked, err := backup.Apply(running, backup.Event{Kind: backup.EventLockRequested, At: at})
		if err != nil {
			t.Fatal(err)
		}
		want := running
		want.Locked = true
		if !reflect.DeepEqual(locked, want) {
			t.Fatalf("locked backup %+v, want %+v", locked, want)
		}
		unlocked, err := backup.Apply(locked, backup.Event{Kind: backup.EventUnlockRequested, At: at})
		if err != nil || !reflect.DeepEqual(unlocked, running) {
			t.Fatalf("unlocked backup %+v, %v; want %+v", unlocked, err, running)
		}
	})
	t.Run("a refusal names the event and the status", func(t *testing.T) {
		_, err := backup.Apply(ports.Backup{Status: ports.StatusCreating}, backup.Event{Kind: backup.EventRestoreRequested})
		if err == nil || !strings.Contains(err.Error(), "restore requested") || !strings.Contains(err.Error(), "creating") {
			t.Fatalf("error %v should name the event and the status", err)
		}
	})
}

func TestEventKindString(t *testing.T) {
	for kind, want := range map[backup.EventKind]string{
		backup.EventStored: "stored", backup.EventFailed: "failed",
		backup.EventRestoreRequested: "restore requested", backup.EventRestored: "restored",
		backup.EventDeleteRequested: "delete requested", backup.EventLockRequested: "lock requested",
		backup.EventUnlockRequested: "unlock requested", backup.EventOrderDeleted: "order deleted",
		0: "EventKind(0)", 42: "EventKind(42)",
	} {
		if got := kind.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q, want %q", int(kind), got, want)
		}
	}
}

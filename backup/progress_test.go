package backup_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// progressLog is a Repository that keeps every progress the service saves, as
// a replica that polls the backup would see them one after the other.
type progressLog struct {
	ports.Repository
	mu    sync.Mutex
	saved map[ports.BackupID][]ports.Progress
}

func (l *progressLog) Heartbeat(ctx context.Context, id ports.BackupID, s ports.Status, at time.Time, p *ports.Progress) error {
	err := l.Repository.Heartbeat(ctx, id, s, at, p)
	if err == nil && p != nil {
		l.mu.Lock()
		l.saved[id] = append(l.saved[id], *p)
		l.mu.Unlock()
	}
	return err
}

func (l *progressLog) of(id ports.BackupID) []ports.Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.saved[id])
}

// logProgress makes the twin's service save progress through a progressLog.
func (tw *twin) logProgress() *progressLog {
	l := &progressLog{Repository: tw.deps.Repository, saved: map[ports.BackupID][]ports.Progress{}}
	tw.deps.Repository = l
	tw.svc = tw.replica()
	return l
}

// assertProgress fails unless the saved progress never moved backwards, kept
// its start, and ended at 100% of total (total 0: whatever the operation did).
func assertProgress(t *testing.T, saved []ports.Progress, started time.Time, total int64) {
	t.Helper()
	if len(saved) == 0 {
		t.Fatal("no progress was saved")
	}
	for i, p := range saved {
		if !p.StartedAt.Equal(started) {
			t.Fatalf("progress %d started %v, want %v", i, p.StartedAt, started)
		}
		if p.TotalBytes > 0 && p.DoneBytes > p.TotalBytes {
			t.Fatalf("progress %d: %d of %d bytes", i, p.DoneBytes, p.TotalBytes)
		}
		if i > 0 && (p.DoneBytes < saved[i-1].DoneBytes || p.TotalBytes < saved[i-1].TotalBytes) {
			t.Fatalf("progress moved backwards: %+v then %+v", saved[i-1], p)
		}
	}
	last := saved[len(saved)-1]
	if last.DoneBytes != last.TotalBytes || last.DoneBytes <= 0 || (total > 0 && last.TotalBytes != total) {
		t.Fatalf("the last progress saved is %d of %d bytes, want 100%% of %d", last.DoneBytes, last.TotalBytes, total)
	}
}

func TestCreateReportsProgress(t *testing.T) {
	tw := newTwin(t)
	saved := tw.logProgress()
	writeFile(t, filepath.Join(tw.data, "world", "region.mca"), string(archive(256<<10)))

	b, err := tw.create("with progress")
	must(t, err)
	if p := b.Progress; p == nil || p.DoneBytes != 0 || !p.StartedAt.Equal(b.CreatedAt) {
		t.Fatalf("a create starts with progress %+v, want 0 bytes from %v", p, b.CreatedAt)
	}
	got := tw.settled(b.ID)
	if got.Status != ports.StatusReady || got.Progress != nil {
		t.Fatalf("after the create: %s with progress %+v, want ready without", got.Status, got.Progress)
	}
	assertProgress(t, saved.of(b.ID), b.CreatedAt, 0)
}

func TestRestoreReportsProgress(t *testing.T) {
	tw := newTwin(t)
	saved := tw.logProgress()
	b, _ := tw.backedUpThenChanged(tw.svc)
	restoredAt := fixedNow.Add(time.Hour)
	tw.clock.Set(restoredAt)
	ofCreate := len(saved.of(b.ID))

	accepted, err := tw.restore(b)
	must(t, err)
	if p := accepted.Progress; p == nil || p.DoneBytes != 0 || p.TotalBytes != b.SizeBytes || !p.StartedAt.Equal(restoredAt) {
		t.Fatalf("a restore starts with progress %+v, want 0 of %d bytes from %v", p, b.SizeBytes, restoredAt)
	}
	got := tw.settled(b.ID)
	if got.Status != ports.StatusReady || got.Error != "" || got.Progress != nil {
		t.Fatalf("after the restore: %s %q with progress %+v, want ready without", got.Status, got.Error, got.Progress)
	}
	assertProgress(t, saved.of(b.ID)[ofCreate:], restoredAt, b.SizeBytes)
}

package backup

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// progressInterval is the most often a running operation saves its progress:
// often enough for a progress bar, rare enough that the writes cost nothing
// next to the operation.
const progressInterval = time.Second

// tracker is how far a running operation has got. The job raises it as bytes
// go by; the runner's heartbeat reads and saves it. Neither count ever
// decreases, so that no reader sees the bar move backwards.
type tracker struct {
	startedAt   time.Time
	done, total atomic.Int64
}

// newTracker starts tracking from what the backup's record says (the restore's
// total, the start time).
func newTracker(b ports.Backup) *tracker {
	t := &tracker{startedAt: b.CreatedAt}
	if p := b.Progress; p != nil {
		t.startedAt = p.StartedAt
		t.done.Store(p.DoneBytes)
		t.total.Store(p.TotalBytes)
	}
	return t
}

// raise sets a to v unless it already holds more.
func raise(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// set raises the counts to done and total.
func (t *tracker) set(done, total int64) {
	raise(&t.done, done)
	raise(&t.total, total)
}

// add counts n more bytes done.
func (t *tracker) add(n int64) { t.done.Add(n) }

// complete marks the operation done: 100%, whatever the estimate of the total
// was (a create's total is measured while files may still change).
func (t *tracker) complete() {
	raise(&t.total, t.done.Load())
	raise(&t.done, t.total.Load())
}

// snapshot is the progress to save. A known total is never below what is done:
// files can grow while they are archived.
func (t *tracker) snapshot() *ports.Progress {
	done, total := t.done.Load(), t.total.Load()
	if total > 0 && done > total {
		raise(&t.total, done)
		total = done
	}
	return &ports.Progress{DoneBytes: done, TotalBytes: total, StartedAt: t.startedAt}
}

// countingReader adds every byte read to a tracker.
type countingReader struct {
	r io.Reader
	t *tracker
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.t.add(int64(n))
	return n, err
}

// archiveProgress copies a streamed archive's own progress into a tracker as it
// is read. A sidecar that does not report progress leaves the archive's bytes
// received as the only measure, with the total unknown.
type archiveProgress struct {
	s        ports.ArchiveStream
	t        *tracker
	received int64
}

func (a *archiveProgress) Read(p []byte) (int, error) {
	n, err := a.s.Read(p)
	a.received += int64(n)
	if done, total := a.s.Progress(); done > 0 || total > 0 {
		a.t.set(done, total)
	} else {
		a.t.set(a.received, 0)
	}
	return n, err
}

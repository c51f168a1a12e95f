package server

import (
	"context"
	"sync/atomic"
)

// progress is how far a streamed archive has got: the bytes of file contents
// archived so far, and the total measured beside the archiving.
type progress struct {
	done  atomic.Int64
	total atomic.Int64 // 0 until measured
	// measuredIn is how long measuring took and measureCPU the CPU time it used
	// (0 until done), logged so that the cost of progress shows next to the
	// archive's.
	measuredIn, measureCPU atomic.Int64
}

// now returns both, the total never below done: files grow while they are read,
// and a total still unknown when the archive is complete is what it holds.
func (p *progress) now(final bool) (done, total int64) {
	done, total = p.done.Load(), p.total.Load()
	if total > 0 || final {
		total = max(total, done)
	}
	return done, total
}

// measure adds up the sizes of the regular files in srcs, by the archiver's rules
// (links not followed, the entities of running calls left out), with one lstat
// per file and no reads: cheap beside the archiving it runs with. What cannot be
// listed counts as nothing, as the archiver skips it. It returns false when ctx
// ended first.
func measure(ctx context.Context, srcs []archiveSource, j *journal) (int64, bool) {
	var total int64
	for _, src := range srcs {
		if src.file != "" {
			if info, err := src.root.Lstat(src.file); err == nil && info.Mode().IsRegular() {
				total += info.Size()
			}
			continue
		}
		n, ok := measureDir(ctx, src, ".", j)
		if !ok {
			return 0, false
		}
		total += n
	}
	return total, true
}

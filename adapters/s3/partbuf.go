package s3

import (
	"fmt"
	"sync"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// partBuffers hands out a Store's part buffers and takes them back when a Put
// ends, keeping them for the next Put.
//
// Where the platform allows (partbuf_linux.go) the buffers live outside the Go
// heap, and for a reason that shows in the host's RSS: a Put holds
// Concurrency × PartSizeBytes for its whole run, and on the heap those bytes
// would raise the GC's goal by as much again (GOGC=100), so the process would
// keep growing by the size of the buffers for the first few GB of every long
// stream and the host would see memory that seemed to depend on the object's
// size. Outside the heap they cost exactly their size, the collector paces
// itself on the little the SDK allocates, and an idle buffer's pages go back to
// the operating system when its Put ends.
type partBuffers struct {
	size int

	mu    sync.Mutex
	idle  [][]byte
	inUse int // buffers handed out and not yet returned
}

// get returns an idle buffer or allocates one. A failure to allocate is a
// storage failure: the Put cannot go on without the buffer.
func (p *partBuffers) get() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		b := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.inUse++
		return b, nil
	}
	b, err := allocPart(p.size)
	if err != nil {
		return nil, fmt.Errorf("%w: allocate a %d-byte part buffer: %w", ports.ErrStorage, p.size, err)
	}
	p.inUse++
	return b, nil
}

// put takes back a buffer from get once nothing uses it any more. Buffers are
// never freed, only their pages released: a request the HTTP transport
// abandoned may still be reading one after its Put returned, and reading a
// released page yields zeros where reading unmapped memory would crash.
func (p *partBuffers) put(b []byte) {
	releasePart(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, b)
	p.inUse--
}

// bytesInUse reports the memory held by buffers handed out and not returned.
func (p *partBuffers) bytesInUse() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(p.inUse) * int64(p.size)
}

package blockgz

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/pgzip"
)

const (
	// BlockSize is the most input bytes one member holds. A member is the unit
	// of work of both ends' goroutines, and each holds a member's input and
	// output in memory.
	BlockSize = 1 << 20
	// gzMaxMember bounds the announced member length: a megabyte of incompressible
	// input grows by a few hundred bytes of block headers.
	gzMaxMember = BlockSize + BlockSize/16 + 1024
	// gzHeaderLen is the fixed header (10), XLEN (2), subfield id and length (4),
	// and the member length (4).
	gzHeaderLen  = 20
	gzTrailerLen = 8
	gzFlagExtra  = 1 << 2
)

var (
	// ErrChecksum reports a member whose data does not match its CRC-32 or
	// size.
	ErrChecksum = errors.New("gzip: invalid checksum")
	// ErrMember reports a member whose announced length is impossible, or
	// whose deflate stream ends before the member does or holds more than
	// BlockSize bytes.
	ErrMember = errors.New("gzip: invalid member")
)

// appendMemberHeader appends the header of a member of total length n.
func appendMemberHeader(b []byte, n int) []byte {
	b = append(b, 0x1f, 0x8b, 8, gzFlagExtra, 0, 0, 0, 0, 0, 255)
	b = binary.LittleEndian.AppendUint16(b, 8)
	b = append(b, 'S', 'P')
	b = binary.LittleEndian.AppendUint16(b, 4)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// memberLength parses our member header, or reports false for any other gzip member.
func memberLength(h []byte) (int, bool) {
	if len(h) < gzHeaderLen || h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] != gzFlagExtra ||
		binary.LittleEndian.Uint16(h[10:]) != 8 || h[12] != 'S' || h[13] != 'P' || binary.LittleEndian.Uint16(h[14:]) != 4 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(h[16:])), true
}

// gzJob is one member being compressed or decompressed; done is closed when out
// (or err) is ready. Jobs are queued in stream order, so results come out in order
// whatever order the goroutines finish in.
type gzJob struct {
	in, out []byte
	err     error
	done    chan struct{}
}

// Writer compresses into members of BlockSize input bytes, with one goroutine
// per CPU, and writes them in order. Not safe for concurrent use.
type Writer struct {
	w         io.Writer
	level     int
	cur       []byte
	queue     chan *gzJob // jobs in stream order, bounded: backpressure
	sem       chan struct{}
	wrote     chan struct{} // closed when the writing goroutine ends
	mu        sync.Mutex
	err       error
	pool      sync.Pool // []byte input buffers
	outs      sync.Pool // []byte member buffers
	encoders  sync.Pool // *memberEncoder
	submitted int
	closed    bool
}

// NewWriter returns a Writer to w. level (a flate level, flate.HuffmanOnly to
// flate.BestCompression) applies to the pieces that look compressible (text,
// configs); bytes that look random are stored, and runs run-encoded, whatever
// the level, so a high level costs time only where it shrinks something. The caller must Close
// it, which finishes the stream.
func NewWriter(w io.Writer, level int) (*Writer, error) {
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return nil, fmt.Errorf("gzip: invalid compression level %d", level)
	}
	workers := runtime.GOMAXPROCS(0)
	z := &Writer{
		w:     w,
		level: level,
		queue: make(chan *gzJob, 2*workers),
		sem:   make(chan struct{}, workers),
		wrote: make(chan struct{}),
	}
	z.cur = z.buffer()
	go z.writeLoop()
	return z, nil
}

func (z *Writer) buffer() []byte {
	if b, ok := z.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, BlockSize)
}

func (z *Writer) setErr(err error) {
	z.mu.Lock()
	if z.err == nil {
		z.err = err
	}
	z.mu.Unlock()
}

func (z *Writer) getErr() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

// writeLoop writes finished members in order.
func (z *Writer) writeLoop() {
	defer close(z.wrote)
	for job := range z.queue {
		<-job.done
		err := job.err
		if err == nil && z.getErr() == nil {
			_, err = z.w.Write(job.out)
		}
		if err != nil {
			z.setErr(err)
		}
		in, out := job.in, job.out
		z.pool.Put(&in)
		if out != nil {
			z.outs.Put(&out)
		}
	}
}

// Write queues p for compression. An error of the underlying writer is returned
// by a later Write or by Close.
func (z *Writer) Write(p []byte) (int, error) {
	if err := z.getErr(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := copy(z.cur[len(z.cur):cap(z.cur)], p)
		z.cur = z.cur[:len(z.cur)+k]
		p, n = p[k:], n+k
		if len(z.cur) == cap(z.cur) {
			z.submit()
		}
	}
	return n, z.getErr()
}

func (z *Writer) submit() {
	job := &gzJob{in: z.cur, done: make(chan struct{})}
	z.submitted++
	z.cur = z.buffer()
	z.queue <- job
	z.sem <- struct{}{}
	go func() {
		defer func() { <-z.sem }()
		job.out, job.err = z.compress(job.in)
		close(job.done)
	}()
}

func (z *Writer) compress(in []byte) ([]byte, error) {
	enc, _ := z.encoders.Get().(*memberEncoder)
	if enc == nil {
		enc = &memberEncoder{level: z.level}
	}
	defer z.encoders.Put(enc)
	var buf []byte
	if b, ok := z.outs.Get().(*[]byte); ok {
		buf = (*b)[:gzHeaderLen]
	} else {
		buf = make([]byte, gzHeaderLen, gzMaxMember)
	}
	b, err := enc.encode(buf, in)
	if err != nil {
		return nil, err
	}
	if len(b)+gzTrailerLen > gzMaxMember {
		// Cannot happen (stored bytes grow by 5 bytes in 64 KiB, and the flate
		// encoder stores what it cannot shrink), but a member the reader would
		// refuse makes a backup that cannot be restored: store it all instead.
		b = enc.storeAll(b[:gzHeaderLen], in)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(in))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(in)))
	appendMemberHeader(b[:0], len(b))
	return b, nil
}

// Close compresses what is left and waits for every member to be written. An
// archive always has at least one member, so even empty input is valid gzip.
func (z *Writer) Close() error {
	if z.closed {
		return z.getErr()
	}
	z.closed = true
	if len(z.cur) > 0 || z.submitted == 0 {
		z.submit()
	}
	close(z.queue)
	<-z.wrote
	return z.getErr()
}

// Reader decompresses this package's members in parallel, and anything else (an
// archive written by plain gzip) sequentially, with pgzip's read-ahead.
type Reader struct {
	src     *bufio.Reader
	results chan *gzJob // in stream order, bounded by the read-ahead
	stop    chan struct{}
	ended   chan struct{}
	endErr  error     // why the producer stopped (io.EOF at a clean end)
	tail    io.Reader // set by the producer: a sequential reader for the rest
	rest    io.Reader // tail, once the reader has seen the producer end
	cur     []byte
	job     *gzJob
	pool    sync.Pool
	inflate sync.Pool
	once    sync.Once
}

// NewReader starts reading src, refusing at once a stream that is not gzip;
// readAhead bounds how many members are decompressed ahead of the reader. The
// caller must Close it.
func NewReader(src io.Reader, readAhead int) (*Reader, error) {
	z := &Reader{
		src:     bufio.NewReaderSize(src, 256<<10), // members larger than this bypass it
		results: make(chan *gzJob, readAhead),
		stop:    make(chan struct{}),
		ended:   make(chan struct{}),
	}
	// Refuse a stream that is not gzip at all before any goroutine starts.
	if h, err := z.src.Peek(2); err != nil || h[0] != 0x1f || h[1] != 0x8b {
		if err == nil || err == io.EOF {
			err = pgzip.ErrHeader
		}
		return nil, err
	}
	go z.produce()
	return z, nil
}

func (z *Reader) produce() {
	defer close(z.ended)
	defer close(z.results)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for {
		h, err := z.src.Peek(gzHeaderLen)
		if len(h) == 0 && err == io.EOF {
			z.endErr = io.EOF
			return
		}
		n, ours := memberLength(h)
		if !ours {
			// Not one of ours: decode the rest of the stream in order.
			gz, err := pgzip.NewReaderN(z.src, 256<<10, 4*cap(z.results))
			if err != nil {
				z.endErr = err
				return
			}
			z.tail = gz
			z.endErr = io.EOF
			return
		}
		if n < gzHeaderLen+gzTrailerLen || n > gzMaxMember {
			z.endErr = ErrMember
			return
		}
		in := z.buffer(n)
		if _, err := io.ReadFull(z.src, in); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			z.endErr = err
			return
		}
		// A worker slot first, then the queue: every queued job has a goroutine that
		// will finish it, which Read and Close wait for.
		select {
		case sem <- struct{}{}:
		case <-z.stop:
			return
		}
		job := &gzJob{in: in, done: make(chan struct{})}
		select {
		case z.results <- job:
		case <-z.stop:
			<-sem
			return
		}
		go func() {
			defer func() { <-sem }()
			job.out, job.err = z.decompress(job.in)
			close(job.done)
		}()
	}
}

// buffer returns a buffer of length n <= gzMaxMember; every buffer has that
// capacity, so inputs and outputs share one pool.
func (z *Reader) buffer(n int) []byte {
	if b, ok := z.pool.Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, gzMaxMember)
}

func (z *Reader) decompress(member []byte) ([]byte, error) {
	body := member[gzHeaderLen : len(member)-gzTrailerLen]
	trailer := member[len(member)-gzTrailerLen:]
	br := bytes.NewReader(body)
	fr, _ := z.inflate.Get().(io.ReadCloser)
	if fr == nil {
		fr = flate.NewReader(br)
	} else if err := fr.(flate.Resetter).Reset(br, nil); err != nil {
		return nil, err
	}
	defer z.inflate.Put(fr)
	full := z.buffer(BlockSize + 1)
	out := full[: 0 : BlockSize+1] // one byte more than a member may hold, to notice more
	for stalls := 0; len(out) < cap(out); {
		k, err := fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+k]
		if err == io.EOF {
			break
		}
		if k == 0 && err == nil {
			if stalls++; stalls > 100 { // a reader that makes no progress must not spin forever
				return nil, io.ErrNoProgress
			}
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF || errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	out = full[:len(out)]
	if len(out) > BlockSize || br.Len() != 0 {
		return nil, ErrMember
	}
	if crc32.ChecksumIEEE(out) != binary.LittleEndian.Uint32(trailer) || uint32(len(out)) != binary.LittleEndian.Uint32(trailer[4:]) {
		return nil, ErrChecksum
	}
	in := member
	z.pool.Put(&in)
	return out, nil
}

// Read returns decompressed bytes in stream order. A corrupt member of this
// package's fails with ErrChecksum or ErrMember, other gzip with pgzip's errors,
// and a truncated stream with io.ErrUnexpectedEOF.
func (z *Reader) Read(p []byte) (int, error) {
	for len(z.cur) == 0 {
		if z.job != nil {
			out := z.job.out
			z.pool.Put(&out)
			z.job = nil
		}
		if z.rest != nil {
			return z.rest.Read(p)
		}
		job, ok := <-z.results
		if !ok {
			<-z.ended
			if z.tail != nil {
				z.rest = z.tail
				continue
			}
			return 0, z.endErr
		}
		<-job.done
		if job.err != nil {
			return 0, job.err
		}
		z.job, z.cur = job, job.out
	}
	n := copy(p, z.cur)
	z.cur = z.cur[n:]
	return n, nil
}

// Close stops the read-ahead and waits for its goroutines. It does not close
// src.
func (z *Reader) Close() error {
	z.once.Do(func() {
		close(z.stop)
		for job := range z.results {
			<-job.done
		}
		<-z.ended
		if c, ok := z.tail.(io.Closer); ok {
			c.Close()
		}
	})
	return nil
}

package blockgz

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/flate"
)

// How memberEncoder splits a member's input into stored bytes, runs and
// compressed pieces (see the package documentation for why).
const (
	// pieceSize is the unit the encoder classifies.
	pieceSize = 16 << 10
	// minRun is the shortest run of one byte value written as a run: shorter
	// ones cost more in block headers than they save.
	minRun = 64
	// runProbe is the distance between the words findRuns tests: every run of
	// runProbe+7 bytes contains one, so it must stay below minRun-7.
	runProbe = 32
	// sampleStride: every sampleStride-th byte outside runs is counted for the
	// entropy estimate (odd, so that data with a period of 2, 4 or 8 bytes is
	// not sampled in step with itself). A piece of random bytes gives 2340
	// samples, whose estimate falls short of 8 bits by about 0.08.
	sampleStride = 7
	// minSamples is the fewest samples an estimate is made from; a piece with
	// fewer bytes outside runs is mostly runs, which the run encoding handles best.
	minSamples = 256
	// storeEntropy is the estimated entropy, in bits a byte, from which bytes are
	// stored rather than compressed: Huffman coding could save at most
	// (8-storeEntropy)/8 of them, 6%, and LZ matches are as unlikely in bytes that
	// random. Text and configs sit near 4.5 to 5.5.
	storeEntropy = 7.5
	// maxStored is the most bytes one stored block holds (LEN is 16 bits).
	maxStored = 65535
)

// memberEncoder writes the deflate stream of one member. It is not safe for
// concurrent use; Writer pools them.
type memberEncoder struct {
	out   []byte
	bits  uint64 // pending bits, least significant first
	nbits uint
	level int
	fw    *flate.Writer
	runs  []span
	hist  [256]uint32
}

// span is a run of one byte value: [start, end) of the member's input.
type span struct{ start, end int }

// appendWriter lets the flate encoder write to the end of the stream.
type appendWriter struct{ e *memberEncoder }

func (a appendWriter) Write(p []byte) (int, error) {
	a.e.out = append(a.e.out, p...)
	return len(p), nil
}

// encode appends the complete deflate stream of in (final block included) to
// out and returns the extended slice.
func (e *memberEncoder) encode(out, in []byte) ([]byte, error) {
	e.out, e.bits, e.nbits = out, 0, 0
	e.runs = findRuns(e.runs[:0], in)
	runs := e.runs
	store := e.storable(in, 0, runs)
	for start := 0; start < len(in); {
		// A group is a stretch of pieces of the same class; the piece that ends
		// it starts the next group, already classified.
		end, next := min(start+pieceSize, len(in)), store
		for end < len(in) {
			if next = e.storable(in, end, runs); next != store {
				break
			}
			end = min(end+pieceSize, len(in))
		}
		if store {
			runs = e.storeWithRuns(in, start, end, runs)
		} else {
			if err := e.compress(in[start:end]); err != nil {
				return nil, err
			}
			for len(runs) > 0 && runs[0].end <= end {
				runs = runs[1:]
			}
		}
		start, store = end, next
	}
	// The final block: an empty stored block with BFINAL set.
	e.writeBits(1, 3)
	e.storedHeader(0)
	return e.out, nil
}

// findRuns lists the runs of at least minRun equal bytes in in, in order. It
// tests one 8-byte word in every runProbe bytes, which finds every run of
// runProbe+7 bytes or more (fewer than minRun), and costs little on random
// data, where such words do not occur.
func findRuns(runs []span, in []byte) []span {
	const ones = 0x0101010101010101
	lit := 0
	for i := 0; i+8 <= len(in); {
		w := binary.LittleEndian.Uint64(in[i:])
		b := in[i]
		if w != uint64(b)*ones {
			i += runProbe
			continue
		}
		start, end := i, i+8
		for start > lit && in[start-1] == b {
			start--
		}
		for end+8 <= len(in) && binary.LittleEndian.Uint64(in[end:]) == w {
			end += 8
		}
		for end < len(in) && in[end] == b {
			end++
		}
		if end-start >= minRun {
			runs = append(runs, span{start, end})
			lit = end
		}
		i = end
	}
	return runs
}

// storable reports whether the piece starting at start is written as stored
// bytes and runs: true when the bytes outside runs look random, or when there
// are too few of them to tell (the piece is mostly runs).
func (e *memberEncoder) storable(in []byte, start int, runs []span) bool {
	end := min(start+pieceSize, len(in))
	for len(runs) > 0 && runs[0].end <= start {
		runs = runs[1:]
	}
	clear(e.hist[:])
	n := 0
	sample := func(from, to int) {
		for i := from; i < to; i += sampleStride {
			e.hist[in[i]]++
			n++
		}
	}
	pos := start
	for _, r := range runs {
		if r.start >= end {
			break
		}
		if r.start > pos {
			sample(pos, r.start)
		}
		pos = max(pos, r.end)
	}
	if pos < end {
		sample(pos, end)
	}
	if n < minSamples {
		return true
	}
	return entropy(&e.hist, n) >= storeEntropy
}

// entropy is the Shannon entropy, in bits a symbol, of a histogram of n samples.
func entropy(hist *[256]uint32, n int) float64 {
	t := nlogn()
	sum := 0.0
	for _, c := range hist {
		if c > 0 {
			sum += t(int(c))
		}
	}
	return (t(n) - sum) / float64(n)
}

// nlogn returns x·log2(x), from a table for the counts a piece can have.
var nlogn = sync.OnceValue(func() func(int) float64 {
	table := make([]float64, pieceSize/sampleStride+2)
	for i := 1; i < len(table); i++ {
		table[i] = float64(i) * math.Log2(float64(i))
	}
	return func(x int) float64 {
		if x < len(table) {
			return table[x]
		}
		return float64(x) * math.Log2(float64(x))
	}
})

// storeWithRuns writes in[start:end] as stored blocks for the bytes outside
// runs and a fixed-Huffman block for each run, and returns the runs that end
// after end.
func (e *memberEncoder) storeWithRuns(in []byte, start, end int, runs []span) []span {
	pos := start
	for len(runs) > 0 && runs[0].start < end {
		r := runs[0]
		rs, re := max(r.start, pos), min(r.end, end)
		if re-rs >= minRun {
			e.stored(in[pos:rs])
			e.run(in[rs], re-rs)
			pos = re
		}
		if r.end > end {
			break // the rest of the run belongs to the next group
		}
		runs = runs[1:]
	}
	e.stored(in[pos:end])
	return runs
}

// compress writes p with the flate encoder, as non-final blocks that end on a
// byte boundary (a sync flush). The encoder starts afresh, so its
// back-references stay within p.
func (e *memberEncoder) compress(p []byte) error {
	e.align()
	if e.fw == nil {
		fw, err := flate.NewWriter(appendWriter{e}, e.level)
		if err != nil {
			return err
		}
		e.fw = fw
	} else {
		e.fw.Reset(appendWriter{e})
	}
	if _, err := e.fw.Write(p); err != nil {
		return err
	}
	return e.fw.Flush()
}

// storeAll appends a deflate stream of in made of stored blocks only: the
// largest output the encoder can produce, 5 bytes per 64 KiB over the input.
func (e *memberEncoder) storeAll(out, in []byte) []byte {
	e.out, e.bits, e.nbits = out, 0, 0
	e.stored(in)
	e.writeBits(1, 3)
	e.storedHeader(0)
	return e.out
}

// stored writes p as non-final stored blocks.
func (e *memberEncoder) stored(p []byte) {
	for len(p) > 0 {
		n := min(len(p), maxStored)
		e.writeBits(0, 3) // BFINAL 0, BTYPE 00
		e.storedHeader(n)
		e.out = append(e.out, p[:n]...)
		p = p[n:]
	}
}

// storedHeader ends the header of a stored block whose first three bits are
// written: padding to a byte boundary, then LEN and NLEN.
func (e *memberEncoder) storedHeader(n int) {
	e.flushBits(true)
	e.out = binary.LittleEndian.AppendUint16(e.out, uint16(n))
	e.out = binary.LittleEndian.AppendUint16(e.out, ^uint16(n))
}

// align brings the stream, which is at a block boundary, to a byte boundary
// with everything written out: if it is not on one already, with an empty
// stored block (a stored block's header is the only place padding may go).
func (e *memberEncoder) align() {
	e.flushBits(false)
	if e.nbits == 0 {
		return
	}
	e.writeBits(0, 3)
	e.storedHeader(0)
}

// run writes n (>= minRun) copies of b as a fixed-Huffman block: the byte as a
// literal, then back-references at distance 1.
func (e *memberEncoder) run(b byte, n int) {
	e.writeBits(0b010, 3) // BFINAL 0, BTYPE 01 (fixed), least significant bit first
	e.literal(b)
	n--
	for n >= 3 {
		l := min(n, 258)
		if n-l > 0 && n-l < 3 {
			l = n - 3 // leave a remainder a reference can cover
		}
		e.match(l)
		n -= l
	}
	for ; n > 0; n-- {
		e.literal(b)
	}
	e.symbol(256) // end of block
}

func (e *memberEncoder) literal(b byte) { e.symbol(int(b)) }

// match writes a back-reference of length l (3 to 258) at distance 1.
func (e *memberEncoder) match(l int) {
	code, extra, base := lengthCode(l)
	e.symbol(code)
	if extra > 0 {
		e.writeBits(uint64(l-base), extra)
	}
	e.writeBits(0, 5) // distance code 0 (distance 1) in the fixed code, no extra bits
}

// symbol writes a literal/length symbol in the fixed Huffman code (RFC 1951
// 3.2.6). Huffman codes go most significant bit first, hence the reversal.
func (e *memberEncoder) symbol(s int) {
	var code, n uint
	switch {
	case s < 144:
		code, n = 0x30+uint(s), 8
	case s < 256:
		code, n = 0x190+uint(s-144), 9
	case s < 280:
		code, n = uint(s-256), 7
	default:
		code, n = 0xc0+uint(s-280), 8
	}
	e.writeBits(uint64(bits.Reverse16(uint16(code))>>(16-n)), n)
}

// lengthCode returns the symbol, the number of extra bits and the base length
// for a match length of 3 to 258 (RFC 1951 3.2.5).
func lengthCode(l int) (code int, extra uint, base int) {
	if l == 258 {
		return 285, 0, 258
	}
	if l < 11 {
		return 257 + l - 3, 0, l
	}
	// From 11 on, codes come in groups of four with the same number of extra
	// bits, one more per group: with n = l-3 written as 1jj followed by extra
	// bits, jj picks the code within its group.
	n := uint(l - 3)
	extra = uint(bits.Len(n)) - 3
	j := int(n>>extra) - 4
	base = 3 + (4+j)<<extra
	return 265 + 4*int(extra-1) + j, extra, base
}

// writeBits appends the n low bits of v to the stream.
func (e *memberEncoder) writeBits(v uint64, n uint) {
	e.bits |= v << e.nbits
	e.nbits += n
	if e.nbits >= 32 {
		e.out = binary.LittleEndian.AppendUint32(e.out, uint32(e.bits))
		e.bits >>= 32
		e.nbits -= 32
	}
}

// flushBits writes the pending whole bytes, and with pad the last partial byte
// too (zero-padded): the stream is then on a byte boundary.
func (e *memberEncoder) flushBits(pad bool) {
	for e.nbits >= 8 {
		e.out = append(e.out, byte(e.bits))
		e.bits >>= 8
		e.nbits -= 8
	}
	if pad && e.nbits > 0 {
		e.out = append(e.out, byte(e.bits))
		e.bits, e.nbits = 0, 0
	}
}

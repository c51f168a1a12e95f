package blockgz

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// inflate decodes a raw deflate stream with the standard library's decoder, a
// reader independent of the encoder under test.
func inflate(t testing.TB, stream []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(stream)))
	if err != nil {
		t.Fatalf("inflating %d bytes: %v", len(stream), err)
	}
	return out
}

func encodeMember(t testing.TB, in []byte) []byte {
	t.Helper()
	e := &memberEncoder{level: kflate.BestSpeed}
	out, err := e.encode(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// levelOne is what the flate encoder alone makes of in at level 1.
func levelOne(t testing.TB, in []byte) int {
	t.Helper()
	var b bytes.Buffer
	fw, err := kflate.NewWriter(&b, kflate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(in)
	fw.Close()
	return b.Len()
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// regionLike is zlib-like random data padded with zeros to 4 KiB sectors, as
// Minecraft region files are.
func regionLike(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b []byte
	for len(b) < n {
		sectors := 1 + rng.IntN(4)
		payload := max(sectors*4096-rng.IntN(4096)-5, 16)
		b = append(b, randomBytes(payload, rng.Uint64())...)
		b = append(b, make([]byte, sectors*4096-payload)...)
	}
	return b[:n]
}

func textLike(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	words := strings.Fields("stone dirt grass player joined left the game saved chunk region tick entity")
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "[%02d:%02d] [Server thread/INFO]: %s %s %d\n", rng.IntN(24), rng.IntN(60), words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(30000))
	}
	return []byte(b.String()[:n])
}

func TestMemberEncoder(t *testing.T) {
	repeat := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		in   []byte
	}{
		{"nothing", nil},
		{"one byte", []byte{7}},
		{"a run just too short to be one", join(randomBytes(100, 1), repeat(0, minRun-1), randomBytes(100, 2))},
		{"runs of every length around the reference limits", func() []byte {
			var b []byte
			for _, n := range []int{minRun, minRun + 1, 257, 258, 259, 260, 261, 262, 516, 517, 518, 1000, 4095} {
				b = append(b, randomBytes(50, uint64(n))...)
				b = append(b, repeat(byte(n), n)...)
			}
			return b
		}()},
		{"a run at the start and one at the end", join(repeat(0, 300), randomBytes(20000, 3), repeat(0xff, 300))},
		{"nothing but one run", repeat(0, BlockSize)},
		{"random bytes longer than a stored block", randomBytes(3*maxStored+17, 4)},
		{"a whole member of random bytes", randomBytes(BlockSize, 5)},
		{"region-like data", regionLike(BlockSize, 6)},
		{"text", textLike(BlockSize, 7)},
		{"text and random pieces taking turns", func() []byte {
			var b []byte
			for i := range 8 {
				b = append(b, textLike(pieceSize+i*1000, uint64(i))...)
				b = append(b, regionLike(pieceSize-i*700, uint64(i))...)
			}
			return b[:min(len(b), BlockSize)]
		}()},
		{"a run that crosses from random pieces into text", join(randomBytes(pieceSize-100, 8), repeat(0, 5000), textLike(3*pieceSize, 9))},
		{"a run that crosses from text into random pieces", join(textLike(pieceSize-100, 10), repeat(0, 5000), randomBytes(3*pieceSize, 11))},
	}
	for _, tc := range cases {
		t.Run(tc.name+" round-trips through a standard inflater", func(t *testing.T) {
			out := encodeMember(t, tc.in)
			if got := inflate(t, out); !bytes.Equal(got, tc.in) {
				t.Fatalf("inflated %d bytes that differ from the %d encoded", len(got), len(tc.in))
			}
			if limit := len(tc.in) + 5*(len(tc.in)/maxStored+1) + 2048; len(out) > limit {
				t.Fatalf("%d bytes became %d, more than %d", len(tc.in), len(out), limit)
			}
		})
	}

	t.Run("game-like data shrinks as much as with the flate encoder at level 1", func(t *testing.T) {
		for _, in := range [][]byte{regionLike(BlockSize, 12), textLike(BlockSize, 13), randomBytes(BlockSize, 14)} {
			ours, theirs := len(encodeMember(t, in)), levelOne(t, in)
			if float64(ours) > 1.01*float64(theirs) {
				t.Errorf("%d bytes: %d, level 1 alone %d", len(in), ours, theirs)
			}
		}
	})

	t.Run("random bytes are stored and runs become references", func(t *testing.T) {
		in := join(randomBytes(10000, 15), repeat(0, 2000), randomBytes(10000, 16))
		out := encodeMember(t, in)
		if !bytes.Contains(out, in[:10000]) || !bytes.Contains(out, in[12000:]) {
			t.Error("the random bytes are not in the stream as they are")
		}
		if len(out) > 20000+100 {
			t.Errorf("%d bytes, want the run to cost a few bytes", len(out))
		}
	})
}

func TestFindRuns(t *testing.T) {
	t.Run("finds every run of minRun bytes, wherever it starts", func(t *testing.T) {
		for offset := range 2 * runProbe {
			in := bytes.Join([][]byte{randomBytes(1000+offset, uint64(offset)), bytes.Repeat([]byte{0xaa}, minRun), randomBytes(1000, 99)}, nil)
			runs := findRuns(nil, in)
			if len(runs) != 1 || runs[0] != (span{1000 + offset, 1000 + offset + minRun}) {
				t.Fatalf("offset %d: runs %v, want one at [%d, %d)", offset, runs, 1000+offset, 1000+offset+minRun)
			}
		}
	})
	t.Run("leaves shorter runs to the bytes around them", func(t *testing.T) {
		in := bytes.Join([][]byte{randomBytes(1000, 1), make([]byte, minRun-1), randomBytes(1000, 2)}, nil)
		if runs := findRuns(nil, in); len(runs) != 0 {
			t.Fatalf("runs %v in a stretch of %d zeros", runs, minRun-1)
		}
	})
}

func TestLengthCode(t *testing.T) {
	// RFC 1951 3.2.5: code, extra bits, lengths.
	table := []struct {
		code     int
		extra    uint
		from, to int
	}{
		{257, 0, 3, 3}, {264, 0, 10, 10}, {265, 1, 11, 12}, {268, 1, 17, 18}, {269, 2, 19, 22},
		{272, 2, 31, 34}, {273, 3, 35, 42}, {276, 3, 59, 66}, {277, 4, 67, 82}, {280, 4, 115, 130},
		{281, 5, 131, 162}, {283, 5, 195, 226}, {284, 5, 227, 257}, {285, 0, 258, 258},
	}
	for _, row := range table {
		for l := row.from; l <= row.to; l++ {
			code, extra, base := lengthCode(l)
			if code != row.code || extra != row.extra || base != row.from {
				t.Errorf("length %d: code %d, %d extra bits, base %d; want %d, %d, %d", l, code, extra, base, row.code, row.extra, row.from)
			}
		}
	}
}

// FuzzMemberEncoder checks that any input round-trips and that the output stays
// within what a member may hold.
func FuzzMemberEncoder(f *testing.F) {
	f.Add([]byte{})
	f.Add(regionLike(2*pieceSize, 1))
	f.Add(append(textLike(pieceSize, 2), make([]byte, 300)...))
	f.Add(bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0, 1}, 100))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > BlockSize {
			in = in[:BlockSize]
		}
		out := encodeMember(t, in)
		if got := inflate(t, out); !bytes.Equal(got, in) {
			t.Fatalf("inflated %d bytes that differ from the %d encoded", len(got), len(in))
		}
		if len(out)+gzHeaderLen+gzTrailerLen > gzMaxMember {
			t.Fatalf("%d bytes became a %d-byte member", len(in), len(out)+gzHeaderLen+gzTrailerLen)
		}
	})
}

// BenchmarkMemberEncoder measures the encoder on one member of each kind of
// data.
func BenchmarkMemberEncoder(b *testing.B) {
	for _, in := range []struct {
		name string
		data []byte
	}{{"region", regionLike(BlockSize, 1)}, {"text", textLike(BlockSize, 2)}, {"random", randomBytes(BlockSize, 3)}} {
		b.Run(in.name, func(b *testing.B) {
			e := &memberEncoder{level: kflate.BestSpeed}
			out := make([]byte, 0, gzMaxMember)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			var n int
			for b.Loop() {
				got, err := e.encode(out[:0], in.data)
				if err != nil {
					b.Fatal(err)
				}
				n = len(got)
			}
			b.ReportMetric(float64(n)/float64(len(in.data)), "size-ratio")
		})
	}
}

package blockgz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/flate"
)

// benchReadAhead is the read-ahead the sidecar's extraction uses.
const benchReadAhead = 16

func blockCompress(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	z, err := NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes, so that blocks fill across writes.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 77_777)
		if _, err := z.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func blockDecompress(archive []byte) ([]byte, error) {
	z, err := NewReader(bytes.NewReader(archive), 4)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	return io.ReadAll(z)
}

// gameLike is half random bytes, half runs of zeros: compressible, like region files.
func gameLike(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed)})
	for i := 0; i < n; i += 8192 {
		rng.Read(b[i:min(i+4096, n)])
	}
	return b
}

func TestBlockGzip(t *testing.T) {
	for _, n := range []int{0, 1, 4095, BlockSize - 1, BlockSize, BlockSize + 1, 3*BlockSize + BlockSize/2} {
		t.Run(fmt.Sprintf("%d bytes round trip through our reader and through compress/gzip", n), func(t *testing.T) {
			data := gameLike(n, uint64(n))
			archive := blockCompress(t, data, flate.BestSpeed)
			got, err := blockDecompress(archive)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("our reader: %d bytes, %v; want %d bytes", len(got), err, n)
			}
			std, err := gzip.NewReader(bytes.NewReader(archive))
			if err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(std)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("compress/gzip: %d bytes, %v; want %d bytes", len(got), err, n)
			}
			if members := (n + BlockSize - 1) / BlockSize; n > 0 && bytes.Count(archive, []byte{0x1f, 0x8b, 8, gzFlagExtra}) < members {
				t.Fatalf("want at least %d independent members", members)
			}
		})
	}

	t.Run("a plain gzip stream is read sequentially", func(t *testing.T) {
		data := gameLike(2*BlockSize+5, 1)
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
		got, err := blockDecompress(buf.Bytes())
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes, %v; want %d bytes", len(got), err, len(data))
		}
	})

	t.Run("our members followed by plain gzip members read as one stream", func(t *testing.T) {
		a, b := gameLike(BlockSize+3, 2), []byte("and a plain member after them")
		var buf bytes.Buffer
		buf.Write(blockCompress(t, a, 1))
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		got, err := blockDecompress(buf.Bytes())
		if err != nil || !bytes.Equal(got, append(a, b...)) {
			t.Fatalf("%d bytes, %v; want %d bytes", len(got), err, len(a)+len(b))
		}
	})

	valid := blockCompress(t, gameLike(3*BlockSize, 3), 1)
	second := binary.LittleEndian.Uint32(valid[16:]) // offset of the second member
	corrupt := []struct {
		name  string
		edit  func([]byte) []byte
		want  error
		wantS string
	}{
		{"a flipped checksum", func(b []byte) []byte { b[second-8] ^= 1; return b }, ErrChecksum, ""},
		{"a flipped size", func(b []byte) []byte { b[second-1] ^= 1; return b }, ErrChecksum, ""},
		{"a damaged body", func(b []byte) []byte {
			for i := second + gzHeaderLen; i < second+gzHeaderLen+64; i++ {
				b[i] ^= 0x55
			}
			return b
		}, nil, ""},
		{"a truncated member", func(b []byte) []byte { return b[:second+100] }, io.ErrUnexpectedEOF, ""},
		{"a member length past the limit", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], gzMaxMember+1); return b }, ErrMember, ""},
		{"a member length shorter than a header", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 10); return b }, ErrMember, ""},
		{"a member length pointing inside the member", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], second-1000); return b }, nil, ""},
		{"garbage after the last member", func(b []byte) []byte { return append(b, "garbage after the archive"...) }, nil, "header"},
	}
	for _, tc := range corrupt {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := blockDecompress(tc.edit(bytes.Clone(valid)))
			if err == nil {
				t.Fatal("decompressed without an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.wantS != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.wantS)) {
				t.Fatalf("error %v does not mention %q", err, tc.wantS)
			}
		})
	}

	t.Run("closing early stops the read-ahead, whatever it is doing", func(t *testing.T) {
		for i := range 40 {
			z, err := NewReader(bytes.NewReader(valid), 1+i%3)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := z.Read(make([]byte, 10)); err != nil {
					t.Fatal(err)
				}
			}
			z.Close() // must not hang, with members queued or waiting for a worker
		}
	})
}

// BenchmarkBlockGzip measures the compression and decompression loops alone.
func BenchmarkBlockGzip(b *testing.B) {
	data := gameLike(32<<20, 9)
	archive := blockCompress(b, data, flate.BestSpeed)
	b.Run("compress", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			z, _ := NewWriter(io.Discard, flate.BestSpeed)
			z.Write(data)
			if err := z.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decompress", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			z, err := NewReader(bytes.NewReader(archive), benchReadAhead)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, z); err != nil {
				b.Fatal(err)
			}
			z.Close()
		}
	})
}

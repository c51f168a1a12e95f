package backup

import (
	"io"
	"testing"
)

// chunkedReader yields n zero bytes in reads of at most chunk bytes, the way a
// gRPC stream (256 KiB messages) or an HTTP body (32 KiB reads) hands them out,
// without allocating.
type chunkedReader struct {
	n     int64
	chunk int
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), int64(c.chunk), c.n))
	clear(p[:k])
	c.n -= int64(k)
	return k, nil
}

// BenchmarkHashingReader is the service's own hot loop: every byte of an
// archive passes through hashingReader, between the sidecar's stream and the
// object store on create (read into 16 MiB parts, as the S3 adapter does) and
// between the object store and the sidecar on restore. It must not allocate per
// read, whatever the read size.
func BenchmarkHashingReader(b *testing.B) {
	const size = 64 << 20
	for _, read := range []struct {
		name        string
		chunk, into int
	}{
		{"create: 1 MiB stream messages into 16 MiB parts", 1 << 20, 16 << 20},
		{"restore: 32 KiB body reads into 1 MiB messages", 32 << 10, 1 << 20},
	} {
		b.Run(read.name, func(b *testing.B) {
			src := &chunkedReader{chunk: read.chunk}
			buf := make([]byte, read.into)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				src.n = size
				hr := newHashingReader(src)
				for {
					if _, err := io.ReadFull(hr, buf); err != nil {
						break
					}
				}
				if hr.n != size || hr.err != nil {
					b.Fatalf("hashed %d bytes (%v), want %d", hr.n, hr.err, size)
				}
				_ = hr.sum()
			}
		})
	}
}

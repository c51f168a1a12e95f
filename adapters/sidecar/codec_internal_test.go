package sidecar

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// split hands the codec a message cut into several buffers, as gRPC does with
// one that spans HTTP/2 frames.
func split(b []byte, parts int) mem.BufferSlice {
	var s mem.BufferSlice
	step := max(len(b)/parts, 1)
	for len(b) > 0 {
		n := min(step, len(b))
		s = append(s, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	return s
}

func TestChunkCodec(t *testing.T) {
	data := bytes.Repeat([]byte("region"), 50_000)
	wire, err := proto.Marshal(&sidecarpb.Chunk{Data: data, Size: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("decodes what the default codec encodes, from several buffers", func(t *testing.T) {
		var m sidecarpb.Chunk
		if err := newChunkCodec().Unmarshal(split(wire, 7), &m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Data, data) || m.Size != 1<<40 {
			t.Fatalf("decoded %d bytes and size %d", len(m.Data), m.Size)
		}
	})

	t.Run("skips fields it does not know", func(t *testing.T) {
		extra := protowire.AppendTag(bytes.Clone(wire), 9, protowire.BytesType)
		extra = protowire.AppendBytes(extra, []byte("from a newer sidecar"))
		extra = protowire.AppendTag(extra, 10, protowire.VarintType)
		extra = protowire.AppendVarint(extra, 42)
		var m sidecarpb.Chunk
		if err := newChunkCodec().Unmarshal(split(extra, 1), &m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Data, data) || m.Size != 1<<40 {
			t.Fatalf("decoded %d bytes and size %d", len(m.Data), m.Size)
		}
	})

	t.Run("decodes the report of a stream's last message", func(t *testing.T) {
		report := &sidecarpb.ArchiveReport{Entries: 3, Bytes: 1 << 33, SkippedCount: 2,
			Skipped: []*sidecarpb.SkippedFile{{Path: "rcon.sock", Reason: "a socket"}, {Path: "ü/x", Reason: "permission denied"}}}
		wire, err := proto.Marshal(&sidecarpb.Chunk{Data: data[:100], Report: report})
		if err != nil {
			t.Fatal(err)
		}
		c := newChunkCodec()
		var m sidecarpb.Chunk
		if err := c.Unmarshal(split(wire, 5), &m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Data, data[:100]) || !proto.Equal(m.Report, report) {
			t.Fatalf("decoded %d bytes and report %v, want %v", len(m.Data), m.Report, report)
		}
		// The next message overwrites the buffer the report was decoded from.
		next, err := proto.Marshal(&sidecarpb.Chunk{Data: bytes.Repeat([]byte{'x'}, len(wire))})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Unmarshal(split(next, 1), &sidecarpb.Chunk{}); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m.Report, report) {
			t.Fatalf("the report changed when the codec decoded the next message: %v", m.Report)
		}
	})

	t.Run("refuses a truncated message", func(t *testing.T) {
		var m sidecarpb.Chunk
		if err := newChunkCodec().Unmarshal(split(wire[:len(wire)/2], 1), &m); err == nil {
			t.Fatal("decoded half a message without an error")
		}
	})

	t.Run("decodes a stream of chunks without allocating", func(t *testing.T) {
		c := newChunkCodec()
		var m sidecarpb.Chunk
		in := split(wire, 3)
		c.Unmarshal(in, &m) // the first message sizes the buffer
		if allocs := testing.AllocsPerRun(20, func() { c.Unmarshal(in, &m) }); allocs != 0 {
			t.Fatalf("%.0f allocations per chunk", allocs)
		}
	})

	t.Run("leaves other messages to the default codec", func(t *testing.T) {
		wire, err := proto.Marshal(&sidecarpb.ReadFileRequest{Path: "/data/level.dat"})
		if err != nil {
			t.Fatal(err)
		}
		var m sidecarpb.ReadFileRequest
		if err := newChunkCodec().Unmarshal(split(wire, 1), &m); err != nil || m.Path != "/data/level.dat" {
			t.Fatalf("decoded %q, %v", m.Path, err)
		}
	})
}

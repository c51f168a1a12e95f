package sidecar

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// chunkCodec is the codec of one ReadFile or StreamArchive call on the client.
// It decodes each Chunk into one buffer that it reuses, where the default codec
// copies every message into a pooled buffer it first clears and then copies the
// data again into a fresh slice: a backup streams gigabytes through the host
// process, and with the default codec each gigabyte of archive would leave a
// gigabyte of garbage and grow the host's heap. Every other message goes to the
// default codec.
//
// A decoded Chunk's Data is only valid until the next message of the call is
// decoded: the caller must be done with it by then (chunkReader is).
type chunkCodec struct {
	encoding.CodecV2
	buf []byte
}

func newChunkCodec() *chunkCodec {
	return &chunkCodec{CodecV2: encoding.GetCodecV2(protoenc.Name)}
}

// Unmarshal decodes a Chunk into the codec's buffer, and anything else with the
// default codec. The report (field 3) is decoded only when present; fields a newer
// sidecar may add are skipped.
func (c *chunkCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*sidecarpb.Chunk)
	if !ok {
		return c.CodecV2.Unmarshal(data, v)
	}
	n := data.Len()
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	b := c.buf[:n]
	data.CopyTo(b)
	m.Reset()
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return fmt.Errorf("decoding a chunk: %w", protowire.ParseError(k))
		}
		b = b[k:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.Data, k = protowire.ConsumeBytes(b)
		case (num == 2 || num == 4 || num == 5) && typ == protowire.VarintType:
			var v uint64
			v, k = protowire.ConsumeVarint(b)
			switch num {
			case 2:
				m.Size = int64(v)
			case 4:
				m.DoneBytes = int64(v)
			case 5:
				m.TotalBytes = int64(v)
			}
		case num == 3 && typ == protowire.BytesType:
			// Once per stream, in its last message: the default decoder will do.
			var report []byte
			if report, k = protowire.ConsumeBytes(b); k >= 0 {
				m.Report = &sidecarpb.ArchiveReport{}
				if err := proto.Unmarshal(report, m.Report); err != nil {
					return fmt.Errorf("decoding a chunk's report: %w", err)
				}
			}
		default:
			k = protowire.ConsumeFieldValue(num, typ, b)
		}
		if k < 0 {
			return fmt.Errorf("decoding a chunk: %w", protowire.ParseError(k))
		}
		b = b[k:]
	}
	return nil
}

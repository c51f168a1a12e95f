package server

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// restoreMsg is a RestoreArchiveRequest as one RestoreArchive call receives it:
// decoded by serverCodec into a buffer the call reuses for every message. The
// default codec would gather each message into a pooled buffer and then copy
// its data again into a fresh slice: for a restore, two copies and a gigabyte
// of garbage per gigabyte of archive. Here it is one copy and no garbage.
type restoreMsg struct {
	header *sidecarpb.RestoreArchiveHeader
	data   []byte // valid until the next message is received
	buf    []byte
}

// recvData receives the next message, which must carry data, and returns it.
func (m *restoreMsg) recvData(stream grpc.ServerStream) ([]byte, error) {
	if err := stream.RecvMsg(m); err != nil {
		return nil, err
	}
	if m.header != nil {
		return nil, status.Error(codes.InvalidArgument, "the header was sent twice")
	}
	return m.data, nil
}

// decode parses the wire form of a RestoreArchiveRequest. Fields a newer client
// may add are skipped.
func (m *restoreMsg) decode(data mem.BufferSlice) error {
	n := data.Len()
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	b := m.buf[:n]
	data.CopyTo(b)
	m.header, m.data = nil, nil
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return fmt.Errorf("decoding a restore message: %w", protowire.ParseError(k))
		}
		b = b[k:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			var raw []byte
			if raw, k = protowire.ConsumeBytes(b); k >= 0 {
				m.header = &sidecarpb.RestoreArchiveHeader{}
				if err := proto.Unmarshal(raw, m.header); err != nil {
					return fmt.Errorf("decoding a restore header: %w", err)
				}
			}
		case num == 2 && typ == protowire.BytesType:
			m.data, k = protowire.ConsumeBytes(b)
		default:
			k = protowire.ConsumeFieldValue(num, typ, b)
		}
		if k < 0 {
			return fmt.Errorf("decoding a restore message: %w", protowire.ParseError(k))
		}
		b = b[k:]
	}
	return nil
}

// serverCodec is the server's codec: the default one, except for restoreMsg.
type serverCodec struct {
	encoding.CodecV2
}

func newServerCodec() serverCodec {
	return serverCodec{CodecV2: encoding.GetCodecV2(protoenc.Name)}
}

// Unmarshal decodes a restoreMsg into its own buffer, anything else with the
// default codec.
func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*restoreMsg); ok {
		return m.decode(data)
	}
	return c.CodecV2.Unmarshal(data, v)
}

package rcon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// FuzzReadPacket feeds readPacket arbitrary bytes: it must never panic, must
// fail only with the documented errors, and a packet it accepts must encode back
// to the bytes it was read from.
func FuzzReadPacket(f *testing.F) {
	f.Add(appendPacket(nil, packet{id: 1, typ: typeAuthResponse}))
	f.Add(appendPacket(nil, packet{id: 7, typ: typeResponseValue, body: []byte("There are 0 of a max of 20 players online")}))
	f.Add(appendPacket(nil, packet{id: -1, typ: typeAuthResponse}))
	f.Add(appendPacket(nil, packet{id: 3, typ: typeResponseValue, body: []byte("\x00\x00\x00\x01\x00\x00")}))
	f.Add(appendPacket(nil, packet{id: 2, typ: typeResponseValue, body: bytes.Repeat([]byte("z"), 4096)}))
	f.Add(binary.LittleEndian.AppendUint32(nil, 5))
	f.Add(binary.LittleEndian.AppendUint32(nil, 0xffffffff))
	f.Add(binary.LittleEndian.AppendUint32(nil, 1<<30))
	f.Add([]byte{10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'x', 'y'})
	f.Add([]byte{14, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 8 << 10
		p, err := readPacket(bytes.NewReader(data), max)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPacketTooLarge) &&
				!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		raw := appendPacket(nil, p)
		if len(raw) > len(data) || !bytes.Equal(raw, data[:len(raw)]) {
			t.Fatalf("accepted packet %+v re-encodes to %x, read from %x", p, raw, data)
		}
		if len(raw)-4 > max {
			t.Fatalf("accepted a packet of size %d over the bound %d", len(raw)-4, max)
		}
	})
}

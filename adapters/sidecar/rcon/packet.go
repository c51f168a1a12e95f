package rcon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types. The protocol gives 2 two meanings, told apart by direction.
const (
	typeResponseValue = 0
	typeExecCommand   = 2
	typeAuthResponse  = 2
	typeAuth          = 3
)

const (
	// minPacketSize is the smallest size field: id, type and the two NULs.
	minPacketSize = 10
	// MaxCommandBytes is the longest command (and password) sent, in bytes.
	// Minecraft reads a request with one 1460-byte read and drops the
	// connection when the packet does not fit, so 1460 less the 14 bytes of
	// framing is the most every server accepts.
	MaxCommandBytes = 1446
	// MaxPacketBytes bounds the size field of a packet read from the game. The
	// protocol caps response bodies at 4096 bytes, but not every server keeps to
	// it (some send a whole reply in one packet), so the bound is lenient: it
	// only stops a garbage size from making the client wait for, or allocate,
	// megabytes.
	MaxPacketBytes = 64 << 10
)

// packet is one RCON packet. body excludes the two terminating NULs; it may
// itself contain NULs (Source servers send some binary bodies).
type packet struct {
	id   int32
	typ  int32
	body []byte
}

// appendPacket appends p's wire form to dst.
func appendPacket(dst []byte, p packet) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(minPacketSize+len(p.body)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(p.id))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(p.typ))
	dst = append(dst, p.body...)
	return append(dst, 0, 0)
}

// readPacket reads one packet whose size field is at most max. It validates the
// size before allocating, so a hostile size costs nothing. It returns io.EOF if r
// ends before the packet starts and io.ErrUnexpectedEOF if it ends inside it.
func readPacket(r io.Reader, max int) (packet, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return packet{}, err
	}
	size := int64(int32(binary.LittleEndian.Uint32(head[:])))
	switch {
	case size < minPacketSize:
		return packet{}, fmt.Errorf("%w: size %d is under the minimum %d", ErrMalformed, size, minPacketSize)
	case size > int64(max):
		return packet{}, fmt.Errorf("%w: size %d is over %d bytes", ErrPacketTooLarge, size, max)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return packet{}, err
	}
	if buf[size-2] != 0 || buf[size-1] != 0 {
		return packet{}, fmt.Errorf("%w: the body does not end with two NULs", ErrMalformed)
	}
	return packet{
		id:   int32(binary.LittleEndian.Uint32(buf[0:4])),
		typ:  int32(binary.LittleEndian.Uint32(buf[4:8])),
		body: buf[8 : size-2],
	}, nil
}

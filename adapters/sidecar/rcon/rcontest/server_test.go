package rcontest_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon/rcontest"
)

type wire struct {
	t *testing.T
	c net.Conn
}

func connect(t *testing.T, s *rcontest.Server) wire {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return wire{t, c}
}

func packetBytes(id, typ int32, body string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)))
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	return append(append(b, body...), 0, 0)
}

func (w wire) send(id, typ int32, body string) {
	w.t.Helper()
	if _, err := w.c.Write(packetBytes(id, typ, body)); err != nil {
		w.t.Fatal(err)
	}
}

func (w wire) expect(id, typ int32, body string) {
	w.t.Helper()
	var head [12]byte
	if _, err := io.ReadFull(w.c, head[:]); err != nil {
		w.t.Fatalf("reading a packet: %v", err)
	}
	rest := make([]byte, binary.LittleEndian.Uint32(head[:])-8)
	if _, err := io.ReadFull(w.c, rest); err != nil {
		w.t.Fatal(err)
	}
	gotID, gotType := int32(binary.LittleEndian.Uint32(head[4:])), int32(binary.LittleEndian.Uint32(head[8:]))
	if gotID != id || gotType != typ || !bytes.Equal(rest, append([]byte(body), 0, 0)) {
		w.t.Fatalf("got packet id %d type %d body of %d bytes, want id %d type %d body of %d bytes",
			gotID, gotType, len(rest)-2, id, typ, len(body))
	}
}

func TestSpeaksLikeMinecraft(t *testing.T) {
	s := rcontest.Start(t, "pw")
	long := strings.Repeat("0123456789abcdef", 640) // 10 KiB
	s.Handle("data get", long)
	w := connect(t, s)

	w.send(5, 2, "list")
	w.expect(-1, 2, "") // commands before auth are refused
	w.send(6, 3, "wrong")
	w.expect(-1, 2, "")
	w.send(7, 3, "pw") // the connection stays open after a failed auth
	w.expect(7, 2, "")

	w.send(8, 2, "data get")
	w.expect(8, 0, long[:4096])
	w.expect(8, 0, long[4096:8192])
	w.expect(8, 0, long[8192:])
	w.send(9, 0, "")
	w.expect(9, 0, "Unknown request 0")
	w.send(10, 2, "save-off")
	w.expect(10, 0, "")

	if got := s.Commands(); len(got) != 2 || got[0] != "data get" || got[1] != "save-off" {
		t.Errorf("Commands = %q", got)
	}
	// Two packets in one read: Minecraft drops the connection, and so does this.
	w2 := connect(t, s)
	two := append(packetBytes(1, 3, "pw"), packetBytes(2, 2, "list")...)
	if _, err := w2.c.Write(two); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(w2.c); err != nil {
		t.Fatal(err)
	}
	if got := s.Commands(); len(got) != 2 {
		t.Errorf("a pipelined command ran: %q", got)
	}

	s.Stop()
	s.Stop()
	if _, err := w.c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after Stop")
	}
}

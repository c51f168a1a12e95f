// Package rcontest is an RCON server for tests. It speaks the protocol the way
// Minecraft does: the auth response carries id -1 for a wrong password and the
// connection stays open; a reply over 4096 bytes is split into 4096-byte
// packets; a packet of a type it does not know (the empty packet clients send
// to find the end of a reply) is answered with a response value carrying its
// id. Like Minecraft, it takes each request from a single read of at most 1460
// bytes and drops the connection when that read holds anything but one whole
// packet, so a client that sends a packet before the previous one is answered
// fails against it as it would against Minecraft. It records every command it
// runs, in order, across connections.
package rcontest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

const (
	// chunk is the most reply bytes Minecraft puts in one packet.
	chunk = 4096
	// maxRequest is the most bytes Minecraft reads for one request.
	maxRequest = 1460
)

// Server is a running RCON test server. Its methods are safe for concurrent use.
type Server struct {
	password string
	addr     string

	mu       sync.Mutex
	commands []string
	replies  map[string]string
	delay    time.Duration
	ln       net.Listener
	conns    map[net.Conn]struct{}
	stopped  chan struct{} // closed by Stop: ends delays
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and serves until Stop, which t.Cleanup calls.
func Start(t testing.TB, password string) *Server {
	t.Helper()
	s := &Server{password: password, replies: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("rcontest: listen: %v", err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Commands returns every command run so far, in order, across connections.
// Commands sent without a successful auth are refused and not recorded.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Handle sets the reply to command. A command without one gets an empty reply
// (as many Minecraft commands do).
func (s *Server) Handle(command, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[command] = reply
}

// SetDelay makes the server wait d before running each command.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Stop closes the listener and every connection, as a game that went down
// would, and waits for them to end. Stopping twice is harmless.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
		close(s.stopped)
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Restart listens again on the same address after Stop, as a game that came
// back would. It fails t if the address was taken in the meantime.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("rcontest: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln, s.conns, s.stopped = ln, map[net.Conn]struct{}{}, make(chan struct{})
	stopped := s.stopped
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.ln != ln {
				s.mu.Unlock()
				_ = c.Close()
				return
			}
			s.conns[c] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			go func() {
				defer s.wg.Done()
				s.session(c, stopped)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
		}
	}()
}

// session serves one connection until it ends or sends a packet that is not
// RCON.
func (s *Server) session(c net.Conn, stopped <-chan struct{}) {
	authed := false
	buf := make([]byte, maxRequest)
	for {
		id, typ, body, err := readRequest(c, buf)
		if err != nil {
			return
		}
		switch typ {
		case 3: // auth
			authed = body == s.password
			if !authed {
				id = -1
			}
			err = writePacket(c, id, 2, "")
		case 2: // exec command
			if !authed {
				err = writePacket(c, -1, 2, "")
				break
			}
			s.mu.Lock()
			s.commands = append(s.commands, body)
			reply, delay := s.replies[body], s.delay
			s.mu.Unlock()
			select {
			case <-time.After(delay):
			case <-stopped:
				return
			}
			err = writeReply(c, id, reply)
		default:
			err = writePacket(c, id, 0, fmt.Sprintf("Unknown request %x", typ))
		}
		if err != nil {
			return
		}
	}
}

// writeReply sends reply in packets of at most chunk bytes, and one empty packet
// for an empty reply.
func writeReply(w io.Writer, id int32, reply string) error {
	for {
		n := min(len(reply), chunk)
		if err := writePacket(w, id, 0, reply[:n]); err != nil {
			return err
		}
		reply = reply[n:]
		if reply == "" {
			return nil
		}
	}
}

func writePacket(w io.Writer, id, typ int32, body string) error {
	b := make([]byte, 0, 14+len(body))
	b = binary.LittleEndian.AppendUint32(b, uint32(10+len(body)))
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, uint32(typ))
	b = append(b, body...)
	_, err := w.Write(append(b, 0, 0))
	return err
}

// readRequest reads one request with one read, as Minecraft does.
func readRequest(r io.Reader, buf []byte) (id, typ int32, body string, err error) {
	n, err := r.Read(buf)
	if err != nil {
		return 0, 0, "", err
	}
	if n < 14 || int(int32(binary.LittleEndian.Uint32(buf))) != n-4 {
		return 0, 0, "", fmt.Errorf("a read of %d bytes is not one whole packet", n)
	}
	id = int32(binary.LittleEndian.Uint32(buf[4:]))
	typ = int32(binary.LittleEndian.Uint32(buf[8:]))
	return id, typ, string(buf[12 : n-2]), nil
}

package rcon

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeGame listens on loopback and runs script on the first connection, to
// play servers that rcontest does not: Source's quirks and broken ones.
func fakeGame(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func send(c net.Conn, id, typ int32, body string) {
	_, _ = c.Write(appendPacket(nil, packet{id: id, typ: typ, body: []byte(body)}))
}

func sendRaw(c net.Conn, size int32, rest []byte) {
	_, _ = c.Write(append(binary.LittleEndian.AppendUint32(nil, uint32(size)), rest...))
}

// acceptAuth reads the auth packet and answers it the way Source does: an empty
// response value first, then the auth response.
func acceptAuth(c net.Conn) {
	p, err := readPacket(c, MaxPacketBytes)
	if err != nil {
		return
	}
	send(c, p.id, typeResponseValue, "")
	send(c, p.id, typeAuthResponse, "")
}

// hold keeps the connection open until the client is done with it.
func hold(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func TestSourceServerQuirks(t *testing.T) {
	addr := fakeGame(t, func(c net.Conn) {
		acceptAuth(c)
		for {
			p, err := readPacket(c, MaxPacketBytes)
			if err != nil {
				return
			}
			if p.typ == typeResponseValue {
				// Source mirrors the end marker, then adds a packet of its own.
				send(c, p.id, typeResponseValue, "")
				send(c, p.id, typeResponseValue, "\x00\x00\x00\x01\x00\x00")
				continue
			}
			send(c, p.id, typeResponseValue, "reply to "+string(p.body))
		}
	})
	c, err := Dial(t.Context(), addr, "pw", Options{})
	if err != nil {
		t.Fatalf("Dial to a server that sends an empty value before the auth response: %v", err)
	}
	defer c.Close()
	for _, cmd := range []string{"status", "users", "status"} {
		got, err := c.Exec(t.Context(), cmd)
		if err != nil || got != "reply to "+cmd {
			t.Fatalf("Exec(%q) = %q, %v", cmd, got, err)
		}
	}
}

func TestAuthFailureThenClose(t *testing.T) {
	addr := fakeGame(t, func(c net.Conn) {
		p, _ := readPacket(c, MaxPacketBytes)
		send(c, p.id, typeResponseValue, "")
		send(c, -1, typeAuthResponse, "")
	})
	if _, err := Dial(t.Context(), addr, "pw", Options{}); !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial = %v, want ErrAuth", err)
	}
}

func TestHostileServers(t *testing.T) {
	authed := func(then func(c net.Conn, cmd packet)) func(c net.Conn) {
		return func(c net.Conn) {
			acceptAuth(c)
			p, err := readPacket(c, MaxPacketBytes)
			if err != nil {
				return
			}
			then(c, p)
			hold(c)
		}
	}
	cases := []struct {
		name   string
		script func(c net.Conn)
		want   error
	}{
		{"size under 10", func(c net.Conn) { _, _ = readPacket(c, MaxPacketBytes); sendRaw(c, 5, make([]byte, 5)); hold(c) }, ErrMalformed},
		{"negative size", func(c net.Conn) { _, _ = readPacket(c, MaxPacketBytes); sendRaw(c, -4, nil); hold(c) }, ErrMalformed},
		{"size of a gigabyte", func(c net.Conn) { _, _ = readPacket(c, MaxPacketBytes); sendRaw(c, 1<<30, nil); hold(c) }, ErrPacketTooLarge},
		{"no NUL terminators", func(c net.Conn) {
			p, _ := readPacket(c, MaxPacketBytes)
			raw := appendPacket(nil, packet{id: p.id, typ: typeAuthResponse, body: []byte("ok")})
			raw[len(raw)-1], raw[len(raw)-2] = 'x', 'y'
			_, _ = c.Write(raw)
			hold(c)
		}, ErrMalformed},
		{"auth answered with another id", func(c net.Conn) {
			p, _ := readPacket(c, MaxPacketBytes)
			send(c, p.id+7, typeAuthResponse, "")
			hold(c)
		}, ErrMalformed},
		{"endless empty values instead of an auth response", func(c net.Conn) {
			p, _ := readPacket(c, MaxPacketBytes)
			for range 10 {
				send(c, p.id, typeResponseValue, "")
			}
			hold(c)
		}, ErrMalformed},
		{"closes before answering auth", func(c net.Conn) { _, _ = readPacket(c, MaxPacketBytes) }, io.ErrUnexpectedEOF},
		{"reply with an unknown id", authed(func(c net.Conn, p packet) { send(c, p.id+100, typeResponseValue, "x") }), ErrMalformed},
		{"reply of the wrong type", authed(func(c net.Conn, p packet) { send(c, p.id, typeAuthResponse, "x") }), ErrMalformed},
		{"reply too large a packet", authed(func(c net.Conn, p packet) { sendRaw(c, MaxPacketBytes+1, nil) }), ErrPacketTooLarge},
		{"reply cut short", authed(func(c net.Conn, p packet) {
			raw := appendPacket(nil, packet{id: p.id, typ: typeResponseValue, body: []byte("half a reply")})
			_, _ = c.Write(raw[:len(raw)-5])
			_ = c.Close()
		}), io.ErrUnexpectedEOF},
		{"command refused as unauthenticated", authed(func(c net.Conn, p packet) { send(c, -1, typeAuthResponse, "") }), ErrAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeGame(t, tc.script)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := func() error {
				c, err := Dial(ctx, addr, "pw", Options{})
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.Exec(ctx, "list")
				return err
			}()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s: it waited instead of refusing", d)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestSilentGameTimesOutAuth(t *testing.T) {
	addr := fakeGame(t, hold)
	start := time.Now()
	_, err := Dial(t.Context(), addr, "pw", Options{DialTimeout: 200 * time.Millisecond})
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "authenticating") {
		t.Fatalf("Dial to a game that never answers = %v, want an auth timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}

package rcon_test

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon/rcontest"
)

const password = "hunter2-secret"

func dial(t *testing.T, s *rcontest.Server, opts rcon.Options) *rcon.Conn {
	t.Helper()
	c, err := rcon.Dial(t.Context(), s.Addr(), password, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestExecRunsCommandsInOrderAndReturnsReplies(t *testing.T) {
	s := rcontest.Start(t, password)
	s.Handle("list", "There are 0 of a max of 20 players online: ")
	c := dial(t, s, rcon.Options{})
	for _, cmd := range []string{"save-off", "list", "save-on"} {
		got, err := c.Exec(t.Context(), cmd)
		if err != nil {
			t.Fatalf("Exec(%q): %v", cmd, err)
		}
		if cmd == "list" && got != "There are 0 of a max of 20 players online: " {
			t.Errorf("Exec(list) = %q", got)
		}
	}
	// A second connection's commands come after the first's.
	c2 := dial(t, s, rcon.Options{})
	if _, err := c2.Exec(t.Context(), "save-all flush"); err != nil {
		t.Fatal(err)
	}
	want := []string{"save-off", "list", "save-on", "save-all flush"}
	if got := s.Commands(); !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
}

func TestWrongPasswordIsErrAuthWithoutThePassword(t *testing.T) {
	s := rcontest.Start(t, password)
	_, err := rcon.Dial(t.Context(), s.Addr(), "not-the-password", rcon.Options{})
	if !errors.Is(err, rcon.ErrAuth) {
		t.Fatalf("Dial with a wrong password: %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), "not-the-password") || strings.Contains(err.Error(), password) {
		t.Errorf("error %q shows a password", err)
	}
	if len(s.Commands()) != 0 {
		t.Errorf("commands ran: %q", s.Commands())
	}
}

func TestMultiPacketRepliesAreAssembledExactly(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	for _, n := range []int{0, 1, 4095, 4096, 4097, 8192, 10 << 10, 100_000} {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			b.WriteString(strings.Repeat(string(rune('a'+i%26)), 1+i%7))
		}
		reply := b.String()[:n]
		cmd := "data get " + strings.Repeat("x", n%50)
		s.Handle(cmd, reply)
		got, err := c.Exec(t.Context(), cmd)
		if err != nil {
			t.Fatalf("reply of %d bytes: %v", n, err)
		}
		if got != reply {
			t.Fatalf("reply of %d bytes came back as %d bytes, different", n, len(got))
		}
	}
}

func TestReplyOverMaxResponseBytes(t *testing.T) {
	s := rcontest.Start(t, password)
	s.Handle("big", strings.Repeat("y", 10<<10))
	c := dial(t, s, rcon.Options{MaxResponseBytes: 8 << 10})
	_, err := c.Exec(t.Context(), "big")
	if !errors.Is(err, rcon.ErrResponseTooLarge) {
		t.Fatalf("Exec = %v, want ErrResponseTooLarge", err)
	}
	if _, err := c.Exec(t.Context(), "list"); !errors.Is(err, rcon.ErrClosed) {
		t.Errorf("Exec after a failed Exec = %v, want ErrClosed", err)
	}
}

func TestCommandTooLongIsRefusedBeforeSending(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	if _, err := c.Exec(t.Context(), "say "+strings.Repeat("a", rcon.MaxCommandBytes)); !errors.Is(err, rcon.ErrCommandTooLong) {
		t.Fatalf("Exec = %v, want ErrCommandTooLong", err)
	}
	longest := "say " + strings.Repeat("a", rcon.MaxCommandBytes-4)
	if _, err := c.Exec(t.Context(), longest); err != nil {
		t.Fatalf("Exec of a %d-byte command: %v", len(longest), err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{longest}) {
		t.Errorf("server ran %d commands, want only the one that fits", len(got))
	}
}

func TestCommandTimeout(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{CommandTimeout: 200 * time.Millisecond})
	s.SetDelay(5 * time.Second)
	start := time.Now()
	_, err := c.Exec(t.Context(), "save-all flush")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Exec = %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), `command "save-all flush"`) || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("error %q does not say which command got no answer", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about 200ms", d)
	}
}

func TestContextCancelAndDeadline(t *testing.T) {
	s := rcontest.Start(t, password)
	s.SetDelay(5 * time.Second)

	c := dial(t, s, rcon.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := c.Exec(ctx, "save-off"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec with a cancelled ctx = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %s", d)
	}

	c = dial(t, s, rcon.Options{})
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Exec(ctx, "save-off"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec past ctx's deadline = %v, want context.DeadlineExceeded", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := rcon.Dial(ctx, s.Addr(), password, rcon.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled ctx = %v", err)
	}
}

func TestServerStopMidCommand(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	s.SetDelay(5 * time.Second)
	time.AfterFunc(100*time.Millisecond, s.Stop)
	start := time.Now()
	_, err := c.Exec(t.Context(), "save-off")
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "closed the RCON connection") {
		t.Fatalf("Exec while the game stops = %v, want it to say the game closed the connection", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("noticed after %s", d)
	}
	if _, err := rcon.Dial(t.Context(), s.Addr(), password, rcon.Options{}); err == nil || !strings.Contains(err.Error(), "connecting to RCON at "+s.Addr()) {
		t.Errorf("Dial to a stopped game = %v, want a connect error naming the address", err)
	}
}

func TestGameComesBack(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	if _, err := c.Exec(t.Context(), "save-off"); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if _, err := c.Exec(t.Context(), "save-on"); err == nil {
		t.Fatal("Exec on a connection to a restarted game succeeded")
	}
	c = dial(t, s, rcon.Options{})
	if _, err := c.Exec(t.Context(), "save-on"); err != nil {
		t.Fatalf("Exec after redialling: %v", err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{"save-off", "save-on"}) {
		t.Errorf("commands = %q", got)
	}
}

func TestClosedConn(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Exec(t.Context(), "list"); !errors.Is(err, rcon.ErrClosed) {
		t.Errorf("Exec after Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentExecsEachGetTheirReply(t *testing.T) {
	s := rcontest.Start(t, password)
	c := dial(t, s, rcon.Options{})
	cmds := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, cmd := range cmds {
		s.Handle(cmd, strings.Repeat(cmd, 5000))
	}
	errs := make(chan error, len(cmds))
	for _, cmd := range cmds {
		go func() {
			got, err := c.Exec(t.Context(), cmd)
			if err == nil && got != strings.Repeat(cmd, 5000) {
				err = errors.New("reply to " + cmd + " is another command's")
			}
			errs <- err
		}()
	}
	for range cmds {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

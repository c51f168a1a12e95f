package rcon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors that Dial and Exec wrap, to test with errors.Is. Their messages are
// plain words, since they end up in warnings a game's owner reads.
var (
	// ErrAuth means the game refused the password.
	ErrAuth = errors.New("wrong RCON password")
	// ErrPacketTooLarge means the game sent a packet over MaxPacketBytes, or the
	// password is over MaxCommandBytes.
	ErrPacketTooLarge = errors.New("RCON packet too large")
	// ErrResponseTooLarge means a command's reply is over
	// Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("RCON reply too large")
	// ErrMalformed means the game sent something that is not an RCON packet, or
	// a packet that answers nothing that was asked.
	ErrMalformed = errors.New("malformed RCON packet")
	// ErrCommandTooLong means a command is over MaxCommandBytes; it was not sent.
	ErrCommandTooLong = errors.New("RCON command too long")
	// ErrClosed means the Conn was closed, or is unusable after a failed Exec.
	ErrClosed = errors.New("RCON connection closed")
)

// Options tune a connection. The zero value means the documented defaults.
type Options struct {
	// DialTimeout bounds connecting and authenticating. Default 5s.
	DialTimeout time.Duration
	// CommandTimeout bounds each Exec: sending the command and reading its whole
	// reply. Default 10s.
	CommandTimeout time.Duration
	// MaxResponseBytes caps the total size of one command's reply. Default 1 MiB.
	MaxResponseBytes int
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	return o
}

// Conn is an authenticated RCON connection. Its methods are safe to call from
// several goroutines, but commands run one at a time. An Exec that fails leaves
// the Conn unusable (the stream may be mid-reply); later calls return ErrClosed
// and the caller dials again.
type Conn struct {
	opts   Options
	nc     net.Conn
	r      *bufio.Reader
	mu     sync.Mutex // serialises commands; guards lastID and broken
	lastID int32
	broken error
	closed atomic.Bool
}

// Dial connects to the RCON server at addr (host:port) and authenticates with
// password.
func Dial(ctx context.Context, addr, password string, opts Options) (*Conn, error) {
	opts = opts.withDefaults()
	if len(password) > MaxCommandBytes {
		return nil, fmt.Errorf("%w: the password is over %d bytes", ErrPacketTooLarge, MaxCommandBytes)
	}
	deadline := time.Now().Add(opts.DialTimeout)
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, stepError(ctx, fmt.Sprintf("connecting to RCON at %s", addr), opts.DialTimeout, dialCause(err))
	}
	c := &Conn{opts: opts, nc: nc, r: bufio.NewReader(nc)}
	if err := c.auth(ctx, password, deadline); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) auth(ctx context.Context, password string, deadline time.Time) error {
	const step = "authenticating over RCON"
	stop := c.bound(ctx, time.Until(deadline))
	defer stop()
	id := c.nextID()
	if _, err := c.nc.Write(appendPacket(nil, packet{id: id, typ: typeAuth, body: []byte(password)})); err != nil {
		return stepError(ctx, step, c.opts.DialTimeout, err)
	}
	// Source servers send an empty response value before the auth response;
	// a few of those are tolerated, an endless stream is not.
	for range 4 {
		p, err := readPacket(c.r, MaxPacketBytes)
		if err != nil {
			return stepError(ctx, step, c.opts.DialTimeout, err)
		}
		switch {
		case p.typ == typeAuthResponse && p.id == id:
			return nil
		case p.typ == typeAuthResponse && p.id == -1:
			return ErrAuth
		case p.typ == typeResponseValue && (p.id == id || p.id == -1) && len(p.body) == 0:
			continue
		default:
			return fmt.Errorf("%s: %w: unexpected packet id %d type %d", step, ErrMalformed, p.id, p.typ)
		}
	}
	return fmt.Errorf("%s: %w: no auth response", step, ErrMalformed)
}

// Exec runs command and returns its whole reply. The reply may come in several
// packets; its end is found by sending an empty packet after the first reply
// packet arrived and reading until the game answers it.
func (c *Conn) Exec(ctx context.Context, command string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	step := "command " + quoteShort(command)
	if c.broken != nil || c.closed.Load() {
		return "", fmt.Errorf("%s: %w", step, ErrClosed)
	}
	if len(command) > MaxCommandBytes {
		return "", fmt.Errorf("%s: %w: %d bytes, the most is %d", step, ErrCommandTooLong, len(command), MaxCommandBytes)
	}
	if strings.IndexByte(command, 0) >= 0 {
		return "", fmt.Errorf("%s: contains a NUL byte, which RCON cannot send", step)
	}
	reply, err := c.exec(ctx, command)
	if err != nil {
		c.broken = err
		_ = c.nc.Close()
		if c.closed.Load() {
			err = ErrClosed
		}
		return "", fmt.Errorf("%s: %w", step, err)
	}
	return reply, nil
}

func (c *Conn) exec(ctx context.Context, command string) (string, error) {
	timeout := c.opts.CommandTimeout
	stop := c.bound(ctx, timeout)
	defer stop()
	id, sentinel := c.nextID(), c.nextID()
	if _, err := c.nc.Write(appendPacket(nil, packet{id: id, typ: typeExecCommand, body: []byte(command)})); err != nil {
		return "", stepError(ctx, "", timeout, err)
	}
	var reply []byte
	sent := false
	for {
		p, err := readPacket(c.r, MaxPacketBytes)
		if err != nil {
			return "", stepError(ctx, "", timeout, err)
		}
		switch {
		case p.id == sentinel && sent:
			return string(reply), nil
		case p.id == id && p.typ == typeResponseValue:
			if len(reply)+len(p.body) > c.opts.MaxResponseBytes {
				return "", fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, c.opts.MaxResponseBytes)
			}
			reply = append(reply, p.body...)
			if sent {
				continue
			}
			// Sent only now, not with the command: Minecraft reads one packet per
			// read and drops the connection when two arrive together, and it
			// writes a whole reply before it reads again, so this packet's answer
			// comes after the reply's last packet.
			sent = true
			if _, err := c.nc.Write(appendPacket(nil, packet{id: sentinel, typ: typeResponseValue})); err != nil {
				return "", stepError(ctx, "", timeout, err)
			}
		case p.id == -1:
			return "", fmt.Errorf("the game refused the command as unauthenticated: %w", ErrAuth)
		case p.id > 0 && p.id < id:
			// A late answer to an earlier end marker: Source answers it with two
			// packets.
		default:
			return "", fmt.Errorf("%w: unexpected packet id %d type %d", ErrMalformed, p.id, p.typ)
		}
	}
}

// Close closes the connection; an Exec in progress fails. Closing twice is not
// an error.
func (c *Conn) Close() error {
	c.closed.Store(true)
	err := c.nc.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// nextID returns a fresh request id, never -1 (the protocol's failure id) or 0.
func (c *Conn) nextID() int32 {
	c.lastID++
	if c.lastID <= 0 {
		c.lastID = 1
	}
	return c.lastID
}

// bound sets the connection's deadline to timeout from now, or ctx's deadline
// if sooner, and makes ctx's cancellation interrupt blocked reads and writes.
// The returned func undoes both.
func (c *Conn) bound(ctx context.Context, timeout time.Duration) (stop func()) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.nc.SetDeadline(deadline)
	interrupted := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		_ = c.nc.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	return func() {
		if !cancel() {
			// Wait, lest the past deadline land on the next command.
			<-interrupted
		}
		_ = c.nc.SetDeadline(time.Time{})
	}
}

// stepError says in plain words why an I/O step failed, keeping the cause
// testable: a cancelled or expired ctx wraps ctx's error, a timeout wraps
// os.ErrDeadlineExceeded, a connection the game closed wraps
// io.ErrUnexpectedEOF.
func stepError(ctx context.Context, step string, timeout time.Duration, err error) error {
	prefix := ""
	if step != "" {
		prefix = step + ": "
	}
	if d, ok := ctx.Deadline(); ok && isTimeout(err) && !time.Now().Before(d) {
		// ctx's deadline set the connection's; ctx may not have noticed yet.
		return fmt.Errorf("%s%w", prefix, context.DeadlineExceeded)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s%w", prefix, context.Cause(ctx))
	case isTimeout(err):
		return fmt.Errorf("%sno answer from the game within %s: %w", prefix, timeout, os.ErrDeadlineExceeded)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%sthe game closed the RCON connection: %w", prefix, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// dialCause drops the "dial tcp addr:" prefix the step already says.
func dialCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// quoteShort quotes a command for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

package server

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultExecOutput is how much of a command's output ExecHook keeps for its error
// message when ExecHook.MaxOutput is zero.
const DefaultExecOutput = 4 << 10

// execPath is the PATH of a hook's commands: the usual system directories, not
// the sidecar's own environment, which carries its secret.
const execPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ExecHook is a Quiescer that runs a command to pause the game's writes and
// another to resume them, for games with a control tool of their own. Commands
// run without a shell, with an environment of only PATH and Env (never the
// sidecar's, which holds its secret), and each is bounded by the server's
// QuiesceTimeout: at the deadline the command and every process it started (its
// process group) are killed.
type ExecHook struct {
	// PauseCommand is the argv of the pause command; its first element is an
	// absolute path.
	PauseCommand []string
	// ResumeCommand is the argv of the resume command, like PauseCommand. It
	// must succeed when the game is not paused: it also runs after a pause
	// that failed and after the sidecar restarts.
	ResumeCommand []string
	// Env holds KEY=value pairs added to the commands' environment.
	Env []string
	// MaxOutput is how many bytes of a failed command's combined output, its
	// last ones, its error message keeps; zero means DefaultExecOutput.
	MaxOutput int
}

// Method implements Quiescer.
func (h *ExecHook) Method() string { return "exec" }

// Pause implements Quiescer: it runs PauseCommand.
func (h *ExecHook) Pause(ctx context.Context) error { return h.run(ctx, "pause", h.PauseCommand) }

// Resume implements Quiescer: it runs ResumeCommand.
func (h *ExecHook) Resume(ctx context.Context) error { return h.run(ctx, "resume", h.ResumeCommand) }

// check refuses a hook that could never run.
func (h *ExecHook) check() error {
	for _, c := range []struct {
		name string
		argv []string
	}{{"pause", h.PauseCommand}, {"resume", h.ResumeCommand}} {
		if err := checkArgv(c.argv); err != nil {
			return fmt.Errorf("exec quiesce hook: the %s command %w", c.name, err)
		}
	}
	for _, kv := range h.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("exec quiesce hook: environment entry %q is not KEY=value", kv)
		}
	}
	return nil
}

func checkArgv(argv []string) error {
	switch {
	case len(argv) == 0:
		return errors.New("is empty")
	case !filepath.IsAbs(argv[0]):
		return fmt.Errorf("%q is not an absolute path: commands run without a shell or the sidecar's PATH", argv[0])
	}
	return nil
}

func (h *ExecHook) run(ctx context.Context, what string, argv []string) error {
	if err := checkArgv(argv); err != nil {
		return fmt.Errorf("the %s command %w", what, err)
	}
	limit := h.MaxOutput
	if limit <= 0 {
		limit = DefaultExecOutput
	}
	out := &tailBuffer{max: limit}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{execPath}, h.Env...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = out, out
	// The whole group goes at the deadline: a script's children (a sleep, a
	// client waiting on the game) would otherwise outlive it.
	inGroup(cmd)
	// A child that escaped its group and keeps the output open must not keep
	// the caller waiting.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var msg string
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		msg = fmt.Sprintf("killed after %s: it did not finish in time", time.Since(start).Round(time.Millisecond))
	case errors.As(err, &ee):
		msg = ee.ProcessState.String() // "exit status 3", "signal: killed"
	default:
		msg = err.Error()
	}
	if tail := out.tail(); tail != "" {
		msg += ": " + tail
	}
	return fmt.Errorf("the %s command %s: %s", what, filepath.Base(argv[0]), msg)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu   sync.Mutex // stdout and stderr are copied by two goroutines
	max  int
	buf  []byte
	lost bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.lost = true
	}
	return n, nil
}

// tail is the output kept, trimmed, on one line, marked when its start was cut.
func (t *tailBuffer) tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "\uFFFD"))
	s = strings.Join(strings.Fields(s), " ")
	if t.lost && s != "" {
		s = "…" + s
	}
	return s
}

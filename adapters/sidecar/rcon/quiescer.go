package rcon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"
)

// Quiescer pauses a game's saving over RCON while a backup is archived, so that
// the world on disk does not change under the archive. Its defaults are
// Minecraft's commands. Every Pause and Resume dials afresh: a backup can take
// long enough for the game to restart in between.
type Quiescer struct {
	// Addr is host:port of the game's RCON, usually on the pod's loopback.
	Addr string
	// PasswordFile holds the RCON password. It is read at every Pause and Resume,
	// so the password can rotate without a restart; a trailing newline is
	// ignored.
	PasswordFile string
	// PauseCommands run in order to stop saving. Default save-off, then
	// "save-all flush" (which returns once the world is written).
	PauseCommands []string
	// ResumeCommands run in order to resume saving. Default save-on.
	ResumeCommands []string
	// Options tune the connection. A zero CommandTimeout lets each command run
	// until ctx's deadline, when it has one: the caller's timeout for the whole
	// pause, which a slow "save-all flush" of a big world may need.
	Options Options
}

// Method names the quiesce method in reports: "rcon".
func (q *Quiescer) Method() string { return "rcon" }

// Pause connects, authenticates and runs PauseCommands in order, stopping at the
// first that fails; the error names it. The commands before it have taken
// effect, so a caller whose Pause failed still calls Resume.
func (q *Quiescer) Pause(ctx context.Context) error {
	cmds := q.PauseCommands
	if len(cmds) == 0 {
		cmds = []string{"save-off", "save-all flush"}
	}
	return q.run(ctx, cmds)
}

// Resume connects afresh, authenticates and runs ResumeCommands in order,
// stopping at the first that fails; the error names it.
func (q *Quiescer) Resume(ctx context.Context) error {
	cmds := q.ResumeCommands
	if len(cmds) == 0 {
		cmds = []string{"save-on"}
	}
	return q.run(ctx, cmds)
}

func (q *Quiescer) run(ctx context.Context, commands []string) error {
	password, err := q.password()
	if err != nil {
		return err
	}
	opts := q.Options
	if deadline, ok := ctx.Deadline(); ok && opts.CommandTimeout <= 0 {
		opts.CommandTimeout = max(time.Until(deadline), time.Millisecond)
	}
	c, err := Dial(ctx, q.Addr, password, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, cmd := range commands {
		if _, err := c.Exec(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

// password reads PasswordFile. Errors name the file, never its contents.
func (q *Quiescer) password() (string, error) {
	if q.PasswordFile == "" {
		return "", fmt.Errorf("no RCON password file configured")
	}
	b, err := os.ReadFile(q.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("reading the RCON password file: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", fmt.Errorf("the RCON password file %s is empty", q.PasswordFile)
	}
	return string(b), nil
}

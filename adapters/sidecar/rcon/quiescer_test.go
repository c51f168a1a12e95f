package rcon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon/rcontest"
)

func passwordFile(t *testing.T, contents string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rcon-password")
	if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestQuiescerPausesAndResumesMinecraft(t *testing.T) {
	s := rcontest.Start(t, password)
	q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: passwordFile(t, password+"\n")}
	if q.Method() != "rcon" {
		t.Errorf("Method = %q", q.Method())
	}
	if err := q.Pause(t.Context()); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{"save-off", "save-all flush"}) {
		t.Fatalf("Pause ran %q", got)
	}
	if err := q.Resume(t.Context()); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{"save-off", "save-all flush", "save-on"}) {
		t.Fatalf("Pause then Resume ran %q", got)
	}
}

func TestQuiescerCustomCommands(t *testing.T) {
	s := rcontest.Start(t, password)
	q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: passwordFile(t, password),
		PauseCommands: []string{"server.save", "save.pause"}, ResumeCommands: []string{"save.resume"}}
	if err := q.Pause(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{"server.save", "save.pause", "save.resume"}) {
		t.Fatalf("ran %q", got)
	}
}

func TestQuiescerReadsThePasswordAtEveryCall(t *testing.T) {
	s := rcontest.Start(t, password)
	file := passwordFile(t, "old-password\n")
	q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: file}
	err := q.Pause(t.Context())
	if !errors.Is(err, rcon.ErrAuth) || !strings.Contains(err.Error(), "wrong RCON password") {
		t.Fatalf("Pause with a wrong password = %v, want it to say the password is wrong", err)
	}
	if strings.Contains(err.Error(), "old-password") {
		t.Errorf("error %q shows the password", err)
	}
	if err := os.WriteFile(file, []byte(password+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := q.Pause(t.Context()); err != nil {
		t.Fatalf("Pause after the password file was fixed: %v", err)
	}
}

func TestQuiescerRefusesAMissingOrEmptyPasswordFile(t *testing.T) {
	s := rcontest.Start(t, password)
	for name, file := range map[string]string{
		"empty":        passwordFile(t, ""),
		"only newline": passwordFile(t, "\n"),
		"missing":      filepath.Join(t.TempDir(), "nope"),
		"unset":        "",
	} {
		q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: file}
		err := q.Pause(t.Context())
		if err == nil || !strings.Contains(err.Error(), "RCON password file") {
			t.Errorf("%s password file: Pause = %v, want an error about the password file", name, err)
		}
	}
	if len(s.Commands()) != 0 {
		t.Errorf("commands ran: %q", s.Commands())
	}
}

func TestQuiescerNamesTheCommandThatFailed(t *testing.T) {
	s := rcontest.Start(t, password)
	q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: passwordFile(t, password),
		Options: rcon.Options{CommandTimeout: 100 * time.Millisecond}}
	s.SetDelay(5 * time.Second)
	err := q.Pause(t.Context())
	if err == nil || !strings.Contains(err.Error(), `"save-off"`) {
		t.Fatalf("Pause = %v, want it to name save-off", err)
	}
	t.Logf("a timed out pause: %v", err)
	s.Stop()
	err = q.Resume(t.Context())
	if err == nil || !strings.Contains(err.Error(), "connecting to RCON") {
		t.Fatalf("Resume with the game down = %v", err)
	}
	t.Logf("a game that is down: %v", err)
}

// TestQuiescerCommandsMayTakeTheWholeTimeout: a flush slower than a command's
// default timeout still pauses the game when the caller allows the time.
func TestQuiescerCommandsMayTakeTheWholeTimeout(t *testing.T) {
	t.Parallel()
	s := rcontest.Start(t, password)
	q := &rcon.Quiescer{Addr: s.Addr(), PasswordFile: passwordFile(t, password), PauseCommands: []string{"save-all flush"}}
	s.SetDelay(10*time.Second + 300*time.Millisecond) // over the 10s default
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := q.Pause(ctx); err != nil {
		t.Fatalf("a flush of 10.3s within a 20s pause timeout failed: %v", err)
	}
	if got := s.Commands(); !slices.Equal(got, []string{"save-all flush"}) {
		t.Fatalf("commands %q", got)
	}
}

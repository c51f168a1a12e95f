package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// script writes a shell script to dir and returns the argv that runs it.
func script(t *testing.T, dir, name, body string) []string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("set -e\n"+body+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", p}
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func TestExecHookAroundAnArchive(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hook := &server.ExecHook{
		PauseCommand:  script(t, dir, "pause.sh", `echo "pause:$GAME:$SAVEPOINT_SIDECAR_SECRET" >> "$LOG"`),
		ResumeCommand: script(t, dir, "resume.sh", `echo resume >> "$LOG"`),
		Env:           []string{"LOG=" + log, "GAME=minecraft"},
	}
	// The sidecar's own environment, which holds its secret, stays its own.
	t.Setenv("SAVEPOINT_SIDECAR_SECRET", "leaked")
	opts := server.Options{Quiescer: hook}
	server.SetFileOpenedHook(&opts, func(name string, _ *os.File) {
		f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString("archive:" + name + "\n")
		f.Close()
	})
	srv := startServer(t, opts)
	data := srv.mkdir(t, "data")
	if err := os.WriteFile(filepath.Join(data, "level.dat"), []byte("level"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := srv.client(t).CompressFiles(context.Background(), []string{data}, srv.path("out.tar.gz"), ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLines(t, log), " "), "pause:minecraft: archive:level.dat resume"; got != want {
		t.Fatalf("the log says %q, want %q", got, want)
	}
	if rep.Quiesce.Method != "exec" || rep.Quiesce.Warning != "" {
		t.Fatalf("quiesce report %+v, want method exec and no warning", rep.Quiesce)
	}
}

func TestExecHookFailure(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()

	t.Run("says the exit status and the end of the output", func(t *testing.T) {
		h := &server.ExecHook{
			PauseCommand:  script(t, dir, "fail.sh", "echo starting\necho 'rcon: connection refused' >&2\nexit 3"),
			ResumeCommand: []string{"/bin/true"},
		}
		err := h.Pause(ctx)
		if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "rcon: connection refused") {
			t.Fatalf("error %v, want the exit status and the output", err)
		}
	})

	t.Run("keeps only the last MaxOutput bytes", func(t *testing.T) {
		h := &server.ExecHook{
			PauseCommand:  script(t, dir, "chatty.sh", "head -c 100000 /dev/zero | tr '\\0' x\necho\necho the-last-words\nexit 1"),
			ResumeCommand: []string{"/bin/true"},
			MaxOutput:     100,
		}
		err := h.Pause(ctx)
		if err == nil || !strings.Contains(err.Error(), "the-last-words") || len(err.Error()) > 300 {
			t.Fatalf("error %q (%d bytes), want the output's end within about 100 bytes", err, len(err.Error()))
		}
	})

	t.Run("kills the command and its children at the deadline", func(t *testing.T) {
		pidFile := filepath.Join(dir, "child.pid")
		h := &server.ExecHook{
			PauseCommand:  script(t, dir, "hang.sh", "sleep 60 &\necho $! > "+pidFile+"\nwait"),
			ResumeCommand: []string{"/bin/true"},
		}
		tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := h.Pause(tctx)
		if err == nil || !strings.Contains(err.Error(), "did not finish in time") {
			t.Fatalf("error %v, want a timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Pause returned after %s, long after its deadline", d)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("the command's child %d outlived the deadline", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("a relative or missing command is refused when the server is built", func(t *testing.T) {
		for _, h := range []*server.ExecHook{
			{PauseCommand: []string{"game-ctl", "pause"}, ResumeCommand: []string{"/bin/true"}},
			{PauseCommand: []string{"/bin/true"}},
		} {
			_, err := server.New(server.Options{StateDir: t.TempDir(), Roots: []string{t.TempDir()}, AllowUnauthenticated: true, Quiescer: h})
			if err == nil {
				t.Fatalf("New accepted the hook %+v", h)
			}
		}
	})
}

// alive reports whether the process pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

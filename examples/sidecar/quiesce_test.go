package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon/rcontest"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestQuiesceFlags(t *testing.T) {
	pause, resume := `["/usr/bin/game-ctl","pause"]`, `["/usr/bin/game-ctl","resume"]`

	c, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.quiescer != nil || c.quiesceTimeout != server.DefaultQuiesceTimeout {
		t.Fatalf("by default: quiescer %v, timeout %s; want none and %s", c.quiescer, c.quiesceTimeout, server.DefaultQuiesceTimeout)
	}

	c, err = parseFlags([]string{"-quiesce", "exec", "-exec-pause", pause, "-exec-resume", resume, "-quiesce-timeout", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	want := &server.ExecHook{PauseCommand: []string{"/usr/bin/game-ctl", "pause"}, ResumeCommand: []string{"/usr/bin/game-ctl", "resume"}}
	if !reflect.DeepEqual(c.quiescer, want) || c.quiesceTimeout != 5*time.Second {
		t.Fatalf("quiescer %#v, timeout %s; want %#v and 5s", c.quiescer, c.quiesceTimeout, want)
	}

	c, err = parseFlags([]string{"-quiesce", "rcon", "-rcon-password-file", "/run/secrets/rcon", "-rcon-pause", "saveworld; ", "-rcon-resume", "say backup done;"})
	if err != nil {
		t.Fatal(err)
	}
	wantRCON := &rcon.Quiescer{Addr: "127.0.0.1:25575", PasswordFile: "/run/secrets/rcon", PauseCommands: []string{"saveworld"}, ResumeCommands: []string{"say backup done"}}
	if !reflect.DeepEqual(c.quiescer, wantRCON) {
		t.Fatalf("quiescer %#v, want %#v", c.quiescer, wantRCON)
	}
	c, err = parseFlags([]string{"-quiesce", "rcon", "-rcon-password-file", "/run/secrets/rcon"})
	if err != nil {
		t.Fatal(err)
	}
	if q := c.quiescer.(*rcon.Quiescer); !slices.Equal(q.PauseCommands, []string{"save-off", "save-all flush"}) || !slices.Equal(q.ResumeCommands, []string{"save-on"}) {
		t.Fatalf("Minecraft's commands are not the default: pause %q, resume %q", q.PauseCommands, q.ResumeCommands)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-quiesce", "telepathy"}, "-quiesce"},
		{[]string{"-quiesce", "rcon"}, "-rcon-password-file"},
		{[]string{"-quiesce", "rcon", "-rcon-password-file", "/p", "-rcon-pause", " ; "}, "at least one command"},
		{[]string{"-rcon-addr", "127.0.0.1:1"}, "need -quiesce rcon"},
		{[]string{"-quiesce", "exec"}, "-exec-pause and -exec-resume"},
		{[]string{"-quiesce", "exec", "-exec-pause", pause}, "-exec-pause and -exec-resume"},
		{[]string{"-exec-pause", pause, "-exec-resume", resume}, "need -quiesce exec"},
		{[]string{"-quiesce", "exec", "-exec-pause", "/usr/bin/game-ctl pause", "-exec-resume", resume}, "JSON array"},
		{[]string{"-quiesce", "exec", "-exec-pause", "[]", "-exec-resume", resume}, "JSON array"},
		{[]string{"-quiesce-timeout", "0s"}, "-quiesce-timeout"},
		{[]string{"-quiesce-timeout", "-1s"}, "-quiesce-timeout"},
	} {
		if _, err := parseFlags(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestSidecarRefusesARelativeExecCommand(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0", "-roots", t.TempDir(), "-state-dir", t.TempDir(), "-insecure-no-auth",
		"-quiesce", "exec", "-exec-pause", `["game-ctl","pause"]`, "-exec-resume", `["/usr/bin/game-ctl","resume"]`)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not an absolute path") {
		t.Fatalf("started with a relative command (err %v):\n%s", err, out)
	}
}

// TestRestartResumesAGameKilledWhilePaused kills the sidecar while the game's
// saving is off for an archive: the sidecar that starts next on the same state
// directory turns it back on.
func TestRestartResumesAGameKilledWhilePaused(t *testing.T) {
	t.Run("exec", func(t *testing.T) {
		hooks := t.TempDir()
		saving := filepath.Join(hooks, "saving")
		if err := os.WriteFile(saving, []byte("on"), 0o644); err != nil {
			t.Fatal(err)
		}
		hook := func(name, word string) string {
			p := filepath.Join(hooks, name)
			if err := os.WriteFile(p, []byte("printf "+word+" > "+saving+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return `["/bin/sh","` + p + `"]`
		}
		killWhilePaused(t, func() string {
			b, err := os.ReadFile(saving)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}, "-quiesce", "exec", "-exec-pause", hook("pause.sh", "off"), "-exec-resume", hook("resume.sh", "on"))
	})
	t.Run("rcon", func(t *testing.T) {
		game := rcontest.Start(t, "correct horse")
		password := filepath.Join(t.TempDir(), "rcon-password")
		if err := os.WriteFile(password, []byte("correct horse\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		killWhilePaused(t, func() string {
			saving := "on"
			for _, c := range game.Commands() {
				switch c {
				case "save-off":
					saving = "off"
				case "save-on":
					saving = "on"
				}
			}
			return saving
		}, "-quiesce", "rcon", "-rcon-addr", game.Addr(), "-rcon-password-file", password)
	})
}

// killWhilePaused starts the sidecar with quiesceArgs, kills it with SIGKILL in
// the middle of an archive, when savingIs says "off", starts it again on the same
// state directory and waits until savingIs says "on" and the resume marker is gone.
func killWhilePaused(t *testing.T, savingIs func() string, quiesceArgs ...string) {
	root, state := t.TempDir(), t.TempDir()
	args := append([]string{"-roots", root, "-archive-dir", root, "-state-dir", state}, quiesceArgs...)
	env := []string{"SAVEPOINT_SIDECAR_SECRET=" + crashSecret}

	p := runSidecar(t, os.Args[0], nil, env, args...)
	c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: p.addr, Secret: crashSecret}, sidecar.ClientOptions{})
	if err != nil {
		p.kill()
		t.Fatal(err)
	}
	defer c.Close()
	// Far more incompressible data than the stream's windows hold: with nobody
	// reading, the archive blocks, and the game stays paused.
	rng := rand.NewChaCha8([32]byte{1})
	src := sourceDir(t, root, 24, func(int) []byte {
		b := make([]byte, 4<<20)
		rng.Read(b)
		return b
	})
	stream, err := c.StreamArchive(context.Background(), []string{src}, ports.ArchiveOptions{Quiesce: ports.QuiesceRequired})
	if err != nil {
		p.kill()
		t.Fatal(err)
	}
	defer stream.Close()
	if s := savingIs(); s != "off" {
		p.kill()
		t.Fatalf("saving is %q once the archive started, want off", s)
	}
	time.Sleep(100 * time.Millisecond)
	p.kill()
	if s := savingIs(); s != "off" {
		t.Fatalf("saving is %q after the kill, want off: the archive finished before it", s)
	}

	p = runSidecar(t, os.Args[0], nil, env, args...)
	defer p.stop()
	deadline := time.Now().Add(20 * time.Second)
	for savingIs() != "on" {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted sidecar left the game's saving off:\n%s", p.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if _, err := os.Stat(filepath.Join(state, server.ResumeMarker)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the resume marker outlived the resume")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

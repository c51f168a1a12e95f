package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon/rcontest"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

// TestQuiesceAndExcludes takes backups through the example server and the
// sidecar binary configured to pause a Minecraft server over RCON (an
// in-repository RCON server that records what it is told), with a
// .savepointignore file and a create's own excludes.
func TestQuiesceAndExcludes(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := gamedata.Generate(ctx, dataDir, gamedata.Options{Size: 16 << 20, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dataDir, ".savepointignore"), "# the server rewrites these\nlogs/\n*.tmp\n")
	for _, dir := range []string{"logs", "cache/tiles"} {
		if err := os.MkdirAll(filepath.Join(dataDir, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(dataDir, "logs", "latest.log"), "[12:00:00] the server started\n")
	mustWrite(t, filepath.Join(dataDir, "cache", "tiles", "0.0.png"), "a rendered tile\n")
	mustWrite(t, filepath.Join(dataDir, "world", "session.tmp"), "a lock\n")
	before, err := e2e.Snapshot(dataDir)
	if err != nil {
		t.Fatal(err)
	}

	game := rcontest.Start(t, "correct horse")
	password := filepath.Join(t.TempDir(), "rcon-password")
	if err := os.WriteFile(password, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sidecar := e2e.StartSidecar(t, dataDir, "-quiesce", "rcon", "-rcon-addr", game.Addr(), "-rcon-password-file", password)
	srv := e2e.StartServer(t, e2e.ServerOptions{Sidecar: sidecar})
	c := srv.Client
	create := func(t *testing.T, body map[string]any) sphttp.BackupView {
		t.Helper()
		var v sphttp.BackupView
		c.Must(t, http.MethodPost, e2e.BackupsPath(srv.Order, srv.Provision), body, http.StatusAccepted, &v)
		ready := c.WaitSettled(t, srv.Order, srv.Provision, v.ID, time.Minute)
		if ready.Status != "ready" {
			t.Fatalf("backup did not become ready: %s", e2e.Describe(ready))
		}
		return ready
	}

	ready := create(t, map[string]any{"name": "paused", "excludes": []string{"cache/"}})

	t.Run("the game saves, stops saving for the archive, and saves again", func(t *testing.T) {
		if got, want := game.Commands(), []string{"save-off", "save-all flush", "save-on"}; !slices.Equal(got, want) {
			t.Fatalf("the game was told %q, want %q", got, want)
		}
		if ready.Quiesce == nil || ready.Quiesce.Method != "rcon" || ready.Quiesce.PausedMS <= 0 || len(ready.Warnings) != 0 {
			t.Fatalf("quiesce %+v, warnings %q: want rcon, a pause, no warning", ready.Quiesce, ready.Warnings)
		}
		if !strings.Contains(sidecar.Proc.Output(), "game resumed") {
			t.Errorf("the sidecar's log does not say how long the game was paused:\n%s", sidecar.Proc.Output())
		}
	})

	t.Run("the backup records the patterns and leaves out what they match", func(t *testing.T) {
		if want := []string{"logs/", "*.tmp", "cache/"}; !slices.Equal(ready.Excludes, want) {
			t.Fatalf("excludes %q, want %q", ready.Excludes, want)
		}
		got, err := e2e.SnapshotArchive(bytes.NewReader(c.Download(t, *ready.AssetID)))
		if err != nil {
			t.Fatal(err)
		}
		want := e2e.Tree{}
		for p, e := range before {
			if !strings.HasPrefix(p, "logs") && !strings.HasPrefix(p, "cache") && !strings.HasSuffix(p, ".tmp") {
				want[p] = e
			}
		}
		if diff := e2e.Diff(want, got, 10); diff != nil {
			t.Errorf("the archive is not the data directory without logs/, cache/ and *.tmp:\n%v", diff)
		}
	})

	t.Run("a restore keeps the current logs, cache and tmp files", func(t *testing.T) {
		mustWrite(t, filepath.Join(dataDir, "logs", "latest.log"), "[12:00:00] the server started\n[13:00:00] a player griefed spawn\n")
		mustWrite(t, filepath.Join(dataDir, "cache", "tiles", "0.1.png"), "another tile\n")
		mustWrite(t, filepath.Join(dataDir, "server.properties"), "motd=griefed\n")
		if err := os.RemoveAll(filepath.Join(dataDir, "world", "region")); err != nil {
			t.Fatal(err)
		}
		current, err := e2e.Snapshot(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		c.Restore(t, srv.Order, srv.Provision, ready.ID)
		if done := c.WaitSettled(t, srv.Order, srv.Provision, ready.ID, time.Minute); done.Status != "ready" || done.Error != nil {
			t.Fatalf("restore did not complete: %s", e2e.Describe(done))
		}
		want := e2e.Tree{}
		for p, e := range before {
			want[p] = e
		}
		for p, e := range current { // what the backup left out is today's
			if strings.HasPrefix(p, "logs") || strings.HasPrefix(p, "cache") || strings.HasSuffix(p, ".tmp") {
				want[p] = e
			}
		}
		now, err := e2e.Snapshot(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := e2e.Diff(want, now, 10); diff != nil {
			t.Errorf("after the restore the data directory is not the backup plus today's excluded files:\n%v", diff)
		}
		if got := game.Commands(); len(got) != 3 {
			t.Errorf("a restore spoke to the game: %q", got)
		}
	})

	t.Run("with the game's RCON down the backup is made, with a warning", func(t *testing.T) {
		game.Stop()
		v := create(t, map[string]any{"name": "unpaused"})
		if v.Quiesce != nil || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "not paused") {
			t.Fatalf("quiesce %+v, warnings %q: want none, and a warning that the game was not paused", v.Quiesce, v.Warnings)
		}
		if strings.Contains(v.Warnings[0], "correct horse") || strings.Contains(sidecar.Proc.Output(), "correct horse") {
			t.Fatal("the RCON password was shown or logged")
		}
	})
}

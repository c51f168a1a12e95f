package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// TestREADMEWalkthrough runs the README's curl walkthrough verbatim against a
// zero-config server, from a directory laid out like the repository's root (the
// walkthrough sources var/demo.env).
func TestREADMEWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough:begin -->\n```sh\n(.*?)```\n<!-- walkthrough:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no walkthrough block")
	}
	root := t.TempDir()
	srv := e2e.StartServer(t, e2e.ServerOptions{Dir: filepath.Join(root, "var")})

	cmd := exec.Command("bash", "-eu", "-c", string(m[1]))
	cmd.Dir = root
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("walkthrough hung:\n%s", out)
	}
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s\n--- server ---\n%s", err, out, srv.Proc.Output())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if last := lines[len(lines)-1]; last != "204" {
		t.Errorf("the walkthrough's delete answered %q, want 204:\n%s", last, out)
	}
	if !strings.Contains(string(out), "world/level.dat") {
		t.Errorf("the downloaded archive's listing shows no world directory:\n%s", out)
	}
}

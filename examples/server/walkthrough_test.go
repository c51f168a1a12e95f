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

// TestREADMEWalkthrough runs the README's curl walkthrough and its locking and
// schedule examples verbatim, one after the other in one shell as a reader would,
// against a zero-config server, from a directory laid out like the
// repository's root (the walkthrough sources var/demo.env).
func TestREADMEWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	walkthrough, locking := readmeBlock(t, readme, "walkthrough"), readmeBlock(t, readme, "locking")
	schedules := readmeBlock(t, readme, "schedules")
	const between, beforeSchedules = "--- locking ---", "--- schedules ---"
	root := t.TempDir()
	srv := e2e.StartServer(t, e2e.ServerOptions{Dir: filepath.Join(root, "var")})

	cmd := exec.Command("bash", "-eu", "-c", walkthrough+"echo '"+between+"'\n"+locking+"echo '"+beforeSchedules+"'\n"+schedules)
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
	first, rest, _ := strings.Cut(string(out), between+"\n")
	second, third, _ := strings.Cut(rest, beforeSchedules+"\n")
	// The delete's 204, then the activity log: the walkthrough's steps, newest first.
	want := regexp.MustCompile(`\n204\n"type":"backup.deleted"\n"type":"restore.finished"\n"type":"restore.started"\n"type":"backup.ready"\n"type":"backup.created"\n$`)
	if !want.MatchString(first) {
		t.Errorf("the walkthrough printed\n%s\nwant the delete's 204, then the activity of the delete, the restore and the create, newest first", first)
	}
	if !strings.Contains(first, "world/level.dat") {
		t.Errorf("the downloaded archive's listing shows no world directory:\n%s", out)
	}
	// The lock, the refused delete's problem, the unlock and the delete.
	want = regexp.MustCompile(`(?s)^"locked":true\n\{.*"status":409.*"code":"backup_locked".*\}\n"locked":false\n204\n$`)
	if !want.MatchString(second) {
		t.Errorf("the locking examples printed\n%s\nwant the lock, a 409 backup_locked, the unlock and a 204", second)
	}
	// The next run, the refusal's code, the (empty) runs, the pause and the delete.
	want = regexp.MustCompile(`^"next_run_at":"[0-9T:-]+Z"\n"code":"invalid_schedule"\n\{.*"runs":\[\]\}\n"next_run_at":null\n204\n$`)
	if !want.MatchString(third) {
		t.Errorf("the schedule examples printed\n%s\nwant the next run, invalid_schedule, no runs, no next run and a 204", third)
	}
}

// readmeBlock returns the sh block between <!-- name:begin --> and
// <!-- name:end --> in the README.
func readmeBlock(t *testing.T, readme []byte, name string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)<!-- " + name + ":begin -->\n```sh\n(.*?)```\n<!-- " + name + ":end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no %s block", name)
	}
	return string(m[1])
}

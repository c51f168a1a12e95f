package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binMu    sync.Mutex
	binCache = map[string]string{}
	binDir   string
)

// Binary builds one of the repo's commands (for example "./examples/server") the
// first time a test binary asks for it and returns the executable's path. Tests
// run the real binaries as separate processes, so that kill -9 is a real crash.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if path, ok := binCache[pkg]; ok {
		return path
	}
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if binDir == "" {
		// Shared by every test of this test binary, so not tb.TempDir; removed
		// with the OS's temp directory.
		if binDir, err = os.MkdirTemp("", "savepoint-bin-"); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("testenv: go build %s: %v\n%s", pkg, err, b)
	}
	binCache[pkg] = out
	return out
}

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testenv: free port: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Process is a child process a test started; its output is kept for failures.
type Process struct {
	Name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

// StartProcess starts path with args and extra environment variables, and kills
// it when the test ends if it is still running. Its combined output is logged
// when the test fails.
func StartProcess(tb testing.TB, name, path string, args []string, env ...string) *Process {
	tb.Helper()
	p := &Process{Name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("testenv: start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("--- output of %s ---\n%s", name, p.Output())
		}
	})
	return p
}

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Process) Kill() {
	if !p.Exited() {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// Terminate sends SIGTERM and waits up to timeout for a graceful exit, then
// kills. It returns the exit error, or an error if the process had to be killed.
func (p *Process) Terminate(timeout time.Duration) error {
	if p.Exited() {
		return p.err
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM", p.Name, timeout)
	}
}

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// WaitFor polls cond every 20 ms until it holds or timeout passes; it fails the
// test with what if it never holds. It also fails fast if proc (optional) exits.
func WaitFor(tb testing.TB, timeout time.Duration, what string, proc *Process, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if proc != nil && proc.Exited() {
			tb.Fatalf("waiting for %s: %s exited: %v\n%s", what, proc.Name, proc.err, proc.Output())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

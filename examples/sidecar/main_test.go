package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The test binary doubles as the sidecar: with this variable set, TestMain runs
// main instead of the tests, so the tests can start the real command.
const runMainEnv = "SAVEPOINT_SIDECAR_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sidecarProc is a running sidecar command.
type sidecarProc struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{} // closed once its stderr is drained
	log  *strings.Builder
}

// stop sends SIGTERM and returns the exit error and the log.
func (p *sidecarProc) stop() (error, string) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	return p.cmd.Wait(), p.log.String()
}

// kill kills the process at once, as the kernel's OOM killer or a node failure
// would: it gets no chance to clean up.
func (p *sidecarProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
	p.cmd.Wait()
}

// runSidecar runs bin (the test binary, which runs main) with args, as cred's user
// when cred is not nil, and returns it once it listens.
func runSidecar(t *testing.T, bin string, cred *syscall.Credential, env []string, args ...string) *sidecarProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &sidecarProc{cmd: cmd, done: make(chan struct{}), log: &strings.Builder{}}
	lines := bufio.NewScanner(stderr)
	found := make(chan string, 1)
	go func() {
		defer close(p.done)
		re := regexp.MustCompile(`address=(127\.0\.0\.1:\d+)`)
		for lines.Scan() {
			p.log.WriteString(lines.Text() + "\n")
			if m := re.FindStringSubmatch(lines.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p.addr = <-found:
	case <-p.done:
		cmd.Wait()
		t.Fatalf("the sidecar exited before listening:\n%s", p.log.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-p.done
		t.Fatalf("the sidecar did not start listening:\n%s", p.log.String())
	}
	return p
}

// startSidecar runs the command with args and returns its address once it listens,
// and a function that sends SIGTERM and returns the exit error and the log.
func startSidecar(t *testing.T, env []string, args ...string) (addr string, stop func() (error, string)) {
	t.Helper()
	p := runSidecar(t, os.Args[0], nil, env, args...)
	return p.addr, p.stop
}

func TestSidecarCommand(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-be-logged"
	root := t.TempDir()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("serves with a secret file, stops on SIGTERM, never logs the secret", func(t *testing.T) {
		addr, stop := startSidecar(t, nil, "-roots", root, "-archive-dir", root, "-state-dir", t.TempDir(), "-secret-file", secretFile)
		ctx := context.Background()
		c, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: addr, Secret: secret}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.WriteFile(ctx, filepath.Join(root, "hello.txt"), 5, strings.NewReader("hello")); err != nil {
			t.Fatalf("WriteFile: %v", err)
		}
		wrong, err := sidecar.Connect(ctx, sidecar.Endpoint{Address: addr, Secret: "wrong"}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer wrong.Close()
		if err := wrong.DeleteFile(ctx, filepath.Join(root, "hello.txt")); err == nil {
			t.Fatal("a call with the wrong secret succeeded")
		}
		err, log := stop()
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, log)
		}
		if strings.Contains(log, secret) {
			t.Fatalf("the log contains the secret:\n%s", log)
		}
		if !strings.Contains(log, "stopped") {
			t.Fatalf("no graceful stop in the log:\n%s", log)
		}
	})

	t.Run("takes the secret from the environment", func(t *testing.T) {
		addr, stop := startSidecar(t, []string{"SAVEPOINT_SIDECAR_SECRET=" + secret}, "-roots", root, "-archive-dir", root, "-state-dir", t.TempDir())
		c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: addr, Secret: secret}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.DeleteFile(context.Background(), filepath.Join(root, "nothing")); err != nil {
			t.Fatalf("DeleteFile: %v", err)
		}
		if err, log := stop(); err != nil {
			t.Fatalf("exit: %v\n%s", err, log)
		}
	})

	t.Run("with -disable-stream-archive answers StreamArchive like a sidecar that predates it", func(t *testing.T) {
		addr, stop := startSidecar(t, []string{"SAVEPOINT_SIDECAR_SECRET=" + secret}, "-roots", root, "-archive-dir", root, "-state-dir", t.TempDir(), "-disable-stream-archive")
		c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: addr, Secret: secret}, sidecar.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.StreamArchive(context.Background(), []string{root}, ports.ArchiveOptions{}); !errors.Is(err, ports.ErrUnsupported) {
			t.Fatalf("StreamArchive: %v, want ErrUnsupported", err)
		}
		if err, log := stop(); err != nil {
			t.Fatalf("exit: %v\n%s", err, log)
		}
	})

	t.Run("refuses to start without a secret", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0", "-roots", root, "-state-dir", t.TempDir())
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "SAVEPOINT_SIDECAR_SECRET=")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "secret") {
			t.Fatalf("started without a secret (err %v):\n%s", err, out)
		}
	})
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512KiB": 512 << 10, "256MiB": 256 << 20, "64GiB": 64 << 30, "1TiB": 1 << 40, "3G": 3 << 30, "10B": 10} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q parses as %d (%v), want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1", "lots", "1.5GiB", "99999999999TiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("%q parsed as %d, want an error", in, b)
		}
	}
}

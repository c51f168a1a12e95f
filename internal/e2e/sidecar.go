package e2e

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// Sidecar is a running FileIO sidecar process (examples/sidecar), serving a data
// directory and a temp directory as a game pod's sidecar would serve /data and /tmp.
type Sidecar struct {
	Addr    string
	Secret  string
	DataDir string
	TempDir string
	// StateDir holds the sidecar's journal of its own temporary files.
	StateDir string
	Proc     *testenv.Process

	owner testing.TB // the test whose end kills the process
	bin   string
	args  []string
}

// StartSidecar builds (once) and starts the sidecar over dataDir (which must
// exist), a fresh temp directory and a fresh state directory, and waits until it
// accepts connections. The process runs until it is killed or tb's test ends,
// also when a subtest starts it again; a restarted sidecar keeps its state
// directory, as a sidecar restarted in its pod does.
func StartSidecar(tb testing.TB, dataDir string, extraArgs ...string) *Sidecar {
	tb.Helper()
	base := tb.TempDir()
	tempDir := filepath.Join(base, "tmp")
	if err := os.MkdirAll(tempDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	s := &Sidecar{
		Addr: testenv.FreeAddr(tb), Secret: randomToken(), DataDir: dataDir, TempDir: tempDir,
		StateDir: filepath.Join(base, "state"),
		owner:    tb, bin: testenv.Binary(tb, "./examples/sidecar"),
	}
	s.args = append([]string{"-listen", s.Addr, "-roots", dataDir + "," + tempDir, "-archive-dir", tempDir, "-state-dir", s.StateDir}, extraArgs...)
	s.Start(tb)
	return s
}

// Start starts the process (again, after Kill) and waits for its port.
func (s *Sidecar) Start(tb testing.TB) {
	tb.Helper()
	s.Proc = testenv.StartProcess(s.owner, "sidecar", s.bin, s.args, "SAVEPOINT_SIDECAR_SECRET="+s.Secret)
	testenv.WaitFor(tb, 30*time.Second, "the sidecar to listen", s.Proc, func() bool {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

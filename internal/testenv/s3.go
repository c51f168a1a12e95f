package testenv

// S3-protocol server for integration tests.
//
// By default S3 starts versitygw (github.com/versity/versitygw, posix backend) on a
// free 127.0.0.1 port, serving a fresh temp directory, and stops it when the test
// ends. The binary is looked up in $SAVEPOINT_TOOLS_DIR/versitygw, then
// <repo>/.cache/bin/versitygw, then PATH; scripts/install-tool-versitygw.sh puts it
// in .cache/bin. A missing binary is Unavailable: a skip on a laptop, a failure in CI.
//
// These environment variables point the tests at another server instead (MinIO,
// AWS, …); the bucket must already exist there and the tests only write keys under
// a random prefix:
//
//	SAVEPOINT_TEST_S3_ENDPOINT    endpoint URL, e.g. http://127.0.0.1:9000 (enables the mode)
//	SAVEPOINT_TEST_S3_ACCESS_KEY  access key ID
//	SAVEPOINT_TEST_S3_SECRET_KEY  secret access key
//	SAVEPOINT_TEST_S3_BUCKET      bucket name (default "savepoint-test")
//	SAVEPOINT_TEST_S3_REGION      region (default "us-east-1")
//	SAVEPOINT_TEST_S3_PATH_STYLE  "false" for virtual-hosted-style addressing (default true)
//	SAVEPOINT_TEST_S3_CA_FILE     PEM file with extra root CAs for a TLS endpoint (optional)
//
// An external server cannot be stopped by the tests, so failure-injection tests
// skip against it (Restartable reports false).

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that select an external S3 server (see the comment at the
// top of this file).
const (
	EnvS3Endpoint  = "SAVEPOINT_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "SAVEPOINT_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "SAVEPOINT_TEST_S3_SECRET_KEY"
	EnvS3Bucket    = "SAVEPOINT_TEST_S3_BUCKET"
	EnvS3Region    = "SAVEPOINT_TEST_S3_REGION"
	EnvS3PathStyle = "SAVEPOINT_TEST_S3_PATH_STYLE"
	EnvS3CAFile    = "SAVEPOINT_TEST_S3_CA_FILE"
	// EnvToolsDir is where scripts/install-tool-*.sh put binaries (the Makefile
	// exports it); default <repo>/.cache/bin.
	EnvToolsDir = "SAVEPOINT_TOOLS_DIR"
)

// VersitygwVersion is the versitygw release the installer script pins.
const VersitygwVersion = "v1.8.0"

// S3Options selects how a locally started server is reached.
type S3Options struct {
	// TLS serves HTTPS with a certificate generated for this test (127.0.0.1 and
	// localhost); S3Server.RootCAs trusts it. Ignored for an external server.
	TLS bool
}

// S3Server is an S3-protocol server for one test, with everything a client needs to
// reach it. The bucket exists and is empty of the test's keys.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string
	PathStyle bool
	// RootCAs trusts the server's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// CAFile is a PEM file of those roots, for a process that reads its trust
	// from a file (the example server's -s3-ca-file); empty when RootCAs is nil.
	CAFile string
	// DataDir is the directory a server started by this package serves (the
	// bucket is DataDir/Bucket), so tests can check what is left on disk; empty
	// for an external server.
	DataDir string

	proc *versitygw // nil for an external server
}

// S3 returns an S3-protocol server for the test: the external one named by
// SAVEPOINT_TEST_S3_ENDPOINT, or a versitygw started for this test and stopped at
// cleanup.
func S3(tb testing.TB, opts S3Options) *S3Server {
	tb.Helper()
	if endpoint := os.Getenv(EnvS3Endpoint); endpoint != "" {
		return externalS3(tb, endpoint)
	}
	bin, err := findTool("versitygw")
	if err != nil {
		Unavailable(tb, "S3 server: %v (run scripts/install-tool-versitygw.sh, or set %s)", err, EnvS3Endpoint)
		return nil
	}

	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	bucket := "savepoint-test"
	// The posix backend treats every top-level directory as a bucket.
	if err := os.MkdirAll(filepath.Join(data, bucket), 0o755); err != nil {
		tb.Fatalf("testenv: create bucket directory: %v", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testenv: find a free port: %v", err)
	}
	v := &versitygw{
		bin:       bin,
		dataDir:   data,
		addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		logPath:   filepath.Join(dir, "versitygw.log"),
		accessKey: "test" + randomHex(tb, 8),
		secretKey: randomHex(tb, 20),
	}
	s := &S3Server{
		Endpoint:  "http://" + v.addr,
		Region:    "us-east-1",
		AccessKey: v.accessKey,
		SecretKey: v.secretKey,
		Bucket:    bucket,
		PathStyle: true,
		DataDir:   data,
		proc:      v,
	}
	if opts.TLS {
		certPEM, keyPEM, pool := selfSignedCert(tb)
		v.certFile = filepath.Join(dir, "cert.pem")
		v.keyFile = filepath.Join(dir, "key.pem")
		if err := os.WriteFile(v.certFile, certPEM, 0o600); err != nil {
			tb.Fatalf("testenv: write certificate: %v", err)
		}
		if err := os.WriteFile(v.keyFile, keyPEM, 0o600); err != nil {
			tb.Fatalf("testenv: write key: %v", err)
		}
		v.rootCAs = pool
		s.Endpoint = "https://" + v.addr
		s.RootCAs = pool
		s.CAFile = v.certFile
	}
	tb.Cleanup(func() {
		if err := v.stop(); err != nil {
			tb.Errorf("testenv: stop versitygw: %v", err)
		}
	})
	if err := v.start(); err != nil {
		tb.Fatalf("testenv: start versitygw: %v", err)
	}
	return s
}

// Restartable reports whether Stop and Start work: true for a server this package
// started, false for an external one.
func (s *S3Server) Restartable() bool { return s.proc != nil }

// Stop kills the server (as a crash would: no graceful shutdown) and waits until
// it has exited. Stored objects and multipart uploads stay on disk for Start. Stop
// on a stopped server does nothing. It is safe to call from any goroutine; it
// reports failures as errors rather than through tb so it can run inside a reader.
func (s *S3Server) Stop() error {
	if s.proc == nil {
		return errors.New("testenv: an external S3 server cannot be stopped")
	}
	return s.proc.stop()
}

// Start starts a stopped server again on the same address with the same data, and
// waits until it answers. Start on a running server does nothing.
func (s *S3Server) Start() error {
	if s.proc == nil {
		return errors.New("testenv: an external S3 server cannot be started")
	}
	return s.proc.start()
}

// PartFiles lists the files a versitygw started by this package keeps for
// multipart uploads (its posix backend stores them under
// <bucket>/.sgwtmp/multipart), relative to that directory; nil for an external
// server. An upload can be invisible to ListMultipartUploads and still hold parts
// there, when a part request lands after the abort.
func (s *S3Server) PartFiles(tb testing.TB) []string {
	tb.Helper()
	if s.DataDir == "" {
		return nil
	}
	root := filepath.Join(s.DataDir, s.Bucket, ".sgwtmp", "multipart")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return nil
	})
	if err != nil {
		tb.Errorf("testenv: walking %s: %v", root, err)
	}
	return files
}

// HTTPClient returns an HTTP client that trusts the server's certificate.
func (s *S3Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.RootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

func externalS3(tb testing.TB, endpoint string) *S3Server {
	tb.Helper()
	s := &S3Server{
		Endpoint:  endpoint,
		Region:    envOr(EnvS3Region, "us-east-1"),
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
		Bucket:    envOr(EnvS3Bucket, "savepoint-test"),
		PathStyle: true,
	}
	if v := os.Getenv(EnvS3PathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			tb.Fatalf("testenv: %s=%q: %v", EnvS3PathStyle, v, err)
		}
		s.PathStyle = b
	}
	if caFile := os.Getenv(EnvS3CAFile); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			tb.Fatalf("testenv: %s: %v", EnvS3CAFile, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			tb.Fatalf("testenv: %s: no PEM certificates in %s", EnvS3CAFile, caFile)
		}
		s.RootCAs = pool
		s.CAFile = caFile
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// versitygw is one server process that can be stopped and started again on the
// same address and directory.
type versitygw struct {
	bin, dataDir, addr, logPath string
	certFile, keyFile           string
	rootCAs                     *x509.CertPool
	accessKey, secretKey        string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (v *versitygw) start() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd != nil {
		return nil
	}
	logFile, err := os.OpenFile(v.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	args := []string{"--port", v.addr, "--quiet", "--keep-alive"}
	if v.certFile != "" {
		args = append(args, "--cert", v.certFile, "--key", v.keyFile)
	}
	args = append(args, "posix", v.dataDir)
	cmd := exec.Command(v.bin, args...)
	// Credentials go through the environment, not argv, so they never show in ps.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+v.accessKey, "ROOT_SECRET_KEY="+v.secretKey)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", v.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	v.cmd, v.exited = cmd, exited

	if err := v.waitReady(exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		v.cmd, v.exited = nil, nil
		return fmt.Errorf("%w; server log:\n%s", err, tail(v.logPath, 4096))
	}
	return nil
}

// waitReady polls until the server answers HTTP (any status: an unsigned request
// gets 403, which proves the S3 handler is up).
func (v *versitygw) waitReady(exited <-chan struct{}) error {
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true}
	if v.rootCAs != nil {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{RootCAs: v.rootCAs, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("versitygw exited during start-up")
		default:
		}
		resp, err := client.Get(scheme + "://" + v.addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not ready after 30s: %w", lastErr)
}

func (v *versitygw) stop() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd == nil {
		return nil
	}
	err := v.cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	<-v.exited
	v.cmd, v.exited = nil, nil
	return err
}

// findTool looks for a tool binary in $SAVEPOINT_TOOLS_DIR, <repo>/.cache/bin and
// PATH, in that order.
func findTool(name string) (string, error) {
	var tried []string
	if dir := os.Getenv(EnvToolsDir); dir != "" {
		tried = append(tried, filepath.Join(dir, name))
	}
	if root, err := repoRoot(); err == nil {
		tried = append(tried, filepath.Join(root, ".cache", "bin", name))
	}
	for _, p := range tried {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	tried = append(tried, "PATH")
	return "", fmt.Errorf("%s not found in %s", name, strings.Join(tried, ", "))
}

// repoRoot walks up from the working directory (a package directory under go test)
// to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testenv: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// selfSignedCert makes a short-lived certificate for 127.0.0.1, ::1 and localhost,
// and a pool that trusts only it.
func selfSignedCert(tb testing.TB) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("testenv: generate key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatalf("testenv: serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "savepoint test S3"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("testenv: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("testenv: parse certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("testenv: marshal key: %v", err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), pool
}

// tail returns the last n bytes of a log file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

package reliability_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// worldBytes is the size of the game world every test backs up: big enough that
// a create or a restore lasts long enough on a loaded CI box for a kill to land
// in its middle (each test checks that it did), small enough to keep the package
// within a few minutes.
const worldBytes = 160 << 20

// The recovery timing every server gets: an operation whose worker stopped
// heartbeating is stale after staleAfter, and recovery looks for stale ones every
// staleAfter/4 (the example server's RecoveryInterval).
const (
	staleAfter        = 3 * time.Second
	heartbeatInterval = 500 * time.Millisecond
	recoveryInterval  = staleAfter / 4
)

// settleBound is how long after a kill an operation may take to be settled: the
// stale timeout and one recovery interval are the design's bound; the rest is
// slack for restarting a process on a loaded two-core CI box.
const settleBound = staleAfter + recoveryInterval + 15*time.Second

// operationTimeout bounds a whole create or restore of the world in these tests.
const operationTimeout = 3 * time.Minute

// world is the generated game world, made once per test binary and shared
// read-only: creates only read it. Restores write, so they work on a copy.
var world struct {
	once sync.Once
	root string // removed by TestMain
	dir  string
	tree e2e.Tree
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if world.root != "" {
		os.RemoveAll(world.root)
	}
	os.Exit(code)
}

// sharedWorld returns the shared world's directory and tree. Nothing may write
// into it.
func sharedWorld(t *testing.T) (string, e2e.Tree) {
	t.Helper()
	world.once.Do(func() {
		start := time.Now()
		if world.root, world.err = os.MkdirTemp("", "savepoint-reliability-"); world.err != nil {
			return
		}
		world.dir = filepath.Join(world.root, "data")
		if _, world.err = gamedata.Generate(context.Background(), world.dir, gamedata.Options{Size: worldBytes, Seed: 9}); world.err != nil {
			return
		}
		world.tree, world.err = e2e.Snapshot(world.dir)
		logTiming(t, "generating the shared world (once per test binary)", time.Since(start))
	})
	if world.err != nil {
		t.Fatalf("generating the shared game world: %v", world.err)
	}
	return world.dir, world.tree
}

// ownWorld copies the shared world into a directory of the test's own, for a
// test that restores into it.
func ownWorld(t *testing.T) (string, e2e.Tree) {
	t.Helper()
	src, tree := sharedWorld(t)
	dst := filepath.Join(t.TempDir(), "data")
	if err := copyTree(src, dst); err != nil {
		t.Fatalf("copying the game world: %v", err)
	}
	return dst, tree
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return copyFile(p, target, info.Mode().Perm())
		}
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// grief changes the world the way a griefer would — a changed file, a deleted
// directory, a new file — without writing into any existing file, so that a
// restore of a backup taken before is visible, and returns the changed tree.
func grief(t *testing.T, dir string) e2e.Tree {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, "server.properties")); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"server.properties": "motd=griefed\n", "world/griefer.txt": "was here\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "world", "playerdata")); err != nil {
		t.Fatal(err)
	}
	return snapshot(t, dir)
}

func snapshot(t *testing.T, dir string) e2e.Tree {
	t.Helper()
	tree, err := e2e.Snapshot(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return tree
}

// assertTree fails the test if dir does not hold want.
func assertTree(t *testing.T, dir string, want e2e.Tree, what string) {
	t.Helper()
	if diff := e2e.Diff(want, snapshot(t, dir), 10); diff != nil {
		t.Errorf("the data directory is not %s:\n%s", what, strings.Join(diff, "\n"))
	}
}

// stack is one real-mode deployment: a PostgreSQL schema, a versitygw, a sidecar
// process over a data directory, and an example server (more for replica tests).
type stack struct {
	// DB is the servers' connection string. Its application_name is AppName, so
	// a test can find (and terminate) its servers' connections and only theirs.
	DB      string
	AppName string
	S3      *testenv.S3Server
	Sidecar *e2e.Sidecar
	Server  *e2e.Server

	store *s3.Store     // the test's own S3 client, for inspecting the bucket
	pool  *pgxpool.Pool // the test's own connections, not tagged with AppName
}

// newStack starts versitygw and a sidecar over dataDir (with sidecarArgs) and a
// server using them, on a fresh schema.
func newStack(t *testing.T, dataDir string, sidecarArgs ...string) *stack {
	t.Helper()
	s := newInfra(t, dataDir, sidecarArgs...)
	s.Server = e2e.StartServer(t, s.serverOptions("example server"))
	return s
}

// newInfra is newStack without a server.
func newInfra(t *testing.T, dataDir string, sidecarArgs ...string) *stack {
	t.Helper()
	s := &stack{}
	s.freshSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	s.S3 = testenv.S3(t, testenv.S3Options{})
	if !s.S3.Restartable() {
		t.Skip("these tests stop and inspect the S3 server; an external one cannot be")
	}
	if s.store, err = s3.New(ctx, s3.Config{
		Bucket: s.S3.Bucket, Endpoint: s.S3.Endpoint, Region: s.S3.Region, UsePathStyle: s.S3.PathStyle,
		Credentials: &s3.Credentials{AccessKeyID: s.S3.AccessKey, SecretAccessKey: s.S3.SecretKey},
	}); err != nil {
		t.Fatal(err)
	}
	s.Sidecar = e2e.StartSidecar(t, dataDir, sidecarArgs...)
	return s
}

// restorePath is one of the two ways a restore reaches the game server: the
// archive streamed into an extraction as it downloads, or (a sidecar that
// predates RestoreArchive) staged in the sidecar's temp directory first.
type restorePath struct {
	name        string
	sidecarArgs []string
	staged      bool
}

var restorePaths = []restorePath{
	{name: "streamed"},
	{name: "staged", sidecarArgs: []string{"-disable-restore-archive"}, staged: true},
}

// freshSchema points the stack at a new, empty schema (dropped when t ends).
// The servers' connections are tagged with an application_name of their own.
func (s *stack) freshSchema(t *testing.T) {
	t.Helper()
	base := testenv.PostgresURL(t)
	suffix := make([]byte, 6)
	rand.Read(suffix)
	s.AppName = "savepoint_reliability_" + hex.EncodeToString(suffix)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing the test database URL: %v", err)
	}
	q := u.Query()
	q.Set("application_name", s.AppName)
	u.RawQuery = q.Encode()
	s.DB = u.String()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pcfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 2
	if s.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	t.Cleanup(s.pool.Close) // before the schema is dropped
}

// serverOptions are the flags of every server of the stack: real mode, short
// stale timeout and heartbeat.
func (s *stack) serverOptions(name string) e2e.ServerOptions {
	return e2e.ServerOptions{
		Name: name, DatabaseURL: s.DB, S3: s.S3, Sidecar: s.Sidecar,
		Args: []string{"-stale-after", staleAfter.String(), "-heartbeat-interval", heartbeatInterval.String()},
	}
}

// key is where the backup's archive is stored.
func key(t *testing.T, srv *e2e.Server, id string) string {
	t.Helper()
	order, err := ports.ParseOrderID(srv.Order)
	if err != nil {
		t.Fatal(err)
	}
	bid, err := ports.ParseBackupID(id)
	if err != nil {
		t.Fatal(err)
	}
	return backup.ObjectKey(order, bid)
}

// row is a backup as the database holds it.
type row struct {
	Status string
	Error  string
}

// row reads a backup straight from the database, so it works while every
// server is down.
func (s *stack) row(t *testing.T, id string) row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r row
	var errText *string
	err := s.pool.QueryRow(ctx, `SELECT status, error FROM `+s.schema(t)+`.backups WHERE id = $1`, id).Scan(&r.Status, &errText)
	if err != nil {
		t.Fatalf("reading backup %s from the database: %v", id, err)
	}
	if errText != nil {
		r.Error = *errText
	}
	return r
}

// schema is the quoted name of the servers' schema, for SQL.
func (s *stack) schema(t *testing.T) string {
	t.Helper()
	return pgx.Identifier{s.schemaName(t)}.Sanitize()
}

// schemaName is the servers' schema: the search_path of DB.
func (s *stack) schemaName(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(s.DB)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

// objectExists reports whether the bucket holds key.
func (s *stack) objectExists(t *testing.T, key string) bool {
	t.Helper()
	_, err := s.store.Stat(context.Background(), key)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("stat %s: %v", key, err)
	}
	return err == nil
}

// uploads lists the bucket's open multipart uploads as "key (upload id)".
func (s *stack) uploads(ctx context.Context) ([]string, error) {
	var open []string
	p := awss3.NewListMultipartUploadsPaginator(s.store.Client(), &awss3.ListMultipartUploadsInput{Bucket: aws.String(s.S3.Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Uploads {
			open = append(open, aws.ToString(u.Key)+" ("+aws.ToString(u.UploadId)+")")
		}
	}
	return open, nil
}

// createUploading starts a create through srv and waits until its archive
// streams into storage, so that a fault injected now lands mid-upload.
func (s *stack) createUploading(t *testing.T, srv *e2e.Server, name string) sphttp.BackupView {
	t.Helper()
	b := srv.Client.Create(t, srv.Order, srv.Provision, name)
	k := key(t, srv, b.ID)
	poll(t, operationTimeout, "the archive to stream into storage", srv.Proc, func() bool { return s.uploadOpen(k) })
	return b
}

// uploadOpen reports whether a multipart upload to key is open: the create is
// streaming into storage.
func (s *stack) uploadOpen(key string) bool {
	open, err := s.uploads(context.Background())
	if err != nil {
		return false
	}
	for _, u := range open {
		if strings.HasPrefix(u, key+" ") {
			return true
		}
	}
	return false
}

// assertBucketHoldsOnly fails the test unless the bucket soon holds no open
// multipart upload, no part data on versitygw's disk and no object but keep. It
// polls: recovery settles an operation first and cleans up right after.
func (s *stack) assertBucketHoldsOnly(t *testing.T, keep ...string) {
	t.Helper()
	var problems []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		problems = s.bucketProblems(t, keep)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func (s *stack) bucketProblems(t *testing.T, keep []string) []string {
	t.Helper()
	ctx := context.Background()
	var problems []string
	open, err := s.uploads(ctx)
	if err != nil {
		t.Fatalf("listing multipart uploads: %v", err)
	}
	for _, u := range open {
		problems = append(problems, "a multipart upload is still open: "+u)
	}
	if parts := s.S3.PartFiles(t); len(parts) > 0 {
		problems = append(problems, fmt.Sprintf("multipart part data is left on the S3 server's disk: %v", parts))
	}
	out, err := s.store.Client().ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(s.S3.Bucket)})
	if err != nil {
		t.Fatalf("listing objects: %v", err)
	}
	wanted := map[string]bool{}
	for _, k := range keep {
		wanted[k] = true
	}
	for _, o := range out.Contents {
		if !wanted[aws.ToString(o.Key)] {
			problems = append(problems, fmt.Sprintf("an object is left in the bucket: %s (%d bytes)", aws.ToString(o.Key), aws.ToInt64(o.Size)))
		}
		delete(wanted, aws.ToString(o.Key))
	}
	for k := range wanted {
		problems = append(problems, "the bucket lost "+k)
	}
	return problems
}

// objectFile is the file in which versitygw's posix backend stores key.
func (s *stack) objectFile(key string) string {
	return filepath.Join(s.S3.DataDir, s.S3.Bucket, filepath.FromSlash(key))
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	return names
}

// assertNoTempFiles fails the test unless the sidecar's temp directory is soon
// empty. It polls: recovery settles an operation first and cleans up right after.
func assertNoTempFiles(t *testing.T, sc *e2e.Sidecar) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := entries(t, sc.TempDir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the sidecar's temp directory still holds %v", left)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reservedIn lists the sidecar's own entries (".savepoint-…": staging
// directories of an extraction, files being written) directly in dir.
func reservedIn(dir string) []string {
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		if strings.HasPrefix(e.Name(), ".savepoint-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// receiving reports whether the sidecar is writing a file into dir (a restore
// copying its archive over) and has received more than min bytes of it.
func receiving(dir string, min int64) bool {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if !strings.HasPrefix(e.Name(), ".savepoint-tmp-") {
			continue
		}
		if info, err := e.Info(); err == nil && info.Size() > min {
			return true
		}
	}
	return false
}

// extractingMore reports whether the sidecar is extracting into dir and its
// staging directory holds more than min bytes of files.
func extractingMore(dir string, min int64) bool {
	for _, n := range reservedIn(dir) {
		if !strings.HasPrefix(n, ".savepoint-restore-") {
			continue
		}
		var held int64
		_ = filepath.WalkDir(filepath.Join(dir, n), func(_ string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if info, err := e.Info(); err == nil {
					held += info.Size()
				}
			}
			return nil
		})
		if held > min {
			return true
		}
	}
	return false
}

// extracting reports whether the sidecar is extracting into dir (its staging
// directory exists).
func extracting(dir string) bool {
	for _, n := range reservedIn(dir) {
		if strings.HasPrefix(n, ".savepoint-restore-") {
			return true
		}
	}
	return false
}

// ctime is the inode change time of path: any entry created, removed or
// renamed in a directory, and any change of its times, moves it, so an unchanged
// ctime proves nobody touched the directory.
func ctime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode change time on this platform")
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
}

// poll checks cond every 5 ms until it holds and returns when it did; it fails
// the test after timeout, or if proc (optional) exits first.
func poll(t *testing.T, timeout time.Duration, what string, proc *testenv.Process, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if proc != nil && proc.Exited() {
			t.Fatalf("waiting for %s: %s exited:\n%s", what, proc.Name, proc.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Now()
}

// get reads a backup through srv, tolerating transport errors (a server that is
// starting): ok is false then.
func get(srv *e2e.Server, id string) (v sphttp.BackupView, ok bool) {
	resp, err := srv.Client.Do(http.MethodGet, e2e.BackupsPath(srv.Order, srv.Provision)+"/"+id, nil)
	if err != nil || resp.Status != http.StatusOK {
		return v, false
	}
	return v, json.Unmarshal(resp.Body, &v) == nil
}

// waitSettled polls srv until the backup is neither creating nor restoring and
// returns it with the moment it was seen settled.
func waitSettled(t *testing.T, srv *e2e.Server, id string, timeout time.Duration) (sphttp.BackupView, time.Time) {
	t.Helper()
	var v sphttp.BackupView
	at := poll(t, timeout, "backup "+id+" to settle", srv.Proc, func() bool {
		got, ok := get(srv, id)
		v = got
		return ok && got.Status != "creating" && got.Status != "restoring"
	})
	return v, at
}

// internalMarkers are what Go errors, gRPC, pgx, the AWS SDK and the OS put in
// error strings; a user-facing error must contain none of them.
var internalMarkers = []string{
	"rpc error", "code = ", "desc = ", "grpc", "pgconn", "pgx", "SQLSTATE", "postgres",
	"context canceled", "deadline exceeded", "operation error", "api error", "StatusCode",
	"status code", "http://", "https://", "dial tcp", "127.0.0.1", "[::1]", "connection refused",
	"connection reset", "broken pipe", "EOF", "0x", "goroutine", "panic", "%!", "<nil>",
	"/tmp", ".tar.gz", ".go:", "sidecar", "s3:", "backup-", "restore-",
}

// assertReadable fails the test unless text is an error a user can read: one
// short sentence beginning with prefix, saying the given phrases, and holding
// no error chain, address, path or library message.
func assertReadable(t *testing.T, text, prefix string, phrases ...string) {
	t.Helper()
	t.Logf("the user reads: %q", text)
	if !strings.HasPrefix(text, prefix) {
		t.Errorf("error %q does not begin with %q", text, prefix)
	}
	for _, p := range phrases {
		if !strings.Contains(text, p) {
			t.Errorf("error %q does not say %q", text, p)
		}
	}
	lower := strings.ToLower(text)
	for _, m := range internalMarkers {
		if strings.Contains(lower, strings.ToLower(m)) {
			t.Errorf("error %q contains %q: internal details reach the user", text, m)
		}
	}
	if n := strings.Count(text, ": "); n > 1 {
		t.Errorf("error %q has %d \": \" separators: an error chain reaches the user", text, n)
	}
	if len(text) > 160 {
		t.Errorf("error %q is %d bytes: too long to be one readable sentence", text, len(text))
	}
	if strings.ContainsFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }) {
		t.Errorf("error %q holds non-printable characters", text)
	}
}

// describe is a one-line summary of a backup.
func describe(v sphttp.BackupView) string { return e2e.Describe(v) }

// restore starts a restore of id through srv.
func restore(t *testing.T, srv *e2e.Server, id string) {
	t.Helper()
	if v := srv.Client.Restore(t, srv.Order, srv.Provision, id); v.Status != "restoring" {
		t.Fatalf("restore answered %s", describe(v))
	}
}

// createReady creates a backup through srv and waits until it is ready.
func createReady(t *testing.T, srv *e2e.Server, name string) sphttp.BackupView {
	t.Helper()
	c := srv.Client.Create(t, srv.Order, srv.Provision, name)
	v, _ := waitSettled(t, srv, c.ID, operationTimeout)
	if v.Status != "ready" || v.Error != nil || v.SHA256 == nil {
		t.Fatalf("backup did not become ready: %s", describe(v))
	}
	return v
}

// restoreDone restores id through srv and waits until it completed.
func restoreDone(t *testing.T, srv *e2e.Server, id string) sphttp.BackupView {
	t.Helper()
	restore(t, srv, id)
	v, _ := waitSettled(t, srv, id, operationTimeout)
	if v.Status != "ready" || v.Error != nil || v.LastRestoredAt == nil {
		t.Fatalf("restore did not complete: %s", describe(v))
	}
	return v
}

// assertArchiveHolds downloads the backup's archive and fails the test unless
// it has the recorded size and SHA-256 and holds exactly want. The archive is
// unpacked by the system's tar, in its own process: gzip in this test binary,
// built with -race, would take ten times as long.
func assertArchiveHolds(t *testing.T, srv *e2e.Server, v sphttp.BackupView, want e2e.Tree) {
	t.Helper()
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		testenv.Unavailable(t, "tar, to unpack a downloaded archive: %v", err)
	}
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/assets/"+*v.AssetID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := srv.Client.HTTP.Do(req)
	if err != nil {
		t.Fatalf("downloading the archive: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("downloading the archive: status %d", resp.StatusCode)
	}
	dir := t.TempDir()
	sum := sha256.New()
	counted := &countingWriter{}
	cmd := exec.Command(tarBin, "-xpzf", "-", "-C", dir)
	cmd.Stdin = io.TeeReader(resp.Body, io.MultiWriter(sum, counted))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unpacking the downloaded archive with tar: %v\n%s", err, out)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); v.SHA256 == nil || got != *v.SHA256 || v.SizeBytes == nil || counted.n != *v.SizeBytes {
		t.Errorf("downloaded %d bytes with SHA-256 %s; the backup records %v bytes, %v", counted.n, got, v.SizeBytes, v.SHA256)
	}
	assertTree(t, dir, want, "what the archive holds")
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// logTiming records a measured duration in the test log, in one greppable form.
func logTiming(t *testing.T, what string, d time.Duration) {
	t.Helper()
	t.Logf("TIMING %s: %v", what, d.Round(time.Millisecond))
}

package http_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2/humatest"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The bearer tokens of the test users.
const (
	aliceToken = "alice-token"
	bobToken   = "bob-token"
	adminToken = "admin-token"
)

// world is a service on the local adapters, with a fake sidecar, served over
// humatest. Alice owns three orders: one with a sidecar (order), a second one
// with a sidecar (otherOrder), and one without (bare). Bob owns bobOrder. Admin
// holds ViewAllOrders.
type world struct {
	t       *testing.T
	api     humatest.TestAPI
	handler http.Handler // the router behind api, for tests over a real server
	svc     *backup.Service
	repo    *local.Repository
	assets  *local.Assets
	// schedules is nil in a world whose host offers no schedules.
	schedules *local.Schedules
	objects   *flakyStore
	catalog   *flakyCatalog
	sidecar   *fakeSidecar
	logs      *syncBuffer

	alice, bob, admin ports.UserID

	order, otherOrder, bare, bobOrder                 ports.OrderID
	prov, secondaryProv, otherProv, bareProv, bobProv ports.ProvisionID
}

func newWorld(t *testing.T) *world {
	t.Helper()
	handler, api := humatest.New(quietTB{t})
	w := newWorldOn(t, api)
	w.handler = handler
	return w
}

// newWorldOn is newWorld on an API the test built.
func newWorldOn(t *testing.T, api humatest.TestAPI) *world {
	t.Helper()
	return newWorldWith(t, api, true)
}

// newWorldWith is newWorldOn with the optional stores (schedules, and the
// activity log they share with the repository) or without them.
func newWorldWith(t *testing.T, api humatest.TestAPI, schedules bool) *world {
	t.Helper()
	ctx := context.Background()
	store, err := local.OpenObjectStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := &world{
		t:       t,
		repo:    local.NewRepositoryWithLog(local.NewActivityLog()),
		assets:  local.NewAssets(),
		objects: &flakyStore{ObjectStore: store},
		catalog: &flakyCatalog{Catalog: local.NewCatalog()},
		sidecar: newFakeSidecar(t),
		logs:    &syncBuffer{},
		alice:   ports.NewUserID(),
		bob:     ports.NewUserID(),
		admin:   ports.NewUserID(),
	}
	must(t, w.catalog.GrantViewAllOrders(ctx, w.admin))
	w.order, w.prov = w.addOrder(w.alice, true)
	w.secondaryProv = ports.NewProvisionID()
	must(t, w.catalog.CreateProvision(ctx, ports.Provision{ID: w.secondaryProv, OrderID: w.order,
		Kind: ports.KindDeployment, Role: ports.RoleGameServer}))
	w.otherOrder, w.otherProv = w.addOrder(w.alice, true)
	w.bare, w.bareProv = w.addOrder(w.alice, false)
	w.bobOrder, w.bobProv = w.addOrder(w.bob, true)

	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := backup.Deps{
		Repository: w.repo, Orders: w.catalog, Permissions: w.catalog, Assets: w.assets,
		Objects: w.objects, Sidecars: w.sidecar,
	}
	if schedules {
		w.schedules = local.NewSchedulesWithLog(w.repo.ActivityLog())
		deps.Schedules = w.schedules
		deps.Activity = w.repo.ActivityLog()
	}
	w.svc, err = backup.NewService(deps, backup.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.sidecar.releaseAll()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.svc.Shutdown(ctx); err != nil {
			t.Errorf("service shutdown: %v", err)
		}
	})

	users := map[string]ports.UserID{aliceToken: w.alice, bobToken: w.bob, adminToken: w.admin}
	auth := sphttp.BearerAuth(func(_ context.Context, token string) (ports.UserID, error) {
		if u, ok := users[token]; ok {
			return u, nil
		}
		return ports.UserID{}, sphttp.ErrBadCredentials
	})
	w.api = api
	if err := sphttp.Register(w.api, w.svc, sphttp.Options{Authenticate: auth, Logger: log}); err != nil {
		t.Fatal(err)
	}
	return w
}

// addOrder creates an order owned by owner with its primary deployment and,
// if withSidecar, the sidecar beside it.
func (w *world) addOrder(owner ports.UserID, withSidecar bool) (ports.OrderID, ports.ProvisionID) {
	ctx := context.Background()
	order, prov := ports.NewOrderID(), ports.NewProvisionID()
	must(w.t, w.catalog.CreateOrder(ctx, ports.Order{ID: order, OwnerID: owner}))
	must(w.t, w.catalog.CreateProvision(ctx, ports.Provision{ID: prov, OrderID: order,
		Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}))
	if withSidecar {
		must(w.t, w.catalog.CreateProvision(ctx, ports.Provision{ID: ports.NewProvisionID(), OrderID: order,
			Kind: ports.KindDeployment, Role: ports.RoleSidecar}))
	}
	return order, prov
}

func backupsURL(order ports.OrderID, prov ports.ProvisionID) string {
	return fmt.Sprintf("/api/v1/orders/%s/provisions/%s/backups", order, prov)
}

func backupURL(order ports.OrderID, prov ports.ProvisionID, id ports.BackupID) string {
	return backupsURL(order, prov) + "/" + id.String()
}

func assetURL(id ports.AssetID) string { return "/api/v1/assets/" + id.String() }

// call makes a request as the holder of token ("" for none); body is marshalled
// as JSON unless it is an io.Reader or nil. Extra headers are "Name: value".
func (w *world) call(method, path, token string, body any, headers ...string) *httptest.ResponseRecorder {
	w.t.Helper()
	args := []any{}
	if token != "" {
		args = append(args, "Authorization: Bearer "+token)
	}
	for _, h := range headers {
		args = append(args, h)
	}
	if body != nil {
		args = append(args, body)
	}
	return w.api.Do(method, path, args...)
}

// create creates a backup as alice on her main order and returns it.
func (w *world) create(name string) sphttp.BackupView {
	w.t.Helper()
	var body any
	if name != "" {
		body = map[string]string{"name": name}
	}
	rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, body)
	if rec.Code != http.StatusAccepted {
		w.t.Fatalf("create: status %d, body %s", rec.Code, rec.Body)
	}
	return decode[sphttp.BackupView](w.t, rec)
}

// waitFor polls get-backup until the backup is in status want.
func (w *world) waitFor(order ports.OrderID, prov ports.ProvisionID, id string, want string) sphttp.BackupView {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := w.call(http.MethodGet, fmt.Sprintf("%s/%s", backupsURL(order, prov), id), aliceToken, nil)
		if rec.Code != http.StatusOK {
			w.t.Fatalf("get %s: status %d, body %s", id, rec.Code, rec.Body)
		}
		v := decode[sphttp.BackupView](w.t, rec)
		if v.Status == want {
			return v
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("backup %s is still %s (error %v), want %s", id, v.Status, v.Error, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seedReady stores a ready backup of alice's main provision directly (its
// archive, asset and record), for tests that need many or need them fast.
func (w *world) seedReady(order ports.OrderID, prov ports.ProvisionID, owner ports.UserID, name string) ports.Backup {
	w.t.Helper()
	ctx := context.Background()
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: name,
		Status: ports.StatusCreating, CreatedAt: time.Now()}
	must(w.t, w.repo.Create(ctx, b, 1000))
	key := backup.ObjectKey(order, b.ID)
	must(w.t, w.objects.Put(ctx, key, bytes.NewReader(w.sidecar.archive)))
	sum := sha256.Sum256(w.sidecar.archive)
	a := ports.Asset{ID: ports.NewAssetID(), OwnerID: owner, Key: key, FileName: name + ".tar.gz",
		ContentType: "application/gzip", SizeBytes: int64(len(w.sidecar.archive)), SHA256: hex.EncodeToString(sum[:])}
	must(w.t, w.assets.CreateAsset(ctx, a))
	ready := b
	ready.Status, ready.AssetID, ready.SizeBytes, ready.SHA256 = ports.StatusReady, a.ID, a.SizeBytes, a.SHA256
	ready.CompletedAt = time.Now()
	must(w.t, w.repo.Update(ctx, ready, ports.StatusCreating))
	return ready
}

// seedAsset stores a downloadable file with the given contents and name.
func (w *world) seedAsset(owner ports.UserID, name string, content []byte) ports.Asset {
	w.t.Helper()
	ctx := context.Background()
	order, prov := w.order, w.prov
	if owner == w.bob {
		order, prov = w.bobOrder, w.bobProv
	}
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: prov, Name: name,
		Status: ports.StatusCreating, CreatedAt: time.Date(2025, 3, 1, 11, 59, 0, 0, time.UTC)}
	sum := sha256.Sum256(content)
	a := ports.Asset{ID: ports.ArchiveAssetID(b.ID), OwnerID: owner, Key: backup.ObjectKey(order, b.ID),
		FileName: name, ContentType: "application/gzip", SizeBytes: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	must(w.t, w.objects.Put(ctx, a.Key, bytes.NewReader(content)))
	must(w.t, w.assets.CreateAsset(ctx, a))
	must(w.t, w.repo.Create(ctx, b, 1000))
	ready := b
	ready.Status, ready.AssetID, ready.SizeBytes, ready.SHA256, ready.CompletedAt = ports.StatusReady, a.ID, a.SizeBytes, a.SHA256, a.CreatedAt
	must(w.t, w.repo.Update(ctx, ready, ports.StatusCreating))
	return a
}

// problem decodes an error response, checking that it is problem+json with
// the given status and code and that its fields agree with each other.
func problem(t *testing.T, rec *httptest.ResponseRecorder, status int, code sphttp.Code) sphttp.Problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p sphttp.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("body is not a problem: %v; %s", err, rec.Body)
	}
	if p.Code != code {
		t.Errorf("code %q, want %q; body %s", p.Code, code, rec.Body)
	}
	if p.Status != status || p.Title == "" || p.Detail == "" || p.Type != "urn:savepoint:problem:"+string(code) {
		t.Errorf("incomplete problem: %s", rec.Body)
	}
	return p
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %T: %v; body %s", v, err, rec.Body)
	}
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// quietTB keeps humatest from dumping every request and response into the
// test log; failures still show the bodies that matter.
type quietTB struct{ *testing.T }

func (quietTB) Log(...any)          {}
func (quietTB) Logf(string, ...any) {}

// syncBuffer collects log output from the service's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// flakyStore is the local object store with failures switched on by tests.
type flakyStore struct {
	*local.ObjectStore
	mu      sync.Mutex
	failGet error
	failDel error
}

func (s *flakyStore) fail(get, del error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failGet, s.failDel = get, del
}

func (s *flakyStore) Get(ctx context.Context, key string, rng *ports.ByteRange) (io.ReadCloser, ports.ObjectInfo, error) {
	s.mu.Lock()
	err := s.failGet
	s.mu.Unlock()
	if err != nil {
		return nil, ports.ObjectInfo{}, err
	}
	return s.ObjectStore.Get(ctx, key, rng)
}

func (s *flakyStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	err := s.failDel
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.ObjectStore.Delete(ctx, key)
}

// flakyCatalog is the local catalog whose order lookups can be made to fail
// the way a database does.
type flakyCatalog struct {
	*local.Catalog
	mu      sync.Mutex
	failGet error
}

func (c *flakyCatalog) GetOrder(ctx context.Context, id ports.OrderID) (ports.Order, error) {
	c.mu.Lock()
	err := c.failGet
	c.mu.Unlock()
	if err != nil {
		return ports.Order{}, err
	}
	return c.Catalog.GetOrder(ctx, id)
}

// fakeSidecar is the game server's FileIO: it streams a fixed archive of a small
// world and accepts restores. Creates and restores can be held at a gate, so a
// backup stays creating or restoring until the test releases it.
type fakeSidecar struct {
	archive []byte

	mu       sync.Mutex
	creates  chan struct{} // closed: creates proceed
	restores chan struct{}
	restored int
	skipped  []ports.SkippedFile // what the next archives report as skipped
	// ignored are the .savepointignore file's patterns, reported before the
	// create's own; quiesce is what the next archives report of the pause.
	ignored []string
	quiesce ports.QuiesceReport
	// opts are the options of the last archive asked for.
	opts ports.ArchiveOptions
}

func newFakeSidecar(t *testing.T) *fakeSidecar {
	open := make(chan struct{})
	close(open)
	return &fakeSidecar{archive: sampleArchive(t), creates: open, restores: open}
}

// holdCreates makes archives stall until the returned release is called.
func (s *fakeSidecar) holdCreates() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.creates = ch
	return sync.OnceFunc(func() { close(ch) })
}

// holdRestores makes extraction stall until the returned release is called.
func (s *fakeSidecar) holdRestores() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.restores = ch
	return sync.OnceFunc(func() { close(ch) })
}

func (s *fakeSidecar) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range []chan struct{}{s.creates, s.restores} {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

func (s *fakeSidecar) gate(restore bool) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if restore {
		return s.restores
	}
	return s.creates
}

func (s *fakeSidecar) Dial(context.Context, ports.Provision) (ports.FileIO, error) { return s, nil }

func (s *fakeSidecar) Dirs() ports.SidecarDirs { return ports.SidecarDirs{} }

func (s *fakeSidecar) StreamArchive(ctx context.Context, _ []string, opts ports.ArchiveOptions) (ports.ArchiveStream, error) {
	s.mu.Lock()
	report := ports.ArchiveReport{Skipped: s.skipped, SkippedCount: len(s.skipped),
		Excludes: append(slices.Clone(s.ignored), opts.Excludes...), Quiesce: s.quiesce}
	s.opts = opts
	s.mu.Unlock()
	return &gatedReader{r: bytes.NewReader(s.archive), gate: s.gate(false), ctx: ctx, report: report}, nil
}

func (s *fakeSidecar) CompressFiles(context.Context, []string, string, ports.ArchiveOptions) (ports.ArchiveReport, error) {
	return ports.ArchiveReport{}, ports.ErrUnsupported
}

func (s *fakeSidecar) ReadFile(context.Context, string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%w: no staged files", ports.ErrCluster)
}

func (s *fakeSidecar) WriteFile(_ context.Context, _ string, size int64, r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("%w: got %d bytes, want %d", ports.ErrCluster, n, size)
	}
	return err
}

func (s *fakeSidecar) ExtractTo(ctx context.Context, _, _ string, _ []string) error {
	select {
	case <-s.gate(true):
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.restored++
	s.mu.Unlock()
	return nil
}

func (s *fakeSidecar) RestoreArchive(context.Context, string, io.Reader, int64, string, []string) error {
	return ports.ErrUnsupported
}

func (s *fakeSidecar) DeleteFile(context.Context, string) error { return nil }

func (s *fakeSidecar) Close() error { return nil }

// gatedReader waits for its gate before the first byte.
type gatedReader struct {
	r      io.Reader
	gate   chan struct{}
	ctx    context.Context
	open   bool
	report ports.ArchiveReport
}

func (g *gatedReader) Report() ports.ArchiveReport { return g.report }

func (g *gatedReader) Progress() (done, total int64) { return 0, 0 }

func (g *gatedReader) Read(p []byte) (int, error) {
	if !g.open {
		select {
		case <-g.gate:
			g.open = true
		case <-g.ctx.Done():
			return 0, g.ctx.Err()
		}
	}
	return g.r.Read(p)
}

func (g *gatedReader) Close() error { return nil }

// sampleArchive is a gzip-compressed tar of a tiny game world.
func sampleArchive(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{
		{"server.properties", "motd=savepoint test\nmax-players=8\n"},
		{"world/level.dat", strings.Repeat("level data ", 100)},
	} {
		must(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write([]byte(f.body))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

var errDatabaseDown = errors.New("dial tcp 10.1.2.3:5432: connection refused (secret-host-name)")

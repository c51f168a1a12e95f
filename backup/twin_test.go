package backup_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// twin is a Service on the real twins of production: the in-memory repository,
// catalog and assets, a directory object store, and the real sidecar serving a
// data directory over loopback gRPC. Faults are injected by wrapping a port
// (faultyRepository, gatedDialer), not by scripting mocks.
type twin struct {
	t       *testing.T
	svc     *backup.Service
	repo    *local.Repository
	cat     *local.Catalog
	assets  *local.Assets
	objects *local.ObjectStore
	dialer  *gatedDialer
	clock   *clock

	owner      ports.UserID
	order      ports.Order
	gameServer ports.Provision
	sidecar    ports.Provision
	data, tmp  string
}

type twinConfig struct {
	opts      func(*backup.Options)
	repo      func(ports.Repository) ports.Repository
	endpoint  func(sidecar.Endpoint, ports.Provision) sidecar.Endpoint
	noSidecar bool // the game server reaches its sidecar itself (HasSidecar)
}

func newTwin(t *testing.T, cfgs ...func(*twinConfig)) *twin {
	t.Helper()
	var cfg twinConfig
	for _, c := range cfgs {
		c(&cfg)
	}
	dir := t.TempDir()
	tw := &twin{
		t: t, repo: local.NewRepository(), cat: local.NewCatalog(), assets: local.NewAssets(),
		clock: &clock{t: fixedNow}, owner: ports.NewUserID(),
		data: filepath.Join(dir, "data"), tmp: filepath.Join(dir, "tmp"),
	}
	for _, d := range []string{tw.data, tw.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(tw.data, "world", "level.dat"), "a world")

	objects, err := local.OpenObjectStore(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	tw.objects = objects

	quiet := slog.New(slog.DiscardHandler)
	srv, err := server.New(server.Options{
		Roots: []string{dir}, ArchiveDir: tw.tmp, StateDir: filepath.Join(t.TempDir(), "state"),
		Secret: "twin", Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	endpoint := sidecar.Endpoint{Address: ln.Addr().String(), Secret: "twin"}
	inner, err := sidecar.NewDialer(func(_ context.Context, p ports.Provision) (sidecar.Endpoint, error) {
		if cfg.endpoint != nil {
			return cfg.endpoint(endpoint, p), nil
		}
		return endpoint, nil
	}, sidecar.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw.dialer = &gatedDialer{inner: inner}

	ctx := context.Background()
	tw.order = ports.Order{ID: ports.NewOrderID(), OwnerID: tw.owner}
	tw.gameServer = ports.Provision{ID: ports.NewProvisionID(), OrderID: tw.order.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer, HasSidecar: cfg.noSidecar}
	tw.sidecar = ports.Provision{ID: ports.NewProvisionID(), OrderID: tw.order.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar}
	must(t, tw.cat.CreateOrder(ctx, tw.order))
	must(t, tw.cat.CreateProvision(ctx, tw.gameServer))
	if !cfg.noSidecar {
		must(t, tw.cat.CreateProvision(ctx, tw.sidecar))
	}

	opts := backup.Options{
		HeartbeatInterval: 5 * time.Millisecond, StaleAfter: time.Minute, CleanupTimeout: 5 * time.Second,
		DataDir: tw.data, TempDir: tw.tmp, Now: tw.clock.Now, Logger: quiet,
	}
	if cfg.opts != nil {
		cfg.opts(&opts)
	}
	var repo ports.Repository = tw.repo
	if cfg.repo != nil {
		repo = cfg.repo(repo)
	}
	svc, err := backup.NewService(backup.Deps{
		Repository: repo, Orders: tw.cat, Permissions: tw.cat, Assets: tw.assets, Objects: objects, Sidecars: tw.dialer,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tw.dialer.open() // nothing may stay blocked behind the gate
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("background work still running when the test ended: %v", err)
		}
	})
	tw.svc = svc
	return tw
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

// create starts a backup of the game server as its owner.
func (tw *twin) create(name string) (ports.Backup, error) {
	return tw.svc.CreateBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, name)
}

// settled polls the backup until its operation has ended.
func (tw *twin) settled(id ports.BackupID) ports.Backup {
	tw.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := tw.svc.GetBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, id)
		if err != nil {
			tw.t.Fatalf("GetBackup: %v", err)
		}
		if !b.Status.Active() {
			return b
		}
		if time.Now().After(deadline) {
			tw.t.Fatalf("backup %s still %s", id, b.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ready creates a backup and waits until it is ready.
func (tw *twin) ready(name string) ports.Backup {
	tw.t.Helper()
	b, err := tw.create(name)
	if err != nil {
		tw.t.Fatalf("CreateBackup: %v", err)
	}
	b = tw.settled(b.ID)
	if b.Status != ports.StatusReady {
		tw.t.Fatalf("backup %s ended %s: %s", b.Name, b.Status, b.Error)
	}
	return b
}

// objectExists reports whether the store holds the backup's archive.
func (tw *twin) objectExists(b ports.Backup) bool {
	_, err := tw.objects.Stat(context.Background(), backup.ObjectKey(b.OrderID, b.ID))
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		tw.t.Fatal(err)
	}
	return err == nil
}

// gatedDialer holds every Dial until the gate is opened, when closed: a create
// or restore then stays in its active status for as long as a test needs. It
// also records which provisions were dialled.
type gatedDialer struct {
	inner ports.SidecarDialer

	mu     sync.Mutex
	gate   chan struct{} // nil: open
	dialed []ports.Provision
}

func (d *gatedDialer) Dial(ctx context.Context, p ports.Provision) (ports.FileIO, error) {
	d.mu.Lock()
	gate := d.gate
	d.dialed = append(d.dialed, p)
	d.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return d.inner.Dial(ctx, p)
}

func (d *gatedDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gate == nil {
		d.gate = make(chan struct{})
	}
}

func (d *gatedDialer) open() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gate != nil {
		close(d.gate)
		d.gate = nil
	}
}

func (d *gatedDialer) provisions() []ports.Provision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ports.Provision(nil), d.dialed...)
}

// faultyRepository fails the methods a test names, with errInfra, until told
// otherwise.
type faultyRepository struct {
	ports.Repository

	mu    sync.Mutex
	fails map[string]bool
}

func (r *faultyRepository) fail(method string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails == nil {
		r.fails = map[string]bool{}
	}
	r.fails[method] = on
}

func (r *faultyRepository) failing(method string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fails[method]
}

func (r *faultyRepository) HeartbeatFence(ctx context.Context, order ports.OrderID, id ports.FenceID, at time.Time) error {
	if r.failing("HeartbeatFence") {
		return errInfra
	}
	return r.Repository.HeartbeatFence(ctx, order, id, at)
}

// makeSocket makes a socket file at path, as a game server's console socket
// would be.
func makeSocket(t *testing.T, path string) {
	t.Helper()
	must(t, syscall.Mknod(path, syscall.S_IFSOCK|0o600, 0))
}

// archiveNames lists the regular files in a download's archive.
func archiveNames(t *testing.T, d *backup.Download) []string {
	t.Helper()
	rc, err := d.Open(context.Background(), nil)
	must(t, err)
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	must(t, err)
	tr := tar.NewReader(gz)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		must(t, err)
		if hdr.Typeflag == tar.TypeReg {
			names = append(names, hdr.Name)
		}
	}
}

package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// data directory over loopback gRPC. Faults are injected between the service and
// each port (tw.inject), not scripted with mocks; tests look behind the
// service's back through the twins themselves.
type twin struct {
	t       *testing.T
	svc     *backup.Service
	repo    *local.Repository
	cat     *local.Catalog
	assets  *local.Assets
	objects *local.ObjectStore
	// schedules is nil when the twin has none (twinConfig.noSchedules).
	schedules *local.Schedules
	// activity is the log the repository and schedules write.
	activity *local.ActivityLog
	dialer   *gatedDialer
	clock    *clock
	faults   *faults
	catalog  *faultyCatalog
	deps     backup.Deps
	opts     backup.Options

	owner, stranger, admin ports.UserID
	order                  ports.Order
	gameServer             ports.Provision
	sidecar                ports.Provision
	data, tmp              string
}

type twinConfig struct {
	opts func(*backup.Options)
	// sidecarOnGameServer: the game server reaches its sidecar itself
	// (HasSidecar) and the order has no sidecar provision.
	sidecarOnGameServer bool
	// withoutSidecar: the order has no sidecar at all.
	withoutSidecar bool
	// noStreaming: the sidecar predates StreamArchive, so archives are staged in
	// its temp directory.
	noStreaming bool
	// stagedRestore: the sidecar predates RestoreArchive, so a restore stages
	// the archive in its temp directory and extracts it from there.
	stagedRestore bool
	// dirs, when set, are the directories the sidecar's endpoint gives.
	dirs func(ports.Provision) ports.SidecarDirs
	// noSchedules: the host gives the service no schedule store.
	noSchedules bool
	// noActivity: the host gives the service no activity log to read.
	noActivity bool
}

func newTwin(t *testing.T, cfgs ...func(*twinConfig)) *twin {
	t.Helper()
	var cfg twinConfig
	for _, c := range cfgs {
		c(&cfg)
	}
	dir := t.TempDir()
	activity := local.NewActivityLog()
	tw := &twin{
		t: t, repo: local.NewRepositoryWithLog(activity), activity: activity, cat: local.NewCatalog(), assets: local.NewAssets(),
		clock: &clock{t: fixedNow}, faults: &faults{},
		owner: ports.NewUserID(), stranger: ports.NewUserID(), admin: ports.NewUserID(),
		data: filepath.Join(dir, "data"), tmp: filepath.Join(dir, "tmp"),
	}
	tw.catalog = &faultyCatalog{Catalog: tw.cat, f: tw.faults}
	must(t, os.MkdirAll(tw.tmp, 0o755))
	writeFile(t, filepath.Join(tw.data, "world", "level.dat"), "a world")

	objects, err := local.OpenObjectStore(filepath.Join(dir, "objects"))
	must(t, err)
	t.Cleanup(func() { objects.Close() })
	tw.objects = objects
	tw.dialer = &gatedDialer{inner: tw.sidecarDialer(dir, cfg), f: tw.faults, stagedRestore: cfg.stagedRestore}
	tw.addCustomer(&cfg)

	quiet := slog.New(slog.DiscardHandler)
	opts := backup.Options{
		HeartbeatInterval: 5 * time.Millisecond, StaleAfter: time.Minute, CleanupTimeout: 5 * time.Second,
		DataDir: tw.data, TempDir: tw.tmp, Now: tw.clock.Now, Logger: quiet,
	}
	if cfg.opts != nil {
		cfg.opts(&opts)
	}
	tw.opts = opts
	tw.deps = backup.Deps{
		Repository: faultyRepository{tw.repo, tw.faults}, Orders: tw.catalog, Permissions: tw.catalog,
		Assets: faultyAssets{tw.assets, tw.faults}, Objects: faultyObjects{objects, tw.faults}, Sidecars: tw.dialer,
	}
	if !cfg.noSchedules {
		tw.schedules = local.NewSchedulesWithLog(activity)
		tw.deps.Schedules = faultySchedules{tw.schedules, tw.faults}
	}
	if !cfg.noActivity {
		tw.deps.Activity = activity
	}
	t.Cleanup(func() {
		if n := tw.faults.open.Load(); n != 0 {
			t.Errorf("%d streams opened through the ports were never closed", n)
		}
	})
	tw.svc = tw.replica()
	return tw
}

// replica returns a Service on the twin's ports, as each replica of the
// service would be; it is shut down when the test ends.
func (tw *twin) replica() *backup.Service {
	svc, err := backup.NewService(tw.deps, tw.opts)
	must(tw.t, err)
	tw.t.Cleanup(func() {
		tw.dialer.open() // nothing may stay blocked behind the gate
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			tw.t.Errorf("background work still running when the test ended: %v", err)
		}
	})
	return svc
}

// sidecarDialer reaches the real sidecar, serving dir over loopback gRPC. The
// server starts on the first dial: most tests never reach it.
func (tw *twin) sidecarDialer(dir string, cfg twinConfig) ports.SidecarDialer {
	t := tw.t
	var srv *server.Server
	var mu sync.Mutex
	var endpoint sidecar.Endpoint
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			srv.Stop()
		}
	})
	start := func() (sidecar.Endpoint, error) {
		mu.Lock()
		defer mu.Unlock()
		if srv != nil {
			return endpoint, nil
		}
		s, err := server.New(server.Options{
			Roots: []string{dir}, ArchiveDir: tw.tmp, StateDir: filepath.Join(t.TempDir(), "state"),
			Secret: "twin", DisableStreamArchive: cfg.noStreaming, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return endpoint, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Stop()
			return endpoint, err
		}
		go s.Serve(ln)
		srv, endpoint = s, sidecar.Endpoint{Address: ln.Addr().String(), Secret: "twin"}
		return endpoint, nil
	}
	d, err := sidecar.NewDialer(func(_ context.Context, p ports.Provision) (sidecar.Endpoint, error) {
		ep, err := start()
		if cfg.dirs != nil {
			ep.Dirs = cfg.dirs(p)
		}
		return ep, err
	}, sidecar.ClientOptions{})
	must(t, err)
	return d
}

// sidecarUp starts the sidecar server if it has not started yet. A server
// removes the staged archives it finds when it starts, as a restarted sidecar
// does: files a test stages must come after.
func (tw *twin) sidecarUp() {
	tw.t.Helper()
	fio, err := tw.dialer.inner.Dial(context.Background(), tw.sidecar)
	must(tw.t, err)
	must(tw.t, fio.Close())
}

// addCustomer records the twin's order, owned by owner, with its game server and
// sidecar, and lets admin view all orders.
func (tw *twin) addCustomer(cfg *twinConfig) {
	ctx := context.Background()
	tw.order = ports.Order{ID: ports.NewOrderID(), OwnerID: tw.owner}
	tw.gameServer = ports.Provision{ID: ports.NewProvisionID(), OrderID: tw.order.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer, HasSidecar: cfg.sidecarOnGameServer}
	tw.sidecar = ports.Provision{ID: ports.NewProvisionID(), OrderID: tw.order.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar}
	must(tw.t, tw.cat.CreateOrder(ctx, tw.order))
	must(tw.t, tw.cat.CreateProvision(ctx, tw.gameServer))
	if !cfg.sidecarOnGameServer && !cfg.withoutSidecar {
		must(tw.t, tw.cat.CreateProvision(ctx, tw.sidecar))
	}
	must(tw.t, tw.cat.GrantViewAllOrders(ctx, tw.admin))
}

// otherOrder records another order of owner, with a game server and, if
// withSidecar, a sidecar that reaches the same sidecar server.
func (tw *twin) otherOrder(owner ports.UserID, withSidecar bool) (ports.Order, ports.Provision) {
	tw.t.Helper()
	ctx := context.Background()
	o := ports.Order{ID: ports.NewOrderID(), OwnerID: owner}
	gs := ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	must(tw.t, tw.cat.CreateOrder(ctx, o))
	must(tw.t, tw.cat.CreateProvision(ctx, gs))
	if withSidecar {
		must(tw.t, tw.cat.CreateProvision(ctx, ports.Provision{ID: ports.NewProvisionID(), OrderID: o.ID, Role: ports.RoleSidecar}))
	}
	return o, gs
}

// inject makes the calls of method ("Port.Method", the port named as in
// backup.Deps, or FileIO) meet ft, until heal.
func (tw *twin) inject(method string, ft fault) { tw.faults.set(method, ft) }

func (tw *twin) heal(method string) { tw.faults.clear(method) }

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
	return tw.svc.CreateBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{Name: name})
}

// restore restores the backup as its owner.
func (tw *twin) restore(b ports.Backup) (ports.Backup, error) {
	return tw.svc.RestoreBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, b.ID)
}

// stored returns the backup as the repository holds it.
func (tw *twin) stored(id ports.BackupID) ports.Backup {
	tw.t.Helper()
	b, err := tw.repo.Find(context.Background(), id)
	if err != nil {
		tw.t.Fatalf("backup %s: %v", id, err)
	}
	return b
}

// settled polls the backup until its operation has ended.
func (tw *twin) settled(id ports.BackupID) ports.Backup {
	tw.t.Helper()
	var b ports.Backup
	eventually(tw.t, func() bool { b = tw.stored(id); return !b.Status.Active() }, "the backup's operation to end")
	return b
}

// shutdown returns once the service's background work has finished; the
// service accepts no work after.
func (tw *twin) shutdown() {
	tw.t.Helper()
	awaitShutdown(tw.t, tw.svc)
}

// eventually polls until cond holds, and fails the test if it does not in time.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
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

// record writes a backup of the game server in the given status straight to the
// repository, through the transitions the service would make, as an earlier
// run or another replica leaves one. It has no archive.
func (tw *twin) record(status ports.Status) ports.Backup {
	tw.t.Helper()
	return tw.recordFor(tw.order.ID, tw.gameServer.ID, status)
}

func (tw *twin) recordFor(order ports.OrderID, provision ports.ProvisionID, status ports.Status) ports.Backup {
	tw.t.Helper()
	ctx, now := context.Background(), tw.clock.Now()
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: order, ProvisionID: provision, Name: "recorded", Status: ports.StatusCreating, CreatedAt: now, HeartbeatAt: now}
	must(tw.t, tw.repo.Create(ctx, b, 1000))
	next := func(s ports.Status) {
		from := b.Status
		b.Status = s
		must(tw.t, tw.repo.Update(ctx, b, from))
	}
	switch status {
	case ports.StatusReady, ports.StatusRestoring:
		b.AssetID, b.CompletedAt = ports.ArchiveAssetID(b.ID), now
		next(ports.StatusReady)
		if status == ports.StatusRestoring {
			next(ports.StatusRestoring)
		}
	case ports.StatusFailed:
		b.CompletedAt, b.Error = now, "Backup failed: recorded as failed"
		next(ports.StatusFailed)
	}
	return tw.stored(b.ID)
}

// move changes a backup's status behind the service's back, as another
// replica would.
func (tw *twin) move(id ports.BackupID, to ports.Status) {
	tw.t.Helper()
	b := tw.stored(id)
	from := b.Status
	b.Status = to
	must(tw.t, tw.repo.Update(context.Background(), b, from))
}

// remove deletes a ready or failed backup's record behind the service's back,
// as another request would.
func (tw *twin) remove(id ports.BackupID) {
	tw.t.Helper()
	_, err := tw.repo.ClaimForDelete(context.Background(), id, false)
	must(tw.t, err)
	must(tw.t, tw.repo.Delete(context.Background(), id))
}

// objectExists reports whether the store holds the backup's archive.
func (tw *twin) objectExists(b ports.Backup) bool {
	tw.t.Helper()
	_, err := tw.objects.Stat(context.Background(), backup.ObjectKey(b.OrderID, b.ID))
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		tw.t.Fatal(err)
	}
	return err == nil
}

// assetExists reports whether the asset is recorded.
func (tw *twin) assetExists(id ports.AssetID) bool {
	tw.t.Helper()
	_, err := tw.assets.GetAsset(context.Background(), id)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		tw.t.Fatal(err)
	}
	return err == nil
}

// tempFiles lists the files in the sidecar's temp directory. A write the
// client gave up on leaves the sidecar's own temp file until the sidecar's end
// of the call ends, a moment later: those are waited for.
func (tw *twin) tempFiles() []string {
	tw.t.Helper()
	var names []string
	eventually(tw.t, func() bool {
		var err error
		names, err = dirNames(tw.tmp)
		must(tw.t, err)
		return !slices.ContainsFunc(names, func(name string) bool { return strings.HasPrefix(name, ".savepoint-tmp-") })
	}, "the sidecar to remove the files of abandoned writes")
	return names
}

func dirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

// gatedDialer holds every Dial until the gate is opened, when closed: a create
// or restore then stays in its active status for as long as a test needs. It
// records which provisions were dialled, and puts the twin's faults between the
// service and the sidecar.
type gatedDialer struct {
	inner ports.SidecarDialer
	f     *faults
	// stagedRestore: the sidecar answers RestoreArchive as one that predates it.
	stagedRestore bool

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
	fio, err := answer(ctx, d.f.strike("Sidecars.Dial"), func() (ports.FileIO, error) { return d.inner.Dial(ctx, p) })
	if err != nil {
		return nil, err
	}
	if d.stagedRestore {
		fio = olderSidecar{fio}
	}
	return faultyFileIO{fio, d.f}, nil
}

// olderSidecar is a sidecar without RestoreArchive, as the client reports one.
type olderSidecar struct{ ports.FileIO }

func (olderSidecar) RestoreArchive(context.Context, string, io.Reader, int64, string, []string) error {
	return ports.ErrUnsupported
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

// makeSocket makes a socket file at path, as a game server's console socket
// would be.
func makeSocket(t *testing.T, path string) {
	t.Helper()
	must(t, syscall.Mknod(path, syscall.S_IFSOCK|0o600, 0))
}

// read opens the download (rng nil: all of it) and returns what it yields.
func read(t *testing.T, d *backup.Download, rng *ports.ByteRange) []byte {
	t.Helper()
	rc, err := d.Open(context.Background(), rng)
	must(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	must(t, err)
	return data
}

// archiveFiles returns the regular files in a download's archive, by name.
func archiveFiles(t *testing.T, d *backup.Download) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(read(t, d, nil)))
	must(t, err)
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		must(t, err)
		if hdr.Typeflag == tar.TypeReg {
			content, err := io.ReadAll(tr)
			must(t, err)
			files[hdr.Name] = string(content)
		}
	}
}

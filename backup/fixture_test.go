package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portsmock"
)

// fixedNow is the fixture's clock reading unless a test moves it.
var fixedNow = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)

// errInfra stands for any failure of a dependency the service does not know.
var errInfra = errors.New("connection refused")

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// update is one call of Repository.Update as the fake row store saw it.
type update struct {
	b    ports.Backup
	from ports.Status
	// ctxErr is the context's error at the time of the call: a failure must be
	// recorded on a live context even when the operation's own was cancelled.
	ctxErr error
	// applied is false when the compare-and-set lost.
	applied bool
}

// fixture is a Service wired to gomock mocks of every port, with one order owned
// by owner, its primary deployment and its sidecar. Repository.Update is backed
// by a tiny compare-and-set row store (rows) when a test asks for it, so that
// background work can be observed through the state it leaves behind.
type fixture struct {
	t       *testing.T
	repo    *portsmock.MockRepository
	orders  *portsmock.MockOrders
	perms   *portsmock.MockPermissions
	assets  *portsmock.MockAssets
	objects *portsmock.MockObjectStore
	dialer  *portsmock.MockSidecarDialer
	fio     *portsmock.MockFileIO
	svc     *backup.Service
	clock   *clock
	opts    backup.Options

	owner    ports.UserID
	stranger ports.UserID
	admin    ports.UserID
	order    ports.Order
	primary  ports.Provision
	sidecar  ports.Provision

	mu      sync.Mutex
	rows    map[ports.BackupID]ports.Backup
	created []ports.Backup
	limits  []int
	updates []update

	// done is closed when the test ends, so fakes that block can give up.
	done chan struct{}
}

type fixtureConfig struct {
	tweak           func(*backup.Options)
	noHeartbeatMock bool
}

type fixtureOption func(*fixtureConfig)

// withOptions changes the Options the service is built with.
func withOptions(tweak func(*backup.Options)) fixtureOption {
	return func(c *fixtureConfig) { c.tweak = tweak }
}

// withoutHeartbeatMock leaves Repository.Heartbeat without an expectation, for
// tests that set their own.
func withoutHeartbeatMock() fixtureOption {
	return func(c *fixtureConfig) { c.noHeartbeatMock = true }
}

func newFixture(t *testing.T, options ...fixtureOption) *fixture {
	t.Helper()
	var cfg fixtureConfig
	for _, o := range options {
		o(&cfg)
	}
	ctrl := gomock.NewController(t)
	f := &fixture{
		t:        t,
		repo:     portsmock.NewMockRepository(ctrl),
		orders:   portsmock.NewMockOrders(ctrl),
		perms:    portsmock.NewMockPermissions(ctrl),
		assets:   portsmock.NewMockAssets(ctrl),
		objects:  portsmock.NewMockObjectStore(ctrl),
		dialer:   portsmock.NewMockSidecarDialer(ctrl),
		fio:      portsmock.NewMockFileIO(ctrl),
		clock:    &clock{t: fixedNow},
		owner:    ports.NewUserID(),
		stranger: ports.NewUserID(),
		admin:    ports.NewUserID(),
		rows:     map[ports.BackupID]ports.Backup{},
		done:     make(chan struct{}),
	}
	f.order = ports.Order{ID: ports.NewOrderID(), OwnerID: f.owner}
	f.primary = ports.Provision{ID: ports.NewProvisionID(), OrderID: f.order.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	f.sidecar = ports.Provision{ID: ports.NewProvisionID(), OrderID: f.order.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar}

	// Heartbeats every few milliseconds in every test, so the race detector sees
	// them run alongside the work; tests about heartbeats set their own.
	f.opts = backup.Options{
		HeartbeatInterval: 2 * time.Millisecond,
		CleanupTimeout:    5 * time.Second,
		Now:               f.clock.Now,
	}
	if cfg.tweak != nil {
		cfg.tweak(&f.opts)
	}
	if !cfg.noHeartbeatMock {
		f.repo.EXPECT().Heartbeat(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(nil).AnyTimes()
	}
	// CreateBackup reads each new record back for its answer.
	f.repo.EXPECT().Find(gomock.Any(), gomock.Cond(f.wasCreated)).DoAndReturn(func(_ context.Context, id ports.BackupID) (ports.Backup, error) {
		return f.row(id), nil
	}).AnyTimes()
	// The sidecar leaves the directories to the service's options unless a test
	// says otherwise.
	f.fio.EXPECT().Dirs().Return(ports.SidecarDirs{}).AnyTimes()
	svc, err := backup.NewService(backup.Deps{
		Repository: f.repo, Orders: f.orders, Permissions: f.perms,
		Assets: f.assets, Objects: f.objects, Sidecars: f.dialer,
	}, f.opts)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	f.svc = svc
	// Registered after the controller's own cleanup, so it runs first: background
	// work ends before gomock checks that every expected call happened.
	t.Cleanup(func() {
		close(f.done)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Errorf("background work still running when the test ended: %v", err)
		}
	})
	return f
}

// wait returns once every background operation has finished. Shutdown waits for
// running jobs, so it doubles as the barrier; the service accepts no work after.
func (f *fixture) wait() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.svc.Shutdown(ctx); err != nil {
		f.t.Fatalf("background work did not finish: %v", err)
	}
}

// expectAuthorized expects the seed's step 1 for the owner's order and primary.
func (f *fixture) expectAuthorized() {
	f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
	f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
}

// expectSidecarLookup expects the search for the order's sidecar, which exists.
func (f *fixture) expectSidecarLookup() {
	f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary, f.sidecar}, nil)
}

// expectCreateAccepted expects every synchronous step of a create that passes,
// and records the backup the repository is asked to insert.
func (f *fixture) expectCreateAccepted() {
	f.expectAuthorized()
	f.expectSidecarLookup()
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
	f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, nil)
	f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(f.recordCreate)
}

func (f *fixture) wasCreated(id ports.BackupID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.created {
		if b.ID == id {
			return true
		}
	}
	return false
}

func (f *fixture) recordCreate(_ context.Context, b ports.Backup, limit int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, b)
	f.limits = append(f.limits, limit)
	f.rows[b.ID] = b
	return nil
}

// expectUpdates expects n calls of Repository.Update, served by the
// compare-and-set row store.
func (f *fixture) expectUpdates(n int) {
	f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(f.compareAndSet).Times(n)
}

func (f *fixture) compareAndSet(ctx context.Context, b ports.Backup, from ports.Status) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	row, ok := f.rows[b.ID]
	u := update{b: b, from: from, ctxErr: ctx.Err()}
	defer func() { f.updates = append(f.updates, u) }()
	switch {
	case !ok:
		return ports.ErrNotFound
	case row.Status != from || row.Deleting:
		return ports.ErrStatusConflict
	}
	u.applied = true
	f.rows[b.ID] = b
	return nil
}

// seed puts a backup in the row store, as if it had been stored earlier.
func (f *fixture) seed(b ports.Backup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[b.ID] = b
}

// setStatus changes a stored row behind the service's back (another replica).
func (f *fixture) setStatus(id ports.BackupID, s ports.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	row := f.rows[id]
	row.Status = s
	f.rows[id] = row
}

// row returns the stored backup.
func (f *fixture) row(id ports.BackupID) ports.Backup {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.rows[id]
	if !ok {
		f.t.Fatalf("backup %s is not stored", id)
	}
	return b
}

// allUpdates returns every Update call so far.
func (f *fixture) allUpdates() []update {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]update(nil), f.updates...)
}

// createdID is the ID of the backup CreateBackup inserted (zero before).
func (f *fixture) createdID() ports.BackupID {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.created) == 0 {
		return ports.BackupID{}
	}
	return f.created[len(f.created)-1].ID
}

// createdKey matches the object key of the backup being created.
func (f *fixture) createdKey() gomock.Matcher {
	return gomock.Cond(func(key string) bool { return key == backup.ObjectKey(f.order.ID, f.createdID()) })
}

// createdTemp matches the sidecar's staging file of the backup being created.
func (f *fixture) createdTemp() gomock.Matcher {
	return gomock.Cond(func(p string) bool { return p == "/tmp/backup-"+f.createdID().String()+".tar.gz" })
}

// expectDial expects one connection to the order's sidecar, closed afterwards.
func (f *fixture) expectDial() {
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(f.fio, nil)
	f.fio.EXPECT().Close().Return(nil)
}

// create calls CreateBackup as the owner with a name and fails the test on error.
func (f *fixture) create() ports.Backup {
	f.t.Helper()
	b, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "Before the update")
	if err != nil {
		f.t.Fatalf("CreateBackup: %v", err)
	}
	return b
}

// readyBackup stores a ready backup of data under the fixture's order.
func (f *fixture) readyBackup(data []byte) ports.Backup {
	b := ports.Backup{
		ID: ports.NewBackupID(), OrderID: f.order.ID, ProvisionID: f.primary.ID,
		Name: "Before the update", Status: ports.StatusReady,
		AssetID: ports.NewAssetID(), SizeBytes: int64(len(data)), SHA256: sha256Hex(data),
		CreatedAt: fixedNow.Add(-time.Hour), CompletedAt: fixedNow.Add(-59 * time.Minute),
		HeartbeatAt: fixedNow.Add(-time.Hour),
	}
	f.seed(b)
	return b
}

// expectBackupFound expects the lookups of authorizeBackup for b.
func (f *fixture) expectBackupFound(b ports.Backup) {
	f.expectAuthorized()
	f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
}

// archive returns n deterministic, incompressible bytes.
func archive(n int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 'a', 'v', 'e'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// trackedReader is a stream whose Close is observed; it doubles as an
// ArchiveStream that reports report.
type trackedReader struct {
	io.Reader
	closer func() error
	closed atomic.Bool
	report ports.ArchiveReport
}

func (r *trackedReader) Report() ports.ArchiveReport { return r.report }

func (r *trackedReader) Close() error {
	r.closed.Store(true)
	if r.closer != nil {
		return r.closer()
	}
	return nil
}

// stream returns data as a stream fed through a pipe in small writes, the way a
// gRPC stream delivers it, so nothing downstream can rely on one big buffer.
func stream(data []byte) *trackedReader {
	pr, pw := io.Pipe()
	go func() {
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 16<<10)
			if _, err := pw.Write(rest[:n]); err != nil {
				return // the reader was closed early
			}
			rest = rest[n:]
		}
		pw.Close()
	}()
	return &trackedReader{Reader: pr, closer: pr.Close}
}

// brokenStream yields the first n bytes of data and then fails with err, like a
// connection that drops mid-transfer.
func brokenStream(data []byte, n int, err error) *trackedReader {
	return &trackedReader{Reader: io.MultiReader(bytes.NewReader(data[:n]), errReader{err})}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// drainInto is an ObjectStore.Put that stores everything it reads in dst and
// fails, as Put must, when the stream does.
func drainInto(dst *bytes.Buffer) func(context.Context, string, io.Reader) error {
	return func(_ context.Context, _ string, r io.Reader) error {
		_, err := io.Copy(dst, r)
		return err
	}
}

// waitFor fails the test if ch is not closed (or does not deliver) in time.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// assertIs fails unless errors.Is(err, want).
func assertIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one wrapping %q", err, want)
	}
}

// assertNotInfra fails if a domain error was wrapped as an infrastructure failure.
func assertNotInfra(t *testing.T, err error) {
	t.Helper()
	for _, infra := range []error{backup.ErrDatabase, backup.ErrStorage, backup.ErrCluster} {
		if errors.Is(err, infra) {
			t.Fatalf("error %v is wrapped as %q, but it is a domain error", err, infra)
		}
	}
}

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
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portsmock"
)

// fixedNow is the tests' clock reading unless a test moves it.
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

// fixture is a Service wired to gomock mocks of every port, with one order owned
// by owner, its primary deployment and its sidecar. It serves the few tests
// about a call that only a mock can see (their order, a path in the pod, an
// answer no correct port gives); every other test runs on the twin.
type fixture struct {
	t       *testing.T
	repo    *portsmock.MockRepository
	orders  *portsmock.MockOrders
	assets  *portsmock.MockAssets
	objects *portsmock.MockObjectStore
	dialer  *portsmock.MockSidecarDialer
	fio     *portsmock.MockFileIO
	svc     *backup.Service

	owner   ports.UserID
	order   ports.Order
	primary ports.Provision
	sidecar ports.Provision

	mu      sync.Mutex
	created ports.Backup
}

func newFixture(t *testing.T, options ...func(*backup.Options)) *fixture {
	t.Helper()
	ctrl := gomock.NewController(t)
	f := &fixture{
		t:       t,
		repo:    portsmock.NewMockRepository(ctrl),
		orders:  portsmock.NewMockOrders(ctrl),
		assets:  portsmock.NewMockAssets(ctrl),
		objects: portsmock.NewMockObjectStore(ctrl),
		dialer:  portsmock.NewMockSidecarDialer(ctrl),
		fio:     portsmock.NewMockFileIO(ctrl),
		owner:   ports.NewUserID(),
	}
	f.order = ports.Order{ID: ports.NewOrderID(), OwnerID: f.owner}
	f.primary = ports.Provision{ID: ports.NewProvisionID(), OrderID: f.order.ID, Kind: ports.KindDeployment, Primary: true, Role: ports.RoleGameServer}
	f.sidecar = ports.Provision{ID: ports.NewProvisionID(), OrderID: f.order.ID, Kind: ports.KindDeployment, Role: ports.RoleSidecar}

	// Heartbeats run every few milliseconds, so the race detector sees them
	// alongside the work; the sidecar leaves the directories to the options.
	f.repo.EXPECT().Heartbeat(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(nil).AnyTimes()
	f.fio.EXPECT().Dirs().Return(ports.SidecarDirs{}).AnyTimes()
	opts := backup.Options{HeartbeatInterval: 2 * time.Millisecond, CleanupTimeout: 5 * time.Second, Now: (&clock{t: fixedNow}).Now}
	for _, o := range options {
		o(&opts)
	}
	svc, err := backup.NewService(backup.Deps{
		Repository: f.repo, Orders: f.orders, Permissions: portsmock.NewMockPermissions(ctrl),
		Assets: f.assets, Objects: f.objects, Sidecars: f.dialer,
	}, opts)
	must(t, err)
	f.svc = svc
	// Registered after the controller's own cleanup, so it runs first: background
	// work ends before gomock checks that every expected call happened.
	t.Cleanup(f.wait)
	return f
}

// wait returns once every background operation has finished.
func (f *fixture) wait() { awaitShutdown(f.t, f.svc) }

// awaitShutdown returns once every background operation of svc has finished.
// Shutdown waits for running jobs, so it doubles as the barrier; the service
// accepts no work after.
func awaitShutdown(t *testing.T, svc *backup.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("background work did not finish: %v", err)
	}
}

// expectAuthorized expects the order and provision lookups for the owner.
func (f *fixture) expectAuthorized() {
	f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
	f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
}

// expectCreateAccepted expects every synchronous step of a create that passes,
// and records the backup the repository is asked to insert.
func (f *fixture) expectCreateAccepted() {
	f.expectAuthorized()
	f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary, f.sidecar}, nil)
	f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
	f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, nil)
	f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, b ports.Backup, _ int) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.created = b
		return nil
	})
	// The service may read the new record back for its answer.
	f.repo.EXPECT().Find(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, ports.BackupID) (ports.Backup, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.created, nil
	}).AnyTimes()
}

// createdID is the ID of the backup CreateBackup inserted (zero before).
func (f *fixture) createdID() ports.BackupID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created.ID
}

// expectDial expects one connection to the order's sidecar, closed afterwards.
func (f *fixture) expectDial() {
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(f.fio, nil)
	f.fio.EXPECT().Close().Return(nil)
}

// create calls CreateBackup as the owner with a name and fails the test on error.
func (f *fixture) create() ports.Backup {
	f.t.Helper()
	b, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, backup.CreateRequest{Name: "Before the update"})
	must(f.t, err)
	return b
}

// readyBackup is a ready backup of the fixture's order.
func (f *fixture) readyBackup() ports.Backup {
	id := ports.NewBackupID()
	return ports.Backup{
		ID: id, OrderID: f.order.ID, ProvisionID: f.primary.ID, Name: "Before the update", Status: ports.StatusReady,
		AssetID: ports.ArchiveAssetID(id), SizeBytes: 64, SHA256: sha256Hex(archive(64)),
		CreatedAt: fixedNow.Add(-time.Hour), CompletedAt: fixedNow.Add(-59 * time.Minute), HeartbeatAt: fixedNow.Add(-time.Hour),
	}
}

// expectBackupFound expects the lookups that authorize the owner's call about b.
func (f *fixture) expectBackupFound(b ports.Backup) {
	f.expectAuthorized()
	f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
}

// drainInto is an ObjectStore.Put that stores everything it reads in dst and
// fails, as Put must, when the stream does.
func drainInto(dst *bytes.Buffer) func(context.Context, string, io.Reader) error {
	return func(_ context.Context, _ string, r io.Reader) error {
		_, err := io.Copy(dst, r)
		return err
	}
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

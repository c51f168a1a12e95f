package backup_test

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing/iotest"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/local"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// fault is what happens to the calls of one method of a port. By default it
// strikes every call, which then answers err without reaching the twin.
type fault struct {
	// err is the call's answer; with cut, the error the data fails with.
	err error
	// do, when set, runs when the fault strikes and its error is the answer: it
	// may block, panic, or change the twin's state behind the service's back.
	// Returning nil lets the call go through.
	do func(ctx context.Context) error
	// after is how many calls go through untouched first; times, how many calls
	// it strikes then (zero: every one).
	after, times int
	// made: the call reaches the twin first, and the fault strikes on the way
	// back: a commit whose answer is lost, or something that happened meanwhile.
	made bool
	// cut: the call goes through, but the data it reads or returns breaks with
	// err after this many bytes.
	cut int64
	// careless: the call goes through and takes an error of the data it reads for
	// its end, as a store that never checks its source would.
	careless bool
}

// faults holds the faults injected into a twin's ports, by "Port.Method", and
// counts the streams the ports opened and nobody closed.
type faults struct {
	mu    sync.Mutex
	rules map[string]*rule
	open  atomic.Int64
	// archived are the options of every archive asked of the sidecar.
	archived []ports.ArchiveOptions
}

// archiveOptions returns the options of every archive asked for so far.
func (f *faults) archiveOptions() []ports.ArchiveOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.archived)
}

func (f *faults) recordArchive(opts ports.ArchiveOptions) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.archived = append(f.archived, opts)
}

type rule struct {
	fault
	calls int
}

func (f *faults) set(method string, ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rules == nil {
		f.rules = map[string]*rule{}
	}
	f.rules[method] = &rule{fault: ft}
}

func (f *faults) clear(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rules, method)
}

// strike counts a call of method and returns the fault it meets, or nil.
func (f *faults) strike(method string) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rules[method]
	if r == nil {
		return nil
	}
	r.calls++
	if r.calls <= r.after || (r.times > 0 && r.calls > r.after+r.times) {
		return nil
	}
	ft := r.fault
	return &ft
}

// answer makes a call that may meet ft.
func answer[T any](ctx context.Context, ft *fault, call func() (T, error)) (T, error) {
	var zero T
	switch {
	case ft == nil || ft.cut > 0 || ft.careless:
		return call()
	case ft.made:
		v, err := call()
		if ferr := ft.fire(ctx); ferr != nil {
			return zero, ferr
		}
		return v, err
	}
	if err := ft.fire(ctx); err != nil {
		return zero, err
	}
	return call()
}

// run is answer for a call that returns only an error.
func (ft *fault) run(ctx context.Context, call func() error) error {
	_, err := answer(ctx, ft, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

func (ft *fault) fire(ctx context.Context) error {
	if ft.do != nil {
		return ft.do(ctx)
	}
	return ft.err
}

// input is the data a call reads, as the fault leaves it.
func (ft *fault) input(r io.Reader) io.Reader {
	switch {
	case ft != nil && ft.cut > 0:
		return io.MultiReader(io.LimitReader(r, ft.cut), iotest.ErrReader(ft.err))
	case ft != nil && ft.careless:
		return eofOnError{r}
	}
	return r
}

// opened wraps a stream a port returned: counted until closed, and cut short
// if the fault says so.
func (f *faults) opened(rc io.ReadCloser, ft *fault, report func() ports.ArchiveReport, progress func() (int64, int64)) *portStream {
	f.open.Add(1)
	return &portStream{r: ft.input(rc), c: rc, open: &f.open, report: report, progress: progress}
}

type portStream struct {
	r        io.Reader
	c        io.Closer
	open     *atomic.Int64
	closed   atomic.Bool
	report   func() ports.ArchiveReport
	progress func() (int64, int64)
}

func (s *portStream) Read(p []byte) (int, error) { return s.r.Read(p) }

func (s *portStream) Report() ports.ArchiveReport { return s.report() }

func (s *portStream) Progress() (done, total int64) { return s.progress() }

func (s *portStream) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.open.Add(-1)
	}
	return s.c.Close()
}

// eofOnError ends where r fails, as a careless reader sees it.
type eofOnError struct{ r io.Reader }

func (e eofOnError) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		err = io.EOF
	}
	return n, err
}

// The wrappers below put faults between the service and each of its ports.
// Methods no test injects a fault into are the twin's own, embedded.

type faultyRepository struct {
	ports.Repository
	f *faults
}

func (r faultyRepository) Create(ctx context.Context, b ports.Backup, limit int) error {
	return r.f.strike("Repository.Create").run(ctx, func() error { return r.Repository.Create(ctx, b, limit) })
}

func (r faultyRepository) Find(ctx context.Context, id ports.BackupID) (ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.Find"), func() (ports.Backup, error) { return r.Repository.Find(ctx, id) })
}

func (r faultyRepository) FindByAsset(ctx context.Context, id ports.AssetID) (ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.FindByAsset"), func() (ports.Backup, error) { return r.Repository.FindByAsset(ctx, id) })
}

func (r faultyRepository) ListByProvision(ctx context.Context, p ports.ProvisionID) ([]ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.ListByProvision"), func() ([]ports.Backup, error) { return r.Repository.ListByProvision(ctx, p) })
}

func (r faultyRepository) CountByProvision(ctx context.Context, p ports.ProvisionID) (int, error) {
	return answer(ctx, r.f.strike("Repository.CountByProvision"), func() (int, error) { return r.Repository.CountByProvision(ctx, p) })
}

func (r faultyRepository) HasActiveOperation(ctx context.Context, o ports.OrderID) (bool, error) {
	return answer(ctx, r.f.strike("Repository.HasActiveOperation"), func() (bool, error) { return r.Repository.HasActiveOperation(ctx, o) })
}

func (r faultyRepository) Update(ctx context.Context, b ports.Backup, from ports.Status) error {
	return r.f.strike("Repository.Update").run(ctx, func() error { return r.Repository.Update(ctx, b, from) })
}

func (r faultyRepository) Heartbeat(ctx context.Context, id ports.BackupID, s ports.Status, at time.Time, p *ports.Progress) error {
	return r.f.strike("Repository.Heartbeat").run(ctx, func() error { return r.Repository.Heartbeat(ctx, id, s, at, p) })
}

func (r faultyRepository) ListStale(ctx context.Context, before time.Time) ([]ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.ListStale"), func() ([]ports.Backup, error) { return r.Repository.ListStale(ctx, before) })
}

func (r faultyRepository) ClaimForDelete(ctx context.Context, id ports.BackupID, evenIfLocked bool) (ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.ClaimForDelete"), func() (ports.Backup, error) { return r.Repository.ClaimForDelete(ctx, id, evenIfLocked) })
}

func (r faultyRepository) SetLocked(ctx context.Context, id ports.BackupID, locked bool) (ports.Backup, error) {
	return answer(ctx, r.f.strike("Repository.SetLocked"), func() (ports.Backup, error) { return r.Repository.SetLocked(ctx, id, locked) })
}

func (r faultyRepository) Delete(ctx context.Context, id ports.BackupID) error {
	return r.f.strike("Repository.Delete").run(ctx, func() error { return r.Repository.Delete(ctx, id) })
}

func (r faultyRepository) HeartbeatFence(ctx context.Context, o ports.OrderID, id ports.FenceID, at time.Time) error {
	return r.f.strike("Repository.HeartbeatFence").run(ctx, func() error { return r.Repository.HeartbeatFence(ctx, o, id, at) })
}

// faultyCatalog is the host's catalog, in which, unlike in the local twin, an
// order can also change hands (sell).
type faultyCatalog struct {
	*local.Catalog
	f *faults

	mu     sync.Mutex
	owners map[ports.OrderID]ports.UserID
}

func (c *faultyCatalog) sell(order ports.OrderID, buyer ports.UserID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owners == nil {
		c.owners = map[ports.OrderID]ports.UserID{}
	}
	c.owners[order] = buyer
}

func (c *faultyCatalog) GetOrder(ctx context.Context, id ports.OrderID) (ports.Order, error) {
	o, err := answer(ctx, c.f.strike("Orders.GetOrder"), func() (ports.Order, error) { return c.Catalog.GetOrder(ctx, id) })
	c.mu.Lock()
	defer c.mu.Unlock()
	if buyer, ok := c.owners[id]; ok && err == nil {
		o.OwnerID = buyer
	}
	return o, err
}

func (c *faultyCatalog) GetProvision(ctx context.Context, id ports.ProvisionID) (ports.Provision, error) {
	return answer(ctx, c.f.strike("Orders.GetProvision"), func() (ports.Provision, error) { return c.Catalog.GetProvision(ctx, id) })
}

func (c *faultyCatalog) ListProvisions(ctx context.Context, o ports.OrderID) ([]ports.Provision, error) {
	return answer(ctx, c.f.strike("Orders.ListProvisions"), func() ([]ports.Provision, error) { return c.Catalog.ListProvisions(ctx, o) })
}

func (c *faultyCatalog) CanViewAllOrders(ctx context.Context, u ports.UserID) (bool, error) {
	return answer(ctx, c.f.strike("Permissions.CanViewAllOrders"), func() (bool, error) { return c.Catalog.CanViewAllOrders(ctx, u) })
}

type faultyAssets struct {
	ports.Assets
	f *faults
}

func (a faultyAssets) CreateAsset(ctx context.Context, asset ports.Asset) error {
	return a.f.strike("Assets.CreateAsset").run(ctx, func() error { return a.Assets.CreateAsset(ctx, asset) })
}

func (a faultyAssets) GetAsset(ctx context.Context, id ports.AssetID) (ports.Asset, error) {
	return answer(ctx, a.f.strike("Assets.GetAsset"), func() (ports.Asset, error) { return a.Assets.GetAsset(ctx, id) })
}

func (a faultyAssets) DeleteAsset(ctx context.Context, id ports.AssetID) error {
	return a.f.strike("Assets.DeleteAsset").run(ctx, func() error { return a.Assets.DeleteAsset(ctx, id) })
}

type faultyObjects struct {
	ports.ObjectStore
	f *faults
}

func (o faultyObjects) Put(ctx context.Context, key string, r io.Reader) error {
	ft := o.f.strike("Objects.Put")
	return ft.run(ctx, func() error { return o.ObjectStore.Put(ctx, key, ft.input(r)) })
}

func (o faultyObjects) Get(ctx context.Context, key string, rng *ports.ByteRange) (io.ReadCloser, ports.ObjectInfo, error) {
	ft := o.f.strike("Objects.Get")
	var info ports.ObjectInfo
	rc, err := answer(ctx, ft, func() (rc io.ReadCloser, err error) {
		rc, info, err = o.ObjectStore.Get(ctx, key, rng)
		return rc, err
	})
	if err != nil {
		return nil, ports.ObjectInfo{}, err
	}
	return o.f.opened(rc, ft, nil, nil), info, nil
}

func (o faultyObjects) Delete(ctx context.Context, key string) error {
	return o.f.strike("Objects.Delete").run(ctx, func() error { return o.ObjectStore.Delete(ctx, key) })
}

type faultyFileIO struct {
	ports.FileIO
	f *faults
}

func (c faultyFileIO) StreamArchive(ctx context.Context, sources []string, opts ports.ArchiveOptions) (ports.ArchiveStream, error) {
	c.f.recordArchive(opts)
	ft := c.f.strike("FileIO.StreamArchive")
	s, err := answer(ctx, ft, func() (ports.ArchiveStream, error) { return c.FileIO.StreamArchive(ctx, sources, opts) })
	if err != nil {
		return nil, err
	}
	return c.f.opened(s, ft, s.Report, s.Progress), nil
}

func (c faultyFileIO) CompressFiles(ctx context.Context, sources []string, output string, opts ports.ArchiveOptions) (ports.ArchiveReport, error) {
	return answer(ctx, c.f.strike("FileIO.CompressFiles"), func() (ports.ArchiveReport, error) { return c.FileIO.CompressFiles(ctx, sources, output, opts) })
}

func (c faultyFileIO) ReadFile(ctx context.Context, path string) (io.ReadCloser, error) {
	ft := c.f.strike("FileIO.ReadFile")
	rc, err := answer(ctx, ft, func() (io.ReadCloser, error) { return c.FileIO.ReadFile(ctx, path) })
	if err != nil {
		return nil, err
	}
	return c.f.opened(rc, ft, nil, nil), nil
}

func (c faultyFileIO) WriteFile(ctx context.Context, path string, size int64, r io.Reader) error {
	ft := c.f.strike("FileIO.WriteFile")
	return ft.run(ctx, func() error { return c.FileIO.WriteFile(ctx, path, size, ft.input(r)) })
}

func (c faultyFileIO) ExtractTo(ctx context.Context, source, destination string, keep []string) error {
	return c.f.strike("FileIO.ExtractTo").run(ctx, func() error { return c.FileIO.ExtractTo(ctx, source, destination, keep) })
}

func (c faultyFileIO) RestoreArchive(ctx context.Context, destination string, archive io.Reader, size int64, sha256 string, keep []string) error {
	ft := c.f.strike("FileIO.RestoreArchive")
	return ft.run(ctx, func() error { return c.FileIO.RestoreArchive(ctx, destination, ft.input(archive), size, sha256, keep) })
}

func (c faultyFileIO) DeleteFile(ctx context.Context, path string) error {
	return c.f.strike("FileIO.DeleteFile").run(ctx, func() error { return c.FileIO.DeleteFile(ctx, path) })
}

type faultySchedules struct {
	ports.Schedules
	f *faults
}

func (s faultySchedules) FindByProvision(ctx context.Context, p ports.ProvisionID) (ports.Schedule, error) {
	return answer(ctx, s.f.strike("Schedules.FindByProvision"), func() (ports.Schedule, error) { return s.Schedules.FindByProvision(ctx, p) })
}

func (s faultySchedules) Put(ctx context.Context, sc ports.Schedule) (ports.Schedule, error) {
	return answer(ctx, s.f.strike("Schedules.Put"), func() (ports.Schedule, error) { return s.Schedules.Put(ctx, sc) })
}

func (s faultySchedules) ListDue(ctx context.Context, now time.Time) ([]ports.Schedule, error) {
	return answer(ctx, s.f.strike("Schedules.ListDue"), func() ([]ports.Schedule, error) { return s.Schedules.ListDue(ctx, now) })
}

func (s faultySchedules) ClaimRun(ctx context.Context, id ports.ScheduleID, slot, at time.Time) (ports.ScheduleRun, bool, error) {
	var claimed bool
	run, err := answer(ctx, s.f.strike("Schedules.ClaimRun"), func() (run ports.ScheduleRun, err error) {
		run, claimed, err = s.Schedules.ClaimRun(ctx, id, slot, at)
		return run, err
	})
	return run, claimed, err
}

func (s faultySchedules) FinishRun(ctx context.Context, id ports.ScheduleID, run ports.ScheduleRun) error {
	return s.f.strike("Schedules.FinishRun").run(ctx, func() error { return s.Schedules.FinishRun(ctx, id, run) })
}

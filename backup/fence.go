package backup

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Fence is a host's hold on an order's one operation slot, the slot a create or
// a restore takes: while the fence is held, creates and restores of the order
// fail with ErrReprovisioning. A host holds one for as long as it tears down and
// rebuilds a game server, so that no backup reads, and no restore writes, files
// that are going away.
//
// A Fence heartbeats in the background like a running operation. If its holder
// dies, the heartbeats stop and any replica's recovery loop releases the slot
// once the last heartbeat is older than Options.StaleAfter. Safe for concurrent
// use.
type Fence struct {
	svc   *Service
	id    ports.FenceID
	order ports.OrderID

	lost     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

// FenceOrder takes the order's operation slot for the caller, atomically with the
// check that no create or restore holds it, and keeps it until Release. The host
// calls it before it reprovisions the order's game server (and Release when done);
// it does not check a user's permissions. Returns ErrBackupInProgress if a create
// or restore is running, ErrReprovisioning if another fence holds the slot, or an
// error wrapping ErrDatabase.
func (s *Service) FenceOrder(ctx context.Context, orderID ports.OrderID) (*Fence, error) {
	now := s.opts.Now()
	f := ports.Fence{ID: ports.NewFenceID(), OrderID: orderID, AcquiredAt: now, HeartbeatAt: now}
	err := s.deps.Repository.AcquireFence(ctx, f)
	if errors.Is(err, ErrOperationInProgress) {
		return nil, ErrBackupInProgress
	}
	if err != nil {
		return nil, wrapInfra(ErrDatabase, "fencing the order", err)
	}
	fence := &Fence{
		svc: s, id: f.ID, order: orderID,
		lost: make(chan struct{}), stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	go fence.heartbeat()
	s.log.Info("order fenced", "order_id", orderID, "fence_id", f.ID)
	return fence, nil
}

// Lost is closed when the fence stopped protecting the order before Release: its
// heartbeats failed for longer than Options.StaleAfter and a recovery loop
// released it. A host that sees it should stop its teardown, or fence again.
func (f *Fence) Lost() <-chan struct{} { return f.lost }

// Release frees the order's operation slot and stops the heartbeat. Calling it
// again, or after the fence was lost, does nothing. Returns an error wrapping
// ErrDatabase if the slot could not be freed; it is then freed by recovery once
// Options.StaleAfter has passed.
func (f *Fence) Release(ctx context.Context) error {
	f.stopOnce.Do(func() { close(f.stop) })
	<-f.stopped
	if err := f.svc.deps.Repository.ReleaseFence(ctx, f.order, f.id); err != nil {
		return wrapInfra(ErrDatabase, "releasing the fence", err)
	}
	f.svc.log.Info("order fence released", "order_id", f.order, "fence_id", f.id)
	return nil
}

func (f *Fence) heartbeat() {
	defer close(f.stopped)
	t := time.NewTicker(f.svc.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.svc.opts.HeartbeatInterval)
		err := f.svc.deps.Repository.HeartbeatFence(ctx, f.order, f.id, f.svc.opts.Now())
		cancel()
		switch {
		case errors.Is(err, ports.ErrNotFound):
			f.svc.log.Error("the order's fence was released by recovery while held: its heartbeats had stopped", "order_id", f.order, "fence_id", f.id)
			close(f.lost)
			return
		case err != nil:
			f.svc.log.Warn("fence heartbeat failed; it is retried", "order_id", f.order, "fence_id", f.id, "err", err)
		}
	}
}

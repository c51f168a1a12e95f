package spriver_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	spriver "github.com/savepoint-dev/savepoint/adapters/river"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestReplicasRunEverySlotOnce runs three replicas at once over several
// schedules while the fake clock moves on a minute at a time, stops one and
// starts a fourth halfway (so that the leader may change), and checks that every
// slot ran exactly once: one claim, one call, one job.
func TestReplicasRunEverySlotOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	everies := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}
	ids := make([]ports.ScheduleID, len(everies))
	for i, every := range everies {
		ids[i] = e.schedule(every)
	}
	runners := []*spriver.Runner{e.start("r0", e.opts("r0")), e.start("r1", e.opts("r1")), e.start("r2", e.opts("r2"))}

	const steps = 16
	now := epoch
	var want []string
	for step := 1; step <= steps; step++ {
		now = now.Add(time.Minute)
		e.setClock(now)
		want = want[:0]
		for i, every := range everies {
			want = append(want, expectedSlots(ids[i], every, now)...)
		}
		slices.Sort(want)
		// The clock moves on only once every slot so far has run, so a slot
		// that went missing fails here rather than being caught up later.
		e.waitFor(time.Minute, "every slot up to "+now.Format(time.TimeOnly)+" to be claimed", func() bool {
			return slices.Equal(sortedKeys(e.claims()), want)
		})
		if step == steps/2 {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			if err := runners[0].Stop(ctx); err != nil {
				t.Fatalf("stopping r0: %v", err)
			}
			cancel()
			runners = append(runners, e.start("r3", e.opts("r3")))
		}
	}

	byReplica := map[string]int{}
	for _, replica := range e.claims() {
		byReplica[replica]++
	}
	t.Logf("%d slots claimed, by replica: %v", len(want), byReplica)
	for i, every := range everies {
		for s := epoch.Truncate(every).Add(every); !s.After(now); s = s.Add(every) {
			if calls := e.calls(ids[i], s); !ranOnce(calls) {
				t.Errorf("schedule %d slot %s: calls %q, want one that ran", i, s.Format(time.TimeOnly), calls)
			}
			e.waitFor(30*time.Second, "the slot's job to complete", func() bool {
				jobs := e.runJobs(ids[i], s)
				return len(jobs) > 0 && jobs[0].State == "completed"
			})
			if jobs := e.runJobs(ids[i], s); len(jobs) != 1 || jobs[0].Attempt != 1 {
				t.Errorf("schedule %d slot %s: River holds jobs %+v, want one, completed on its first attempt", i, s.Format(time.TimeOnly), jobs)
			}
		}
	}
	var behind int
	e.scan(`SELECT count(*) FROM fake_schedules WHERE next_run <= $1`, []any{now}, &behind)
	if behind != 0 {
		t.Errorf("%d schedules were not moved on past the clock", behind)
	}
}

// TestSlotEnqueuedAgainMakesOneJob: when AdvanceSchedule fails after the run
// was enqueued — as when a replica dies between the two — every later tick
// enqueues the same slot again, even with another Due if the schedule was
// edited meanwhile, and the slot still makes one job and one run.
func TestSlotEnqueuedAgainMakesOneJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.schedule(time.Minute)
	slot := epoch.Truncate(time.Minute).Add(time.Minute)
	edited := slot.Add(-30 * time.Second)
	e.fault("fail_advance", id, 1000)
	e.start("r0", e.opts("r0"))
	e.start("r1", e.opts("r1"))
	e.setClock(slot)

	failedAdvances := func(due time.Time) int {
		var n int
		e.scan(`SELECT count(*) FROM fake_advances WHERE outcome = 'failed' AND due = $1`, []any{due}, &n)
		return n
	}
	e.waitFor(time.Minute, "two ticks to enqueue the slot and fail to advance", func() bool { return failedAdvances(slot) >= 2 })
	e.exec(`UPDATE fake_schedules SET next_run = $2 WHERE id = $1`, id, edited)
	e.waitFor(time.Minute, "a tick to enqueue the slot with the edited Due", func() bool { return failedAdvances(edited) >= 1 })
	e.exec(`DELETE FROM fake_faults`)
	e.waitFor(time.Minute, "the schedule to be moved on", func() bool {
		var advanced bool
		e.scan(`SELECT EXISTS (SELECT 1 FROM fake_advances WHERE outcome = 'advanced')`, nil, &advanced)
		return advanced
	})
	e.waitFor(30*time.Second, "the slot's job to complete", func() bool {
		jobs := e.runJobs(id, slot)
		return len(jobs) > 0 && jobs[0].State == "completed"
	})
	if jobs := e.runJobs(id, slot); len(jobs) != 1 {
		t.Errorf("River holds %d jobs for the slot enqueued by %d ticks: %+v; want one", len(jobs), failedAdvances(slot)+failedAdvances(edited)+1, jobs)
	}
	if calls := e.calls(id, slot); !ranOnce(calls) {
		t.Errorf("calls %q, want one that ran", calls)
	}
}

// ranOnce reports whether calls are one call that ran its slot, on any replica.
func ranOnce(calls []string) bool {
	return len(calls) == 1 && strings.HasSuffix(calls[0], ":ran")
}

func TestRunErrors(t *testing.T) {
	t.Parallel()

	t.Run("a run whose outcome could not be recorded is retried until it is", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := e.schedule(time.Minute)
		slot := epoch.Truncate(time.Minute).Add(time.Minute)
		e.fault("fail_run", id, 1)
		e.start("r0", e.opts("r0"))
		e.setClock(slot)
		e.waitFor(time.Minute, "the slot's job to complete", func() bool {
			jobs := e.runJobs(id, slot)
			return len(jobs) > 0 && jobs[0].State == "completed"
		})
		jobs := e.runJobs(id, slot)
		if len(jobs) != 1 || jobs[0].Attempt != 2 || len(jobs[0].Errors) != 1 {
			t.Errorf("River holds %+v; want one job, completed on its second attempt after an error", jobs)
		}
		want := []string{"r0:failed: fake: recording the outcome failed", "r0:ran"}
		if calls := e.calls(id, slot); !slices.Equal(calls, want) {
			t.Errorf("calls %q, want %q", calls, want)
		}
	})

	t.Run("a run that keeps failing is given up after MaxAttempts", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := e.schedule(time.Minute)
		slot := epoch.Truncate(time.Minute).Add(time.Minute)
		e.fault("fail_run", id, 1000)
		opts := e.opts("r0")
		opts.MaxAttempts = 2
		e.start("r0", opts)
		e.setClock(slot)
		e.waitFor(time.Minute, "the slot's job to be discarded", func() bool {
			jobs := e.runJobs(id, slot)
			return len(jobs) > 0 && jobs[0].State == "discarded"
		})
		if calls := e.calls(id, slot); len(calls) != 2 {
			t.Errorf("calls %q, want the two attempts", calls)
		}
	})

	t.Run("a call running past JobTimeout is cancelled and retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := e.schedule(time.Minute)
		slot := epoch.Truncate(time.Minute).Add(time.Minute)
		e.fault("block_run", id, 1)
		opts := e.opts("r0")
		opts.JobTimeout = 300 * time.Millisecond
		e.start("r0", opts)
		e.setClock(slot)
		e.waitFor(time.Minute, "the slot's job to complete", func() bool {
			jobs := e.runJobs(id, slot)
			return len(jobs) > 0 && jobs[0].State == "completed"
		})
		want := []string{"r0:failed: context deadline exceeded", "r0:claimed already"}
		if calls := e.calls(id, slot); !slices.Equal(calls, want) {
			t.Errorf("calls %q, want %q", calls, want)
		}
	})
}

func TestStop(t *testing.T) {
	t.Parallel()

	t.Run("with no jobs it returns promptly", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r := e.start("r0", e.opts("r0"))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		began := time.Now()
		if err := r.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if took := time.Since(began); took > 3*time.Second {
			t.Errorf("Stop with nothing running took %v", took)
		}
	})

	t.Run("a Runner never started stops at once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		r, err := spriver.New(e.db, &fakeScheduler{db: e.db, replica: "r0"}, e.opts("r0"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	})

	t.Run("it lets a running call finish", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := e.schedule(time.Minute)
		slot := epoch.Truncate(time.Minute).Add(time.Minute)
		e.fault("block_run", id, 1)
		r := e.start("r0", e.opts("r0"))
		e.setClock(slot)
		e.waitFor(time.Minute, "the run to claim its slot", func() bool { return len(e.claims()) == 1 })

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stopped <- r.Stop(ctx)
		}()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned %v while a call was running", err)
		case <-time.After(300 * time.Millisecond):
		}
		e.release(id)
		if err := <-stopped; err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if calls := e.calls(id, slot); !slices.Equal(calls, []string{"r0:ran"}) {
			t.Errorf("calls %q, want the one that ran to its end", calls)
		}
		if jobs := e.runJobs(id, slot); len(jobs) != 1 || jobs[0].State != "completed" {
			t.Errorf("River holds %+v, want the job completed", jobs)
		}
	})

	t.Run("it cancels a call still running when its context ends, to be retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := e.schedule(time.Minute)
		slot := epoch.Truncate(time.Minute).Add(time.Minute)
		e.fault("block_run", id, 1)
		r := e.start("r0", e.opts("r0"))
		e.setClock(slot)
		e.waitFor(time.Minute, "the run to claim its slot", func() bool { return len(e.claims()) == 1 })

		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := r.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want an error wrapping the deadline", err)
		}
		want := "r0:failed: context canceled"
		if calls := e.calls(id, slot); len(calls) != 1 || calls[0] != want {
			t.Errorf("calls %q, want [%s]", calls, want)
		}
		if jobs := e.runJobs(id, slot); len(jobs) != 1 || jobs[0].State == "running" || jobs[0].State == "completed" {
			t.Errorf("River holds %+v, want the job waiting for its retry", jobs)
		}
	})
}

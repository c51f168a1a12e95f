package spriver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	spriver "github.com/savepoint-dev/savepoint/adapters/river"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// envReplica makes the test binary, re-executed by TestKilledReplica, run a
// replica on the database it describes (a replicaSpec in JSON) until killed.
const envReplica = "SAVEPOINT_RIVER_TEST_REPLICA"

type replicaSpec struct{ URL, Schema string }

// runReplicaUntilKilled runs a Runner as replica "killed", whose calls take
// long enough (an hour) never to time out before the kill. It exits if its
// parent goes away, so a failed test leaves no replica behind.
func runReplicaUntilKilled(spec string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var s replicaSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fail(err)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, s.URL)
	if err != nil {
		fail(err)
	}
	r, err := spriver.New(pool, &fakeScheduler{db: pool, replica: "killed"}, spriver.Options{
		Schema:     s.Schema,
		Tick:       50 * time.Millisecond,
		JobTimeout: time.Hour,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fail(err)
	}
	if err := r.Start(ctx); err != nil {
		fail(err)
	}
	for parent := os.Getppid(); os.Getppid() == parent; {
		time.Sleep(100 * time.Millisecond)
	}
	os.Exit(3)
}

// TestKilledReplica kills -9 a replica, in a child process, while it is inside
// RunScheduledBackup, and shows that another replica runs the next slot, and
// that River, after RescueStuckJobsAfter, works the interrupted job again
// without its slot running twice: River's rescuer (run by the leader) moves the
// job, still running in the dead replica's name, back to retryable, and the
// survivor's call finds the slot claimed by the dead replica.
func TestKilledReplica(t *testing.T) {
	if spec := os.Getenv(envReplica); spec != "" {
		runReplicaUntilKilled(spec)
	}
	t.Parallel()
	testenv.Short(t, "waits for the dead replica's River leadership to expire (15 s)")
	e := newEnv(t)
	id := e.schedule(time.Minute)
	first := epoch.Truncate(time.Minute).Add(time.Minute)
	second := first.Add(time.Minute)
	e.fault("block_run", id, 1)
	e.setClock(first)

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(replicaSpec{URL: e.url, Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	child := testenv.StartProcess(t, "the replica to kill", exe, []string{"-test.run=^TestKilledReplica$", "-test.count=1"}, envReplica+"="+string(spec))
	testenv.WaitFor(t, time.Minute, "the replica to claim the first slot and block", child, func() bool {
		return e.claims()[slotKey(id.String(), first)] == "killed"
	})
	child.Kill()
	e.release(id)

	// A short JobTimeout and RescueStuckJobsAfter, so that the survivor, once
	// leader, rescues the dead replica's job at once rather than in an hour.
	opts := e.opts("survivor")
	opts.JobTimeout = time.Second
	opts.RescueStuckJobsAfter = 2 * time.Second
	e.start("survivor", opts)
	e.setClock(second)

	// The survivor leads once the dead replica's lease has run out.
	e.waitFor(90*time.Second, "the survivor to run the next slot", func() bool {
		return e.claims()[slotKey(id.String(), second)] == "survivor"
	})
	e.waitFor(90*time.Second, "the interrupted job to be rescued and worked again", func() bool {
		jobs := e.runJobs(id, first)
		return len(jobs) == 1 && jobs[0].State == "completed"
	})

	if got := e.claims()[slotKey(id.String(), first)]; got != "killed" {
		t.Errorf("the first slot is claimed by %q, want the killed replica", got)
	}
	if calls, want := e.calls(id, first), []string{"killed:running", "survivor:claimed already"}; !slices.Equal(calls, want) {
		t.Errorf("calls for the first slot %q, want %q: the killed call, then the rescued job's, which must not run it again", calls, want)
	}
	job := e.runJobs(id, first)[0]
	if job.Attempt != 2 || !slices.Equal(job.Errors, []string{"Stuck job rescued by JobRescuer"}) || len(job.Replicas) != 2 || job.Replicas[0] == job.Replicas[1] {
		t.Errorf("the first slot's job %+v; want a second attempt, by another client, after River's rescue", job)
	}
	if calls := e.calls(id, second); !slices.Equal(calls, []string{"survivor:ran"}) {
		t.Errorf("calls for the second slot %q, want the survivor's", calls)
	}
}

package backup

// The runner is not part of the package's API; its tests reach it through these.
type (
	Runner        = runner
	RunnerOptions = runnerOptions
	Job           = job
)

// NewRunner is newRunner, for the runner's tests.
var NewRunner = newRunner

// Tracker is the progress a job reports, for the runner's tests.
type Tracker = tracker

// NewTracker starts tracking the backup's operation.
var NewTracker = newTracker

// Set raises the tracker's counts.
func (t *tracker) Set(done, total int64) { t.set(done, total) }

package backup

// The runner is not part of the package's API; its tests reach it through these.
type (
	Runner        = runner
	RunnerOptions = runnerOptions
	Job           = job
)

// NewRunner is newRunner, for the runner's tests.
var NewRunner = newRunner

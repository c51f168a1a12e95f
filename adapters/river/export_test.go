package spriver

// OptionsWithDefaults is Options with its defaults applied, for the test of
// what they are.
var OptionsWithDefaults = Options.withDefaults

// RunKind is the kind of a scheduled run's job in river_job.
const RunKind = runKind

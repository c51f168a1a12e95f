//go:build !race

package s3_test

// raceEnabled reports a -race build (see race_test.go).
const raceEnabled = false

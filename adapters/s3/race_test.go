//go:build race

package s3_test

// raceEnabled: the race detector makes sync.Pool drop a quarter of what is put
// back, so pooled buffers (crypto/tls records) become garbage that a normal build
// never produces.
const raceEnabled = true

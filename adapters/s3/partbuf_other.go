//go:build !linux

package s3

const partsOutsideHeap = false

// allocPart allocates a part buffer on the Go heap (see partBuffers).
func allocPart(size int) ([]byte, error) { return make([]byte, size), nil }

// releasePart keeps a heap buffer as it is, for the next Put to reuse.
func releasePart([]byte) {}

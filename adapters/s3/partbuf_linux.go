package s3

import "syscall"

const partsOutsideHeap = true

// allocPart maps anonymous memory for a part buffer, outside the Go heap.
func allocPart(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

// releasePart gives a buffer's pages back to the operating system; the mapping
// stays, reading as zeros until written again.
func releasePart(b []byte) {
	// Only an invalid range could fail, and b is a whole mapping from allocPart;
	// a failure would leave the pages resident, which is all it would cost.
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
}

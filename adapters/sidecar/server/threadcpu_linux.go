package server

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the CPU time the calling thread has used, for a goroutine locked
// to its thread: what a piece of work cost, whatever else runs meanwhile. It
// reads the scheduler's own account (CLOCK_THREAD_CPUTIME_ID), exact to the
// nanosecond, where getrusage counts in clock ticks.
func threadCPU() time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

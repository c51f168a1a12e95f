package server

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time the calling thread has used, for a goroutine locked
// to its thread: what a piece of work cost, whatever else runs meanwhile.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

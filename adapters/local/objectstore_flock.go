//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package local

import (
	"errors"
	"os"
	"syscall"
)

// flockAvailable: this system has flock, so a temp file's lock tells whether
// its writer is alive.
const flockAvailable = true

// tryLock takes an exclusive flock on f without waiting and reports whether it
// got it; false means another open file description holds it. The lock belongs
// to f's open file description, so it conflicts with one taken through any
// other open of the file, by this process or another, and the kernel drops it
// when the last descriptor of f is closed, however the process ends.
func tryLock(f *os.File) (bool, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lockErr error
	err = conn.Control(func(fd uintptr) {
		for {
			lockErr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(lockErr, syscall.EINTR) {
				return
			}
		}
	})
	if err != nil {
		return false, err
	}
	if errors.Is(lockErr, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return lockErr == nil, lockErr
}

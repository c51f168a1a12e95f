//go:build unix

package testenv

import "syscall"

// Freeze stops the process with SIGSTOP, so it cannot react to anything that
// happens until it is killed: a test that means two processes to crash at once
// freezes one before killing the other.
func (p *Process) Freeze() {
	if !p.Exited() {
		p.cmd.Process.Signal(syscall.SIGSTOP)
	}
}

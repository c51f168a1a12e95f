//go:build !linux

package testenv

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death signal; a
// server then outlives a test binary that dies without running its cleanups.
func dieWithParent(*exec.Cmd) {}

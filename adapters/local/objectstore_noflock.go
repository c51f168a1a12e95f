//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package local

import (
	"errors"
	"os"
)

// flockAvailable: without flock a live writer's temp file looks like a dead
// one's, so only their age can separate them.
const flockAvailable = false

func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

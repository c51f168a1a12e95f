//go:build !(linux || darwin)

package server

import (
	"io/fs"
	"os"
	"time"
)

const openNonblock = 0

// statfsFree reports no limit where free space cannot be queried: the write then
// fails with ENOSPC instead of being refused up front.
func statfsFree(*os.File) (int64, error) { return 1<<63 - 1, nil }

func owner(fs.FileInfo) (uid, gid int) { return 0, 0 }

// setModTime is a no-op where futimes is unavailable: times are cosmetic.
func setModTime(*os.File, time.Time) error { return nil }

// fileIDOf knows no identity here: recovery then never acts on what it finds.
func fileIDOf(fs.FileInfo) fileID { return fileID{} }

// lockFile cannot lock here: running two servers on one state directory is up to
// the operator to avoid.
func lockFile(*os.File) error { return nil }

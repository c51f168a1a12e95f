//go:build linux || darwin

package server

import (
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openNonblock keeps an open from blocking on a FIFO that replaced a regular file
// between listing a directory and opening the file; it changes nothing for regular
// files.
const openNonblock = syscall.O_NONBLOCK

func statfsFree(f *os.File) (int64, error) {
	var st syscall.Statfs_t
	conn, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var serr error
	if err := conn.Control(func(fd uintptr) { serr = syscall.Fstatfs(int(fd), &st) }); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, os.NewSyscallError("fstatfs", serr)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// owner reports the numeric owner of a file, which archives record for people who
// unpack them by hand (the sidecar itself ignores ownership when extracting).
func owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// setModTime sets an open file's modification (and access) time.
func setModTime(f *os.File, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	tv := syscall.NsecToTimeval(t.UnixNano())
	var serr error
	if err := conn.Control(func(fd uintptr) { serr = syscall.Futimes(int(fd), []syscall.Timeval{tv, tv}) }); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("futimes", serr)
	}
	return nil
}

// fileIDOf returns the device and inode of the file info describes.
func fileIDOf(info fs.FileInfo) fileID {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	}
	return fileID{}
}

// lockFile takes an exclusive lock on f without waiting; it is released when f
// is closed, or when the process dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

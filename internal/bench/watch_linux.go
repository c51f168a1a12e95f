package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// DirUsage is what a directory held while it was watched.
type DirUsage struct {
	// PeakBytes is the most bytes its regular files held at once.
	PeakBytes int64 `json:"peak_bytes"`
	// FilesCreated counts the files created in it, however short-lived.
	FilesCreated int `json:"files_created"`
	// Names lists every name a file had in it (created, or renamed to), in order.
	Names []string `json:"names,omitempty"`
	// Left lists what was still there when the watch stopped.
	Left []string `json:"left,omitempty"`
}

// DirWatch records the files that appear in one directory (not its
// subdirectories) and the most bytes it holds at once. It works from inotify
// events rather than by sampling: every create, write, rename and delete in the
// directory is an event, and the directory is measured after each batch of
// events, so even a file that lives for a millisecond is counted, and a file's
// size is seen after its last write.
type DirWatch struct {
	dir  string
	f    *os.File
	done chan struct{}

	mu      sync.Mutex
	usage   DirUsage
	stopped bool
	err     error
}

// inotify events that can change what the directory holds.
const watchMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_CLOSE_WRITE |
	syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM | syscall.IN_DELETE

// WatchDir starts watching dir, which must exist.
func WatchDir(dir string) (*DirWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watching %s: inotify: %w", dir, err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, watchMask); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	// A non-blocking descriptor makes the File pollable, so reads honour deadlines.
	w := &DirWatch{dir: dir, f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{})}
	w.measure()
	go w.loop()
	return w, nil
}

func (w *DirWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				w.mu.Lock()
				w.err = fmt.Errorf("watching %s: %w", w.dir, err)
				w.mu.Unlock()
			}
			return
		}
		w.events(buf[:n])
		w.measure()
	}
}

// events records the names that appeared.
func (w *DirWatch) events(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) >= syscall.SizeofInotifyEvent {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := syscall.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			return
		}
		name := string(b[syscall.SizeofInotifyEvent:end])
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		if ev.Mask&syscall.IN_ISDIR == 0 {
			if ev.Mask&syscall.IN_CREATE != 0 {
				w.usage.FilesCreated++
			}
			if ev.Mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0 {
				w.usage.Names = append(w.usage.Names, name)
			}
		}
		b = b[end:]
	}
}

// measure adds up the sizes of the directory's regular files.
func (w *DirWatch) measure() {
	var total int64
	entries, _ := os.ReadDir(w.dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
	}
	w.mu.Lock()
	w.usage.PeakBytes = max(w.usage.PeakBytes, total)
	w.mu.Unlock()
}

// Stop reads the events still queued, stops watching, and returns what the
// directory held.
func (w *DirWatch) Stop() (DirUsage, error) {
	w.mu.Lock()
	if w.stopped {
		defer w.mu.Unlock()
		return w.usage, w.err
	}
	w.stopped = true
	w.mu.Unlock()
	// Events already queued are read before the deadline passes.
	w.f.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	<-w.done
	w.f.Close()
	w.measure()
	left, err := listFiles(w.dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.usage.Left = left
	return w.usage, errors.Join(w.err, err)
}

// listFiles returns the names of the entries of dir, sorted.
func listFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Base(e.Name()))
	}
	slices.Sort(names)
	return names, nil
}

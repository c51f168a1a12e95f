package server

import (
	"io/fs"
	"os"
	"path"
	"sync"
)

// removeWorkers is how many unlinks removeTree keeps in flight.
const removeWorkers = 16

// removeTree removes dir, inside root, and everything beneath it, as
// root.RemoveAll does, but with removeWorkers unlinks in flight. Removing a
// large tree is mostly waiting: for the file system to free each file's blocks
// and, where it is mounted with discard, for the device to take the discards.
// Those waits overlap across files, so more unlinks than CPUs run at once: the
// 256 MiB game tree of BenchmarkRemoveTree went 1.6 times as fast as with
// RemoveAll with 16 in flight, and no faster with 2 (ext4 mounted with
// discard). Links are removed, never followed, and every removal goes through
// root.
func removeTree(root *os.Root, dir string) error {
	files := make(chan string, 256)
	var wg sync.WaitGroup
	for range removeWorkers {
		wg.Go(func() {
			for name := range files {
				_ = root.Remove(name) // what fails here fails RemoveAll below
			}
		})
	}
	_ = fs.WalkDir(root.FS(), dir, func(name string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files <- name
		}
		return nil // a directory that cannot be listed is left to RemoveAll
	})
	close(files)
	wg.Wait()
	// The directories, now empty, and whatever the walk could not take.
	return root.RemoveAll(path.Clean(dir))
}

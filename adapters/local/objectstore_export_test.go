package local

// FlockAvailable reports whether Puts lock their temp files on this system.
const FlockAvailable = flockAvailable

// OpenObjectStoreWithoutFlock opens dir as a store behaves on a system without
// flock: temp files are not locked, and only their age tells a dead writer's.
func OpenObjectStoreWithoutFlock(dir string) (*ObjectStore, error) {
	return openObjectStore(dir, false)
}

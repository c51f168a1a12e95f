package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// The journal is how the server knows which files in the roots are its own. A
// customer can give a file any name, so a name proves nothing: before the server
// creates a temporary file or directory in a root it records it in a journal
// entry in the state directory, outside every root, and it deletes the entry once
// the entity is committed or removed. Only what an entry describes is ever
// treated as the server's, and only when the file found under that name is the
// very one the server created (same device and inode).
//
// An entry is one JSON file, StateDir/journal/<16 hex digits>.json, written under
// a temporary name, synced and renamed into place:
//
//	{"version": 1, "kind": "temp" | "extract",
//	 "root": "/data",                       the root, as configured
//	 "dir": "world/region",                 the directory holding the entities, relative to root
//	 "dir_id": {"dev": 2049, "ino": 131},   that directory's identity when the entry was made
//	 "temp": ".savepoint-tmp-<hex>",        kind temp: a file being written
//	 "staging": ".savepoint-restore-<hex>", kind extract: where the archive is unpacked,
//	 "old": ".savepoint-old-<hex>",         the destination's previous entries during the swap,
//	 "new": ".savepoint-new-<hex>",         and the staging directory once past the commit point
//	 "ids": {"<name>": {"dev": …, "ino": …}}  each entity's identity once it exists}
//
// The entities of an extraction live directly in its destination, which is the
// entry's directory. The staging directory becomes the new one by a rename, so
// both names carry the same identity.
//
// Entries of calls running now are also held in memory; recovery only acts on
// the others, which a dead process left, or a call that ended without managing
// to remove its entity. Nothing is written into an entity before its identity is
// recorded, so one that a process left between the two is empty (see settle).
const journalVersion = 1

const (
	kindTemp    = "temp"
	kindExtract = "extract"
)

// fileID identifies a file or directory, whatever its name: its device and inode.
type fileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// known reports whether id was taken from a file. Where the platform has no
// inodes, nothing is ever known, and recovery never acts.
func (id fileID) known() bool { return id != fileID{} }

// record is one journal entry; see the journal's description above.
type record struct {
	Version int               `json:"version"`
	Kind    string            `json:"kind"`
	Root    string            `json:"root"`
	Dir     string            `json:"dir"`
	DirID   fileID            `json:"dir_id"`
	Temp    string            `json:"temp,omitempty"`
	Staging string            `json:"staging,omitempty"`
	Old     string            `json:"old,omitempty"`
	New     string            `json:"new,omitempty"`
	IDs     map[string]fileID `json:"ids,omitempty"`

	id string // the entry's file name, without .json
}

// names are the names of the entities the record describes.
func (r *record) names() []string {
	if r.Kind == kindTemp {
		return []string{r.Temp}
	}
	return []string{r.Staging, r.Old, r.New}
}

// place is a directory in a root, as a journal entry names it.
type place struct {
	root string // the root, as configured
	dir  string // relative to root, slash-separated
	id   fileID
}

// journal records the server's temporary entities; see above. A nil *journal
// records nothing (Extract, which runs without a server, uses one) but still
// tells an extraction which entities are its own.
type journal struct {
	dir  string // StateDir/journal
	lock *os.File
	log  *slog.Logger

	mu    sync.Mutex
	owned map[string]*record // entries of calls running now, by id
	// live maps an entity name to the directories holding a live entity of that
	// name, for archives and swaps to leave out without taking mu. Replaced whole
	// whenever owned changes, which is a few times per call.
	live      atomic.Pointer[map[string][]fileID]
	closeOnce sync.Once
}

// openJournal takes the state directory for this server: it creates it, locks
// it so that no other server shares it, and removes entries that were never
// renamed into place.
func openJournal(stateDir string, log *slog.Logger) (*journal, error) {
	dir := filepath.Join(stateDir, "journal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the state directory: %w", err)
	}
	lockPath := filepath.Join(stateDir, "lock")
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the state directory's lock: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("the state directory %s is in use by another sidecar (%s is locked: %w); each sidecar needs its own", stateDir, lockPath, err)
	}
	j := &journal{dir: dir, lock: lock, log: log, owned: map[string]*record{}}
	j.live.Store(&map[string][]fileID{})
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	return j, nil
}

// close releases the state directory.
func (j *journal) close() {
	if j != nil {
		j.closeOnce.Do(func() { j.lock.Close() })
	}
}

// begin records r before its entities are created, and marks them live.
func (j *journal) begin(r *record) error {
	r.Version, r.id = journalVersion, randomSuffix()
	if j == nil {
		return nil
	}
	j.mu.Lock()
	j.owned[r.id] = r
	j.publish()
	j.mu.Unlock()
	if err := j.write(r); err != nil {
		j.release(r)
		return err
	}
	return nil
}

// created records the identity of an entity of r that now exists.
func (j *journal) created(r *record, name string, id fileID) error {
	if r.IDs == nil {
		r.IDs = map[string]fileID{}
	}
	r.IDs[name] = id
	if r.Kind == kindExtract && name == r.Staging {
		r.IDs[r.New] = id // renamed, not recreated, at the commit point
	}
	if j == nil {
		return nil
	}
	return j.write(r)
}

// end deletes r once its entities are committed or removed.
func (j *journal) end(r *record) {
	if j == nil {
		return
	}
	if err := os.Remove(j.path(r.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		j.log.Warn("could not delete a journal entry; it is acted on, harmlessly, at the next start", "entry", j.path(r.id), "error", err)
	}
	j.release(r)
}

// abandon gives up r while its entities may remain: the entry stays, for the next
// start or extraction into the same directory to finish the job.
func (j *journal) abandon(r *record) {
	if j != nil {
		j.release(r)
	}
}

func (j *journal) release(r *record) {
	j.mu.Lock()
	delete(j.owned, r.id)
	j.publish()
	j.mu.Unlock()
}

// publish rebuilds the live map from owned; j.mu is held.
func (j *journal) publish() {
	m := map[string][]fileID{}
	for _, r := range j.owned {
		for _, n := range r.names() {
			m[n] = append(m[n], r.DirID)
		}
	}
	j.live.Store(&m)
}

// isLive reports whether the entity name in the directory dir belongs to a call
// running now.
func (j *journal) isLive(dir fileID, name string) bool {
	if j == nil {
		return false
	}
	for _, d := range (*j.live.Load())[name] {
		if d == dir {
			return true
		}
	}
	return false
}

// liveName reports whether some directory holds a live entity called name: the
// cheap test archives make before they look up a directory's identity.
func (j *journal) liveName(name string) bool {
	if j == nil {
		return false
	}
	_, ok := (*j.live.Load())[name]
	return ok
}

func (j *journal) path(id string) string { return filepath.Join(j.dir, id+".json") }

// write stores r durably: a crash must not leave an entity without its entry.
func (j *journal) write(r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := j.path(r.id) + ".tmp"
	if err := writeSynced(tmp, b); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recording a temporary file in the journal: %w", err)
	}
	if err := os.Rename(tmp, j.path(r.id)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("recording a temporary file in the journal: %w", err)
	}
	if d, err := os.Open(j.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func writeSynced(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pending returns the entries no running call owns, for which keep is true. An
// entry that cannot be read is logged and left.
func (j *journal) pending(keep func(*record) bool) []*record {
	if j == nil {
		return nil
	}
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		j.log.Error("could not read the journal", "dir", j.dir, "error", err)
		return nil
	}
	var out []*record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		j.mu.Lock()
		_, owned := j.owned[id]
		j.mu.Unlock()
		if owned {
			continue
		}
		b, err := os.ReadFile(j.path(id))
		if errors.Is(err, fs.ErrNotExist) {
			continue // its call just ended
		}
		r := &record{}
		if err == nil {
			err = json.Unmarshal(b, r)
		}
		if err == nil && (r.Version != journalVersion || (r.Kind != kindTemp && r.Kind != kindExtract)) {
			err = fmt.Errorf("version %d, kind %q: not this server's format", r.Version, r.Kind)
		}
		if err != nil {
			j.log.Error("leaving a journal entry this server cannot read", "entry", j.path(id), "error", err)
			continue
		}
		r.id = id
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// drop deletes the entry of a record that recovery settled.
func (j *journal) drop(r *record) {
	if err := os.Remove(j.path(r.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		j.log.Warn("could not delete a settled journal entry", "entry", j.path(r.id), "error", err)
	}
}

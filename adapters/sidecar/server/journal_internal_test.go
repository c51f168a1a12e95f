package server

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// deadJournal writes journal entries into stateDir the way a server does, without
// taking the state directory's lock: what a process that died left.
func deadJournal(t *testing.T, stateDir string) *journal {
	t.Helper()
	dir := filepath.Join(stateDir, "journal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	j := &journal{dir: dir, log: slog.New(slog.DiscardHandler), owned: map[string]*record{}}
	j.live.Store(&map[string][]fileID{})
	return j
}

// tree lists the regular files and directories below dir with the files'
// contents; directories map to "/".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "/"
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var diffs []string
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			diffs = append(diffs, "  "+name+": got "+strings.TrimSpace(g)+", want "+w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, "  unexpected "+name+" ("+g+")")
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Fatalf("%s:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// interrupted leaves in dest (relative to root) what an extraction that died at
// step left: "staged" (the archive half unpacked into staging), "aside" (old
// entries half moved aside) or "committed" (staging renamed to new, half of it
// moved in). The old contents are old.txt and world/level.dat; the new ones
// new.txt and world/new.dat.
func interrupted(t *testing.T, j *journal, root, dest, step string) {
	t.Helper()
	writeFiles(t, filepath.Join(root, dest), map[string]string{"old.txt": "old", "world/level.dat": "old level"})
	r, err := os.OpenRoot(filepath.Join(root, dest))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info, err := r.Stat(".")
	if err != nil {
		t.Fatal(err)
	}
	suffix := randomSuffix()
	rec := &record{Kind: kindExtract, Root: root, Dir: dest, DirID: fileIDOf(info),
		Staging: stagingPrefix + suffix, Old: oldPrefix + suffix, New: newPrefix + suffix}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(j.begin(rec))
	must(r.Mkdir(rec.Staging, 0o700))
	must(recordCreated(r, j, rec, rec.Staging))
	writeFiles(t, filepath.Join(root, dest, rec.Staging), map[string]string{"new.txt": "new", "world/new.dat": "new level"})
	if step == "staged" {
		return
	}
	must(r.Mkdir(rec.Old, 0o700))
	must(recordCreated(r, j, rec, rec.Old))
	must(r.Rename("world", path.Join(rec.Old, "world")))
	if step == "aside" {
		return
	}
	must(r.Rename("old.txt", path.Join(rec.Old, "old.txt")))
	must(r.Rename(rec.Staging, rec.New))
	must(r.Rename(path.Join(rec.New, "new.txt"), "new.txt"))
}

func TestStartupSettlesWhatTheJournalRecords(t *testing.T) {
	root, tmp, state := t.TempDir(), t.TempDir(), t.TempDir()
	j := deadJournal(t, state)
	// Interrupted extractions, at each step, in subdirectories of a root.
	interrupted(t, j, root, "staged", "staged")
	interrupted(t, j, root, "aside", "aside")
	interrupted(t, j, root, "deep/committed", "committed")
	// A write into a subdirectory that died, beside a customer's file with the
	// same kind of name.
	writeFiles(t, root, map[string]string{"deep/.savepoint-tmp-0123456789abcdef": "the customer's", "tmpdir/keep.txt": "keep"})
	out, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	loc, _ := locate([]string{root}, filepath.Join(root, "deep", "upload.bin"))
	tf, err := createTemp(j, out, loc)
	if err != nil {
		t.Fatal(err)
	}
	tf.WriteString("half an upload")
	tf.Close()
	tf.dir.Close()
	// A temporary file whose name a customer's file took after the sidecar's was
	// moved away (kept, so that its inode is not reused): not the recorded file,
	// so not the sidecar's.
	loc, _ = locate([]string{root}, filepath.Join(root, "tmpdir", "x"))
	gone, err := createTemp(j, out, loc)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	gone.dir.Close()
	if err := os.Rename(filepath.Join(root, "tmpdir", gone.tmp), filepath.Join(root, "tmpdir", "moved")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, root, map[string]string{"tmpdir/" + gone.tmp: "the customer's, named alike"})

	// Entities whose identities were never recorded (the process died right after
	// creating them): removed only while they hold nothing.
	for _, dir := range []string{"unrecorded-empty", "unrecorded-full"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		rec := &record{Kind: kindExtract, Root: root, Dir: dir, DirID: fileIDOf(info), Staging: stagingPrefix + "s", Old: oldPrefix + "s", New: newPrefix + "s"}
		if err := j.begin(rec); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{rec.Staging, rec.Old} {
			if err := os.Mkdir(filepath.Join(root, dir, name), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFiles(t, root, map[string]string{"unrecorded-full/" + stagingPrefix + "s/f": "kept", "unrecorded-full/" + oldPrefix + "s/f": "kept"})

	srv, err := New(Options{Roots: []string{root, tmp}, ArchiveDir: tmp, StateDir: state, AllowUnauthenticated: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	sameFiles(t, "the root after the restart", tree(t, root), map[string]string{
		"unrecorded-empty": "/", "unrecorded-full": "/",
		"unrecorded-full/" + stagingPrefix + "s": "/", "unrecorded-full/" + stagingPrefix + "s/f": "kept",
		"unrecorded-full/" + oldPrefix + "s": "/", "unrecorded-full/" + oldPrefix + "s/f": "kept",
		// Before the commit point: rolled back.
		"staged": "/", "staged/old.txt": "old", "staged/world": "/", "staged/world/level.dat": "old level",
		"aside": "/", "aside/old.txt": "old", "aside/world": "/", "aside/world/level.dat": "old level",
		// After it: completed.
		"deep": "/", "deep/committed": "/", "deep/committed/new.txt": "new", "deep/committed/world": "/", "deep/committed/world/new.dat": "new level",
		"deep/.savepoint-tmp-0123456789abcdef": "the customer's",
		"tmpdir":                               "/", "tmpdir/keep.txt": "keep", "tmpdir/" + gone.tmp: "the customer's, named alike", "tmpdir/moved": "",
	})
	if entries, _ := os.ReadDir(filepath.Join(state, "journal")); len(entries) != 0 {
		t.Fatalf("the journal still holds %d entries", len(entries))
	}
}

func TestExtractionSettlesAnInterruptedOneFirst(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	srv, err := New(Options{Roots: []string{root}, StateDir: state, AllowUnauthenticated: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	// A call that could not clean up left a swap past its commit point.
	interrupted(t, deadJournal(t, state), root, "data", "committed")
	f := &fileIOServer{opts: srv.opts, log: srv.log, journal: srv.journal, busy: map[fileID]bool{}}
	if err := os.WriteFile(filepath.Join(root, "restore.tar.gz"), []byte("not an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The archive is refused, so the destination is left as the recovery made it:
	// the interrupted swap completed.
	req := &sidecarpb.ExtractToReq{Source: filepath.Join(root, "restore.tar.gz"), Destination: filepath.Join(root, "data")}
	if _, err := f.ExtractTo(context.Background(), req); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ExtractTo of a corrupt archive: %v, want InvalidArgument", err)
	}
	got := tree(t, root)
	delete(got, "restore.tar.gz")
	sameFiles(t, "the root after the extraction", got, map[string]string{"data": "/", "data/new.txt": "new", "data/world": "/", "data/world/new.dat": "new level"})
	if entries, _ := os.ReadDir(filepath.Join(state, "journal")); len(entries) != 0 {
		t.Fatalf("the journal still holds %d entries", len(entries))
	}
}

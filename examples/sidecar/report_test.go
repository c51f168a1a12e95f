package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// nobody is the unprivileged user the sidecar runs as when the tests run as root,
// for whom permissions do not stop reads.
const nobody = 65534

// unprivileged returns a directory readable by every user, the binary to run the
// sidecar from, and the credential to run it with: the test binary and the
// current user, or when the tests run as root, a copy of the binary that nobody
// can run, and nobody.
func unprivileged(t *testing.T) (dir, bin string, cred *syscall.Credential) {
	t.Helper()
	dir, err := os.MkdirTemp("", "savepoint-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		return dir, os.Args[0], nil
	}
	bin = filepath.Join(dir, "sidecar.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin, &syscall.Credential{Uid: nobody, Gid: nobody}
}

// ownedBySidecar makes a directory the sidecar may write.
func ownedBySidecar(t *testing.T, dir string, cred *syscall.Credential) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

// tarFiles lists a tar.gz's entries, and returns the regular files' contents.
func tarFiles(t *testing.T, r io.Reader) ([]string, map[string]string) {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			sort.Strings(names)
			return names, files
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = string(b)
		}
	}
}

func TestArchivesSkipAndReportUnreadableFiles(t *testing.T) {
	base, bin, cred := unprivileged(t)
	root := filepath.Join(base, "root")
	data := filepath.Join(root, "data")
	for name, content := range map[string]string{"server.properties": "motd=hi", "world/level.dat": "level", "secret.txt": "unreadable", "locked/inside.txt": "unreadable"} {
		p := filepath.Join(data, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(data, "secret.txt"), filepath.Join(data, "locked")} {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(data, "locked"), 0o755) })
	out := filepath.Join(root, "out")
	ownedBySidecar(t, out, cred)
	state := filepath.Join(base, "state")
	ownedBySidecar(t, state, cred)

	const secret = "report-test-secret"
	p := runSidecar(t, bin, cred, []string{"SAVEPOINT_SIDECAR_SECRET=" + secret}, "-roots", root, "-archive-dir", out, "-state-dir", state)
	defer func() {
		if err, log := p.stop(); err != nil {
			t.Errorf("the sidecar exited with %v:\n%s", err, log)
		}
	}()
	c, err := sidecar.Connect(context.Background(), sidecar.Endpoint{Address: p.addr, Secret: secret}, sidecar.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	wantSkipped := []ports.SkippedFile{{Path: "locked", Reason: "permission denied"}, {Path: "secret.txt", Reason: "permission denied"}}
	wantNames := []string{"server.properties", "world/", "world/level.dat"}
	checkArchive := func(t *testing.T, r io.Reader) {
		names, files := tarFiles(t, r)
		if fmt.Sprint(names) != fmt.Sprint(wantNames) || files["server.properties"] != "motd=hi" || files["world/level.dat"] != "level" {
			t.Fatalf("the archive holds %v (%q), want %v intact", names, files, wantNames)
		}
	}
	checkReport := func(t *testing.T, r ports.ArchiveReport) {
		if fmt.Sprint(r.Skipped) != fmt.Sprint(wantSkipped) || r.SkippedCount != 2 || r.Entries != 3 {
			t.Fatalf("report %+v, want 3 entries and skipped %v", r, wantSkipped)
		}
	}
	t.Run("StreamArchive", func(t *testing.T) {
		stream, err := c.StreamArchive(context.Background(), []string{data}, ports.ArchiveOptions{})
		if err != nil {
			t.Fatalf("StreamArchive: %v", err)
		}
		defer stream.Close()
		checkArchive(t, stream)
		io.Copy(io.Discard, stream) // to io.EOF, which brings the report
		checkReport(t, stream.Report())
	})
	t.Run("CompressFiles", func(t *testing.T) {
		archive := filepath.Join(out, "backup.tar.gz")
		report, err := c.CompressFiles(context.Background(), []string{data}, archive, ports.ArchiveOptions{})
		if err != nil {
			t.Fatalf("CompressFiles: %v", err)
		}
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		checkArchive(t, f)
		checkReport(t, report)
	})
}

package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// restoreFixture is a sidecar whose archive directory must stay empty, and a
// destination with contents that a failed restore must leave exactly as they are.
type restoreFixture struct {
	srv        *testServer
	dest       string
	archiveDir string
	state      string
	before     map[string]node
	mtime      time.Time
	extracting chan struct{} // receives once per extraction, when its staging exists
}

func newRestoreFixture(t *testing.T) *restoreFixture {
	t.Helper()
	root, state := t.TempDir(), t.TempDir()
	archiveDir := filepath.Join(root, "tmp")
	if err := os.Mkdir(archiveDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &restoreFixture{archiveDir: archiveDir, state: state, extracting: make(chan struct{}, 16)}
	opts := server.Options{Roots: []string{root}, StateDir: state, ArchiveDir: archiveDir}
	// During every extraction the archive directory is empty: the archive is
	// not staged anywhere.
	var staged atomic.Value
	server.SetExtractingHook(&opts, func() {
		if entries, _ := os.ReadDir(archiveDir); len(entries) > 0 {
			staged.Store(entries[0].Name())
		}
		select {
		case f.extracting <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() {
		if name := staged.Load(); name != nil {
			t.Errorf("%s was in the archive directory during an extraction", name)
		}
	})
	f.srv = startServer(t, opts)
	f.dest = f.srv.mkdir(t, "data")
	for name, content := range map[string]string{"server.properties": "motd=old", "world/level.dat": "old level"} {
		p := filepath.Join(f.dest, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(f.dest, old, old); err != nil {
		t.Fatal(err)
	}
	f.before, f.mtime = snapshot(t, f.dest), old
	return f
}

// restore runs RestoreArchive of archive, announcing size and sum.
func (f *restoreFixture) restore(t *testing.T, archive []byte, size int64, sum string) error {
	t.Helper()
	return f.srv.client(t).RestoreArchive(context.Background(), f.dest, bytes.NewReader(archive), size, sum, nil)
}

// unchanged checks that the destination is exactly as it was, its time
// included, and that nothing of the call is left: no staging directory, no
// journal entry, nothing in the archive directory. The sidecar may finish its
// side of a cancelled call after the client returned: it is given some time.
func (f *restoreFixture) unchanged(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := snapshot(t, f.dest)
		journal, _ := os.ReadDir(filepath.Join(f.state, "journal"))
		if len(got) == len(f.before) && len(journal) == 0 || time.Now().After(deadline) {
			sameTree(t, "the destination", got, f.before)
			if len(journal) != 0 {
				t.Fatalf("the journal holds %d entries", len(journal))
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if info, err := os.Stat(f.dest); err != nil || !info.ModTime().Equal(f.mtime) {
		t.Fatalf("the destination's time changed: %v, want %v (%v)", info.ModTime(), f.mtime, err)
	}
	if entries, _ := os.ReadDir(f.archiveDir); len(entries) > 0 {
		t.Fatalf("the archive directory holds %s", entries[0].Name())
	}
}

// sampleArchive is a real archive of the sidecar's, of a few MiB of files.
func sampleArchive(t *testing.T, srv *testServer) (archive []byte, want map[string]node) {
	t.Helper()
	src := srv.mkdir(t, "src")
	if err := os.MkdirAll(filepath.Join(src, "world", "region"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeRandomFile(t, filepath.Join(src, "world", "region", "r.0.0.mca"), 3<<20, 0o644, 7)
	writeRandomFile(t, filepath.Join(src, "world", "level.dat"), 5000, 0o600, 8)
	if err := os.Symlink("world/level.dat", filepath.Join(src, "level-link")); err != nil {
		t.Fatal(err)
	}
	r, err := srv.client(t).StreamArchive(context.Background(), []string{src}, ports.ArchiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	archive, err = io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return archive, snapshot(t, src)
}

func TestRestoreArchive(t *testing.T) {
	t.Run("restores exactly the archived tree, through the client's read-ahead", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, want := sampleArchive(t, f.srv)
		if err := f.restore(t, archive, int64(len(archive)), sha256Hex(archive)); err != nil {
			t.Fatalf("RestoreArchive: %v", err)
		}
		sameTree(t, "the restored tree", snapshot(t, f.dest), want)
		if entries, _ := os.ReadDir(f.archiveDir); len(entries) > 0 {
			t.Fatalf("the archive directory holds %s", entries[0].Name())
		}
		if journal, _ := os.ReadDir(filepath.Join(f.state, "journal")); len(journal) != 0 {
			t.Fatalf("the journal holds %d entries", len(journal))
		}
	})

	t.Run("a wrong SHA-256 is DataLoss naming both sums, and restores nothing", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, _ := sampleArchive(t, f.srv)
		wrong := strings.Repeat("ab", 32)
		err := f.restore(t, archive, int64(len(archive)), wrong)
		wantCode(t, err, codes.DataLoss, wrong, sha256Hex(archive))
		if !errors.Is(err, ports.ErrArchiveDamaged) {
			t.Fatalf("error %v does not wrap ErrArchiveDamaged", err)
		}
		f.unchanged(t)
	})

	t.Run("fewer bytes than announced are DataLoss naming both sizes, and restore nothing", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, _ := sampleArchive(t, f.srv)
		cut := archive[:len(archive)-100]
		err := f.restore(t, cut, int64(len(archive)), sha256Hex(archive))
		wantCode(t, err, codes.DataLoss, "received", "bytes")
		f.unchanged(t)
	})

	t.Run("more bytes than announced are refused, and restore nothing", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, _ := sampleArchive(t, f.srv)
		err := f.restore(t, archive, int64(len(archive))-1, sha256Hex(archive[:len(archive)-1]))
		wantCode(t, err, codes.DataLoss, "more than its")
		f.unchanged(t)
	})

	t.Run("a byte flipped in the middle of a real archive is DataLoss, not a refused archive", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, _ := sampleArchive(t, f.srv)
		sum := sha256Hex(archive)
		bad := bytes.Clone(archive)
		bad[len(bad)/2] ^= 0x40
		wantCode(t, f.restore(t, bad, int64(len(bad)), sum), codes.DataLoss, sum)
		f.unchanged(t)
	})

	t.Run("a hostile archive with the right sum is refused naming the entry", func(t *testing.T) {
		f := newRestoreFixture(t)
		hostile := tarGz(t, file("ok.txt", "ok"), file("../escaped.txt", "pwned"))
		err := f.restore(t, hostile, int64(len(hostile)), sha256Hex(hostile))
		wantCode(t, err, codes.InvalidArgument, `"../escaped.txt"`)
		f.unchanged(t)
		if _, err := os.Lstat(filepath.Join(filepath.Dir(f.dest), "escaped.txt")); err == nil {
			t.Fatal("escaped.txt was written")
		}
	})

	t.Run("a call cancelled mid-stream leaves the destination as it was", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, _ := sampleArchive(t, f.srv)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src := &stallingReader{data: archive[:len(archive)/2], ctx: ctx}
		done := make(chan error, 1)
		go func() {
			done <- f.srv.client(t).RestoreArchive(ctx, f.dest, src, int64(len(archive)), sha256Hex(archive), nil)
		}()
		<-f.extracting
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want one matching context.Canceled", err)
		}
		f.unchanged(t)
	})

	t.Run("a second extraction into the destination while one runs is Aborted", func(t *testing.T) {
		f := newRestoreFixture(t)
		archive, want := sampleArchive(t, f.srv)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- f.srv.client(t).RestoreArchive(context.Background(), f.dest, pr, int64(len(archive)), sha256Hex(archive), nil)
		}()
		if _, err := pw.Write(archive[:len(archive)/2]); err != nil {
			t.Fatal(err)
		}
		<-f.extracting
		err := f.restore(t, archive, int64(len(archive)), sha256Hex(archive))
		wantCode(t, err, codes.Aborted, "another extraction")
		staged := filepath.Join(f.archiveDir, "restore.tar.gz")
		if err := os.WriteFile(staged, archive, 0o600); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.srv.client(t).ExtractTo(context.Background(), staged, f.dest, nil), codes.Aborted, "another extraction")
		os.Remove(staged)
		if _, err := pw.Write(archive[len(archive)/2:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatalf("the first restore: %v", err)
		}
		sameTree(t, "the restored tree", snapshot(t, f.dest), want)
	})
}

// stallingReader yields data, then waits for ctx and fails with its error.
type stallingReader struct {
	data []byte
	ctx  context.Context
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// rawRestore opens a RestoreArchive stream without the client, to send what the
// client never sends.
func rawRestore(t *testing.T, srv *testServer) sidecarpb.FileIO_RestoreArchiveClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+srv.Opts.Secret)
	stream, err := sidecarpb.NewFileIOClient(conn).RestoreArchive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

// answer closes the sending side and returns the stream's final status,
// skipping an "accepted" message.
func answer(stream sidecarpb.FileIO_RestoreArchiveClient) error {
	stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			return err
		}
	}
}

func TestRestoreArchiveRefusesBadRequests(t *testing.T) {
	f := newRestoreFixture(t)
	good := strings.Repeat("0", 64)
	header := func(dest string, size int64, sum string) *sidecarpb.RestoreArchiveRequest {
		return &sidecarpb.RestoreArchiveRequest{Msg: &sidecarpb.RestoreArchiveRequest_Header{Header: &sidecarpb.RestoreArchiveHeader{Destination: dest, Size: size, Sha256: sum}}}
	}
	data := &sidecarpb.RestoreArchiveRequest{Msg: &sidecarpb.RestoreArchiveRequest_Data{Data: []byte("data")}}
	file := f.srv.path("a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		msgs []*sidecarpb.RestoreArchiveRequest
		code codes.Code
		want string
	}{
		{name: "an empty stream", code: codes.InvalidArgument, want: "header"},
		{name: "data before the header", msgs: []*sidecarpb.RestoreArchiveRequest{data}, code: codes.InvalidArgument, want: "header"},
		{name: "the header twice", msgs: []*sidecarpb.RestoreArchiveRequest{header(f.dest, 100, good), header(f.dest, 100, good)}, code: codes.InvalidArgument, want: "twice"},
		{name: "a relative destination", msgs: []*sidecarpb.RestoreArchiveRequest{header("data", 100, good)}, code: codes.InvalidArgument},
		{name: "a destination outside the roots", msgs: []*sidecarpb.RestoreArchiveRequest{header("/etc", 100, good)}, code: codes.PermissionDenied},
		{name: "a destination that is a file", msgs: []*sidecarpb.RestoreArchiveRequest{header(file, 100, good)}, code: codes.FailedPrecondition, want: "not a directory"},
		{name: "a negative size", msgs: []*sidecarpb.RestoreArchiveRequest{header(f.dest, -1, good)}, code: codes.InvalidArgument, want: "size"},
		{name: "a short sha256", msgs: []*sidecarpb.RestoreArchiveRequest{header(f.dest, 100, "abc")}, code: codes.InvalidArgument, want: "sha256"},
		{name: "an upper-case sha256", msgs: []*sidecarpb.RestoreArchiveRequest{header(f.dest, 100, strings.Repeat("AB", 32))}, code: codes.InvalidArgument, want: "sha256"},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			stream := rawRestore(t, f.srv)
			for _, m := range tc.msgs {
				if err := stream.Send(m); err != nil && err != io.EOF {
					t.Fatal(err)
				}
			}
			err := answer(stream)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code %s, want %s (%v)", got, tc.code, err)
			}
			if !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("message %q does not mention %q", status.Convert(err).Message(), tc.want)
			}
			f.unchanged(t)
		})
	}

	t.Run("refuses an unknown format", func(t *testing.T) {
		stream := rawRestore(t, f.srv)
		m := header(f.dest, 100, good)
		m.GetHeader().Format = 99
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
		if err := answer(stream); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("error %v, want InvalidArgument", err)
		}
	})
}

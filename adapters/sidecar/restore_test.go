package sidecar_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

var anySum = strings.Repeat("0", 64)

// restoringSidecar accepts every RestoreArchive header, reads data until it has
// read stopAfter bytes or the end, and answers with answer. It reports the error
// its last Recv returned.
type restoringSidecar struct {
	sidecarpb.UnimplementedFileIOServer
	stopAfter int64
	answer    error
	recvErr   chan error
}

func (s *restoringSidecar) RestoreArchive(stream sidecarpb.FileIO_RestoreArchiveServer) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	if err := stream.Send(&sidecarpb.RestoreArchiveResponse{}); err != nil {
		return err
	}
	var n int64
	for s.stopAfter == 0 || n < s.stopAfter {
		msg, err := stream.Recv()
		if err != nil {
			if s.recvErr != nil {
				s.recvErr <- err
			}
			if err != io.EOF {
				return err
			}
			break
		}
		n += int64(len(msg.GetData()))
	}
	if s.answer != nil {
		return s.answer
	}
	return stream.Send(&sidecarpb.RestoreArchiveResponse{Entries: 1, Bytes: n})
}

// countingReader counts what is read from it and the reads in progress.
type countingReader struct {
	r      io.Reader
	n      atomic.Int64
	active atomic.Int32
	delay  time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.active.Add(1)
	defer c.active.Add(-1)
	time.Sleep(c.delay)
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// failingReader yields n bytes, then fails with err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func TestClientRestoreArchive(t *testing.T) {
	ctx := context.Background()

	t.Run("a sidecar without it reports ErrUnsupported before reading anything", func(t *testing.T) {
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, sidecarpb.UnimplementedFileIOServer{}, "")})
		src := &countingReader{r: bytes.NewReader(make([]byte, 1000))}
		err := c.RestoreArchive(ctx, "/data", src, 1000, anySum, nil)
		if !errors.Is(err, ports.ErrUnsupported) || errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrUnsupported (not ErrCluster)", err)
		}
		if n := src.n.Load(); n != 0 {
			t.Fatalf("%d bytes were read from the archive", n)
		}
	})

	t.Run("a refused header fails with ErrCluster before reading anything", func(t *testing.T) {
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, &refusingSidecar{}, "")})
		src := &countingReader{r: bytes.NewReader(make([]byte, 1000))}
		err := c.RestoreArchive(ctx, "/data", src, 1000, anySum, nil)
		if !errors.Is(err, ports.ErrCluster) || status.Code(err) != codes.Aborted {
			t.Fatalf("error %v, want ErrCluster with Aborted", err)
		}
		if n := src.n.Load(); n != 0 {
			t.Fatalf("%d bytes were read from the archive", n)
		}
	})

	t.Run("DataLoss is ErrArchiveDamaged", func(t *testing.T) {
		fake := &restoringSidecar{answer: status.Error(codes.DataLoss, "the archive is damaged")}
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, fake, "")})
		err := c.RestoreArchive(ctx, "/data", bytes.NewReader(make([]byte, 3<<20)), 3<<20, anySum, nil)
		if !errors.Is(err, ports.ErrArchiveDamaged) || !errors.Is(err, ports.ErrCluster) {
			t.Fatalf("error %v, want ErrArchiveDamaged and ErrCluster", err)
		}
	})

	t.Run("every byte is sent, then the final answer is awaited", func(t *testing.T) {
		fake := &restoringSidecar{}
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, fake, "")})
		if err := c.RestoreArchive(ctx, "/data", bytes.NewReader(make([]byte, 5<<20+7)), 5<<20+7, anySum, nil); err != nil {
			t.Fatal(err)
		}
	})

	// A download cut short ends with io.ErrUnexpectedEOF, which must not pass
	// for the end of the archive.
	for _, broken := range []error{errors.New("the download broke"), io.ErrUnexpectedEOF} {
		t.Run("a source failing with "+broken.Error()+" fails the call and cancels the stream", func(t *testing.T) {
			fake := &restoringSidecar{recvErr: make(chan error, 1)}
			c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, fake, "")})
			err := c.RestoreArchive(ctx, "/data", &failingReader{n: 2<<20 + 5, err: broken}, 10<<20, anySum, nil)
			if !errors.Is(err, broken) {
				t.Fatalf("error %v, want the read error", err)
			}
			select {
			case got := <-fake.recvErr:
				if status.Code(got) != codes.Canceled {
					t.Fatalf("the sidecar's stream ended with %v, want Canceled", got)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the sidecar's stream was not cancelled")
			}
		})
	}

	t.Run("a sidecar that answers before the end is reported with its status, and the source is left alone", func(t *testing.T) {
		fake := &restoringSidecar{stopAfter: 1 << 20, answer: status.Error(codes.InvalidArgument, "received more than announced")}
		c := connect(t, sidecar.Endpoint{Address: fakeSidecar(t, fake, "")})
		const size = 256 << 20
		src := &countingReader{r: io.LimitReader(zeros{}, size), delay: time.Millisecond}
		err := c.RestoreArchive(ctx, "/data", src, size, anySum, nil)
		if !errors.Is(err, ports.ErrCluster) || status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "more than announced") {
			t.Fatalf("error %v, want ErrCluster with the sidecar's InvalidArgument", err)
		}
		if src.active.Load() != 0 {
			t.Fatal("a read of the source was still in progress after RestoreArchive returned")
		}
		n := src.n.Load()
		time.Sleep(50 * time.Millisecond)
		if src.n.Load() != n || n >= size {
			t.Fatalf("the source was read after RestoreArchive returned (%d, then %d of %d bytes)", n, src.n.Load(), size)
		}
	})
}

// refusingSidecar refuses every RestoreArchive header.
type refusingSidecar struct {
	sidecarpb.UnimplementedFileIOServer
}

func (refusingSidecar) RestoreArchive(stream sidecarpb.FileIO_RestoreArchiveServer) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	return status.Error(codes.Aborted, "another extraction is running")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

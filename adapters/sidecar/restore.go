package sidecar

import (
	"context"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// readAheadChunks is how many chunks of the archive RestoreArchive holds: one
// being sent and the rest read ahead, so that a download that stalls for a
// moment does not stall the sidecar's extraction, and the other way round.
const readAheadChunks = 4

// RestoreArchive implements ports.FileIO. The archive is read in a goroutine of
// its own, a few chunks ahead of the sends, so that reading it (a download) and
// sending it overlap. A sidecar without the RPC answers Unimplemented, which
// becomes ports.ErrUnsupported before anything is read from archive; one that
// finds the bytes damaged answers DataLoss, which becomes ports.ErrArchiveDamaged
// (and ports.ErrCluster). When reading archive fails, the call is cancelled (the
// sidecar then removes what it extracted) and the error wraps the read error.
// It returns only once no read of archive is in progress.
func (c *Client) RestoreArchive(ctx context.Context, destination string, archive io.Reader, size int64, sha256 string, keep []string) error {
	if size < 0 {
		return fmt.Errorf("sidecar RestoreArchive %s: invalid size %d", destination, size)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) error { return c.restoreFailed(destination, err) }
	stream, err := c.rpc.RestoreArchive(ctx)
	if err != nil {
		return fail(err)
	}
	hdr := &sidecarpb.RestoreArchiveHeader{Destination: destination, Size: size, Sha256: sha256, Format: sidecarpb.ArchiveFormat_ARCHIVE_FORMAT_TARGZ, Keep: keep}
	// A Send that fails with io.EOF means the sidecar has answered: Recv says how.
	if err := stream.Send(&sidecarpb.RestoreArchiveRequest{Msg: &sidecarpb.RestoreArchiveRequest_Header{Header: hdr}}); err != nil && err != io.EOF {
		return fail(err)
	}
	if _, err := stream.Recv(); err != nil { // accepted or refused: see the proto
		return fail(endOfStream(err))
	}
	ra := startReadAhead(archive, c.opts.ChunkSize, cancel)
	sendErr := sendChunks(stream.Send, ra.full)
	ra.stop()
	if ra.err != nil {
		return fmt.Errorf("sidecar RestoreArchive %s: reading the archive: %w", destination, ra.err)
	}
	if sendErr != nil && sendErr != io.EOF {
		return fail(sendErr)
	}
	if err := stream.CloseSend(); err != nil {
		return fail(err)
	}
	if _, err := stream.Recv(); err != nil {
		return fail(endOfStream(err))
	}
	return nil
}

// endOfStream turns the io.EOF of a stream that ended without the message
// expected into an error.
func endOfStream(err error) error {
	if err == io.EOF {
		return status.Error(codes.Internal, "the sidecar ended the call without an answer")
	}
	return err
}

// restoreFailed maps a failed RestoreArchive: Unimplemented to ErrUnsupported,
// DataLoss to ErrArchiveDamaged, anything else like every other call.
func (c *Client) restoreFailed(destination string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return c.fail("RestoreArchive", destination, err)
	}
	remote := &RemoteError{Code: st.Code(), Message: st.Message()}
	switch st.Code() {
	case codes.Unimplemented:
		return fmt.Errorf("sidecar RestoreArchive: %w: %w", ports.ErrUnsupported, remote)
	case codes.DataLoss:
		return fmt.Errorf("sidecar RestoreArchive %s: %w: %w: %w", destination, ports.ErrArchiveDamaged, ports.ErrCluster, remote)
	}
	return c.fail("RestoreArchive", destination, err)
}

// sendChunks sends every chunk of full, handing each buffer back once sent.
// Send marshals before returning, so one message and the buffers are reused.
func sendChunks(send func(*sidecarpb.RestoreArchiveRequest) error, full <-chan chunkBuf) error {
	msg := &sidecarpb.RestoreArchiveRequest{}
	data := &sidecarpb.RestoreArchiveRequest_Data{}
	msg.Msg = data
	for c := range full {
		data.Data = c.data
		err := send(msg)
		c.done()
		if err != nil {
			return err
		}
	}
	return nil
}

// chunkBuf is a chunk read ahead; done hands its buffer back.
type chunkBuf struct {
	data []byte
	done func()
}

// readAhead reads a source in chunks in its own goroutine, at most
// readAheadChunks ahead.
type readAhead struct {
	full     chan chunkBuf
	free     chan []byte
	quit     chan struct{}
	finished chan struct{}
	once     sync.Once
	err      error // the read error, set before full is closed
}

// startReadAhead starts reading r. A read error cancels the call at once, so
// the sidecar stops extracting without waiting for the chunks still queued.
func startReadAhead(r io.Reader, chunkSize int, cancel context.CancelFunc) *readAhead {
	ra := &readAhead{
		full:     make(chan chunkBuf, readAheadChunks),
		free:     make(chan []byte, readAheadChunks),
		quit:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	for range readAheadChunks {
		ra.free <- make([]byte, chunkSize)
	}
	go ra.run(r, cancel)
	return ra
}

func (ra *readAhead) run(r io.Reader, cancel context.CancelFunc) {
	defer close(ra.finished)
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.quit:
			return
		}
		n, err := fill(r, buf)
		if n > 0 {
			c := chunkBuf{data: buf[:n], done: func() { ra.free <- buf }}
			select {
			case ra.full <- c:
			case <-ra.quit:
				return
			}
		}
		switch err {
		case nil:
		case io.EOF:
			return
		default:
			ra.err = err
			cancel()
			return
		}
	}
}

// fill reads into buf until it is full or r fails. Unlike io.ReadFull it
// passes r's own error on as it is: a download cut short (io.ErrUnexpectedEOF
// from an HTTP body) must not pass for the archive's end.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// stop ends the reading and waits for the goroutine, which may first have to
// finish a read in progress: the caller owns its reader again once
// RestoreArchive returns.
func (ra *readAhead) stop() {
	ra.once.Do(func() { close(ra.quit) })
	<-ra.finished
}

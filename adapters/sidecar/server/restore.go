package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// RestoreArchive extracts the archive while it arrives, into the same staging
// directory as ExtractTo, and swaps it in only once every byte has arrived and
// matched the header's size and SHA-256: the archive never touches the disk, and
// the restore takes about as long as the extraction alone.
func (f *fileIOServer) RestoreArchive(stream sidecarpb.FileIO_RestoreArchiveServer) error {
	if f.opts.DisableRestoreArchive {
		return f.UnimplementedFileIOServer.RestoreArchive(stream)
	}
	start := time.Now()
	msg := &restoreMsg{}
	hdr, err := restoreHeader(stream, msg)
	if err != nil {
		return err
	}
	dst, err := locate(f.opts.Roots, hdr.GetDestination())
	if err != nil {
		return err
	}
	keep, err := keepMatcher(hdr.GetKeep())
	if err != nil {
		return err
	}
	dest, at, err := openDest(dst)
	if err != nil {
		return err
	}
	defer dest.Close()
	release, err := f.claimDest(dest, at, dst.path)
	if err != nil {
		return err
	}
	defer release()
	if err := stream.Send(&sidecarpb.RestoreArchiveResponse{}); err != nil { // accepted: see the proto
		return err
	}
	in := &restoreReader{recv: func() ([]byte, error) { return msg.recvData(stream) }, size: hdr.GetSize(), hash: sha256.New(), path: dst.path}
	var unpacked time.Duration
	verify := func() error {
		unpacked = time.Since(start)
		return in.verify(hdr.GetSha256())
	}
	ctx := stream.Context()
	got, err := extractInto(ctx, in, dest, at, f.opts.Limits, f.journal, f.log, f.opts.hooks, keep, verify)
	if err != nil {
		return in.status(err, hdr.GetSha256())
	}
	if err := stream.Send(&sidecarpb.RestoreArchiveResponse{Entries: int64(got.entries), Bytes: got.bytes}); err != nil {
		return err
	}
	f.log.InfoContext(ctx, "archive restored", "destination", dst.path, "entries", got.entries, "bytes", got.bytes, "archive_bytes", in.n,
		"unpacked_after", unpacked.Round(time.Millisecond), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// restoreHeader receives and validates the stream's first message.
func restoreHeader(stream sidecarpb.FileIO_RestoreArchiveServer, msg *restoreMsg) (*sidecarpb.RestoreArchiveHeader, error) {
	if err := stream.RecvMsg(msg); err == io.EOF {
		return nil, status.Error(codes.InvalidArgument, "empty stream: the first message must carry the header")
	} else if err != nil {
		return nil, err
	}
	hdr := msg.header
	if hdr == nil {
		return nil, status.Error(codes.InvalidArgument, "the first message must carry the header (destination, size, sha256)")
	}
	if err := checkFormat(hdr.GetFormat()); err != nil {
		return nil, err
	}
	if hdr.GetSize() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "invalid size %d: want the archive's size in bytes", hdr.GetSize())
	}
	if !isSHA256(hdr.GetSha256()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid sha256 %q: want 64 lower-case hex digits", hdr.GetSha256())
	}
	return hdr, nil
}

func isSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// restoreReader is the archive of a RestoreArchive call: the data of the
// stream's messages, hashed and counted as they arrive, in the goroutine that
// reads them. It holds one message at a time and never more than size bytes.
// Its first failure other than io.EOF (the stream cut, too many bytes) is kept:
// the extraction only sees a read error, the call answers with this one.
type restoreReader struct {
	recv func() ([]byte, error) // the next data message; valid until the next call
	cur  []byte
	n    int64
	size int64
	hash hash.Hash
	path string
	err  error
}

func (r *restoreReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	k := copy(p, r.cur)
	r.cur = r.cur[k:]
	return k, nil
}

// next receives the next message into cur.
func (r *restoreReader) next() {
	data, err := r.recv()
	switch {
	case err != nil:
		r.err = err
	case int64(len(data)) > r.size-r.n:
		// The size is the one recorded when the archive was stored: an archive
		// that runs past it is not that archive.
		r.err = status.Errorf(codes.DataLoss, "%s: the archive is damaged: received more than its %d bytes; nothing was restored", r.path, r.size)
	default:
		r.hash.Write(data)
		r.n += int64(len(data))
		r.cur = data
	}
}

// drain receives the rest of the stream, up to the caller's end, hashing it
// without copying it anywhere: the checksum covers every byte sent. It returns
// the failure that stopped it, nil at the end of the stream.
func (r *restoreReader) drain() error {
	r.cur = nil
	for r.err == nil {
		r.next()
	}
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// failed returns the reader's own failure, if it had one.
func (r *restoreReader) failed() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// verify drains the stream and checks the bytes against the header.
func (r *restoreReader) verify(want string) error {
	if err := r.drain(); err != nil {
		return err
	}
	return r.damaged(want)
}

// damaged returns a DataLoss status unless exactly size bytes hashing to want
// arrived.
func (r *restoreReader) damaged(want string) error {
	got := hex.EncodeToString(r.hash.Sum(nil))
	switch {
	case r.n != r.size:
		return status.Errorf(codes.DataLoss, "%s: the archive is damaged: received %d bytes but it has %d (SHA-256 %s, want %s); nothing was restored", r.path, r.n, r.size, got, want)
	case got != want:
		return status.Errorf(codes.DataLoss, "%s: the archive is damaged: its SHA-256 is %s, want %s (%d bytes); nothing was restored", r.path, got, want, r.n)
	}
	return nil
}

// status turns the failure of the extraction into the call's answer. The
// reader's own failure comes first: a cut stream or too many bytes is what
// stopped the extraction, whatever it made of it. An archive refused for what
// it holds is first checked against its hash, so that a stored archive that is
// merely damaged is reported as such, and not as a hostile one.
func (r *restoreReader) status(err error, want string) error {
	if ferr := r.failed(); ferr != nil {
		return callStatus(ferr, r.path)
	}
	var ae *ArchiveError
	var ne *NoSpaceError
	if errors.As(err, &ae) || errors.As(err, &ne) {
		if derr := r.drain(); derr != nil {
			return callStatus(derr, r.path)
		}
		if derr := r.damaged(want); derr != nil {
			return derr
		}
	}
	return callStatus(err, r.path)
}

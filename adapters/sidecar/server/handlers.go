package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// callStatus turns any error of a handler into a status: statuses pass through,
// context errors become Canceled or DeadlineExceeded, file-system errors are mapped
// by fsStatus.
func callStatus(err error, path string) error {
	if err == nil {
		return nil
	}
	var ae *ArchiveError
	var ne *NoSpaceError
	switch {
	case errors.As(err, &ae):
		return status.Error(codes.InvalidArgument, ae.Error())
	case errors.As(err, &ne):
		return status.Errorf(codes.ResourceExhausted, "%s: %s", path, ne.Error())
	}
	return fsStatus(err, path)
}

// archiveStatus is callStatus for writeArchive's errors: a source that failed is
// named rather than the output, which is not at fault.
func archiveStatus(err error, output string) error {
	var se *sourceError
	if errors.As(err, &se) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fsStatus(se.err, se.path)
	}
	return callStatus(err, output)
}

func checkFormat(f sidecarpb.ArchiveFormat) error {
	switch f {
	case sidecarpb.ArchiveFormat_ARCHIVE_FORMAT_UNSPECIFIED, sidecarpb.ArchiveFormat_ARCHIVE_FORMAT_TARGZ:
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "unsupported archive format %v: only TARGZ", f)
}

// fileTarget is where a file-producing call writes: a path below a root that is not
// the root itself.
func (f *fileIOServer) fileTarget(p string) (location, *os.Root, error) {
	loc, err := locate(f.opts.Roots, p)
	if err != nil {
		return location{}, nil, err
	}
	if loc.rel == "." {
		return location{}, nil, status.Errorf(codes.InvalidArgument, "%s is a root directory, not a file", loc.path)
	}
	root, err := openRoot(loc)
	if err != nil {
		return location{}, nil, err
	}
	// A directory cannot be replaced by a file; a link to one can (the rename
	// replaces the link).
	if info, err := root.Lstat(loc.rel); err == nil && info.IsDir() {
		root.Close()
		return location{}, nil, status.Errorf(codes.FailedPrecondition, "%s is a directory", loc.path)
	}
	return loc, root, nil
}

// tempFile is a file written under a temporary name beside its final path and
// renamed into place by commit; until then (and if commit is never called) remove
// deletes it, so a failed or cancelled write leaves nothing behind. Its journal
// entry lets the next start remove it if the process dies first.
type tempFile struct {
	*os.File
	dir       *os.Root // the directory holding both names
	journal   *journal
	rec       *record
	tmp, base string
	done      bool
}

// createTemp creates the temporary file for loc, in root.
func createTemp(j *journal, root *os.Root, loc location) (*tempFile, error) {
	parent := filepath.Dir(loc.rel)
	dir, err := root.OpenRoot(parent)
	if err != nil {
		return nil, err
	}
	info, err := dir.Stat(".")
	if err != nil {
		dir.Close()
		return nil, err
	}
	r := &record{Kind: kindTemp, Root: loc.root, Dir: filepath.ToSlash(parent), DirID: fileIDOf(info), Temp: tmpPrefix + randomSuffix()}
	if err := j.begin(r); err != nil {
		dir.Close()
		return nil, err
	}
	t := &tempFile{dir: dir, journal: j, rec: r, tmp: r.Temp, base: filepath.Base(loc.rel)}
	t.File, err = dir.OpenFile(r.Temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		j.end(r)
		dir.Close()
		return nil, err
	}
	fi, err := t.Stat()
	if err == nil {
		err = j.created(r, r.Temp, fileIDOf(fi))
	}
	if err != nil {
		t.remove()
		return nil, err
	}
	return t, nil
}

// commit moves the data to its final name, first making it durable when sync is
// set.
func (t *tempFile) commit(sync bool) error {
	if sync {
		if err := t.Sync(); err != nil {
			return err
		}
	}
	if err := t.Close(); err != nil {
		return err
	}
	if err := t.dir.Rename(t.tmp, t.base); err != nil {
		return err
	}
	t.done = true
	t.journal.end(t.rec)
	t.dir.Close()
	return nil
}

// remove deletes the file unless it was committed; if it cannot, the journal
// entry stays for the next start to retry.
func (t *tempFile) remove() {
	if t.done {
		return
	}
	t.done = true
	t.Close()
	if err := t.dir.Remove(t.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.journal.abandon(t.rec)
	} else {
		t.journal.end(t.rec)
	}
	t.dir.Close()
}

// CompressFiles writes the archive under a temporary name and renames it into
// place, so the output never exists half-written.
func (f *fileIOServer) CompressFiles(ctx context.Context, req *sidecarpb.CompressFilesRequest) (*sidecarpb.CompressFilesResponse, error) {
	if err := checkFormat(req.GetFormat()); err != nil {
		return nil, err
	}
	srcs, err := openSources(f.opts.Roots, req.GetSources())
	if err != nil {
		return nil, err
	}
	defer closeSources(srcs)
	excludes, err := withExcludes(srcs, req.GetOptions().GetExcludes())
	if err != nil {
		return nil, err
	}
	loc, root, err := f.fileTarget(req.GetOutput())
	if err != nil {
		return nil, err
	}
	defer root.Close()
	out, err := createTemp(f.journal, root, loc)
	if err != nil {
		return nil, fsStatus(err, loc.path)
	}
	defer out.remove()
	hold, err := f.pauser.begin(ctx, req.GetOptions().GetQuiesce())
	if err != nil {
		return nil, err
	}
	defer hold.end()
	cw := &countingWriter{w: out}
	report, err := writeArchive(ctx, cw, srcs, f.opts.CompressionLevel, f.journal, f.log, f.opts.hooks, nil, func() { hold.end() })
	quiesced := hold.end()
	if err != nil {
		return nil, archiveStatus(err, loc.path)
	}
	report.excludes = excludes
	// No fsync: the archive is read back at once, and after a crash the operation
	// has failed anyway and the file is removed at start-up; forcing tens of GB to
	// disk would only slow the backup.
	if err := out.commit(false); err != nil {
		return nil, fsStatus(err, loc.path)
	}
	f.log.InfoContext(ctx, "archive written", "output", loc.path, "entries", report.entries, "bytes", report.bytes, "archive_bytes", cw.n, "skipped", report.count)
	rp := report.proto()
	rp.Quiesce = quiesced
	return &sidecarpb.CompressFilesResponse{SizeBytes: cw.n, Report: rp}, nil
}

// StreamArchive streams the archive as parallel gzip produces it; memory stays at
// the compressor's blocks plus one chunk, and nothing touches the disk.
func (f *fileIOServer) StreamArchive(req *sidecarpb.StreamArchiveRequest, stream sidecarpb.FileIO_StreamArchiveServer) error {
	if f.opts.DisableStreamArchive {
		// The very answer of a server without the method (UnimplementedFileIOServer).
		return f.UnimplementedFileIOServer.StreamArchive(req, stream)
	}
	if err := checkFormat(req.GetFormat()); err != nil {
		return err
	}
	srcs, err := openSources(f.opts.Roots, req.GetSources())
	if err != nil {
		return err
	}
	defer closeSources(srcs)
	excludes, err := withExcludes(srcs, req.GetOptions().GetExcludes())
	if err != nil {
		return err
	}
	// Paused before the call is accepted, so that a pause the caller requires
	// and the game refuses fails the call at once.
	hold, err := f.pauser.begin(stream.Context(), req.GetOptions().GetQuiesce())
	if err != nil {
		return err
	}
	defer hold.end()
	if err := stream.Send(&sidecarpb.Chunk{}); err != nil { // accepted: see the proto
		return err
	}
	prog := &progress{}
	defer f.startMeasure(stream.Context(), srcs, prog)()
	cs := &chunkSender{send: stream.Send, buf: make([]byte, 0, f.opts.ChunkSize), progress: prog}
	report, err := writeArchive(stream.Context(), cs, srcs, f.opts.CompressionLevel, f.journal, f.log, f.opts.hooks, &prog.done, func() { hold.end() })
	quiesced := hold.end()
	report.excludes = excludes
	if err == nil {
		rp := report.proto()
		rp.Quiesce = quiesced
		err = cs.finish(rp)
	}
	if err != nil {
		return archiveStatus(err, "the archive stream")
	}
	f.log.InfoContext(stream.Context(), "archive streamed", "entries", report.entries, "bytes", report.bytes, "archive_bytes", cs.sent, "skipped", report.count,
		"measured_in", time.Duration(prog.measuredIn.Load()), "measure_cpu", time.Duration(prog.measureCPU.Load()))
	return nil
}

// ReadFile streams a regular file in chunks of ChunkSize, after a first message that
// carries its size.
func (f *fileIOServer) ReadFile(req *sidecarpb.ReadFileRequest, stream sidecarpb.FileIO_ReadFileServer) error {
	loc, err := locate(f.opts.Roots, req.GetPath())
	if err != nil {
		return err
	}
	root, err := openRoot(loc)
	if err != nil {
		return err
	}
	defer root.Close()
	file, err := root.OpenFile(loc.rel, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return fsStatus(err, loc.path)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fsStatus(err, loc.path)
	}
	switch {
	case info.IsDir():
		return status.Errorf(codes.FailedPrecondition, "%s is a directory", loc.path)
	case !info.Mode().IsRegular():
		return status.Errorf(codes.FailedPrecondition, "%s is not a regular file", loc.path)
	}
	if err := stream.Send(&sidecarpb.Chunk{Size: info.Size()}); err != nil {
		return err
	}
	// One buffer for the whole stream: Send has marshalled the message by the time it
	// returns, so the buffer can be refilled.
	buf := make([]byte, f.opts.ChunkSize)
	for {
		n, rerr := io.ReadFull(file, buf)
		if n > 0 {
			if err := stream.Send(&sidecarpb.Chunk{Data: buf[:n]}); err != nil {
				return err
			}
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return fsStatus(rerr, loc.path)
		}
	}
}

// WriteFile receives a file under a temporary name and renames it into place once
// the announced number of bytes arrived; anything else removes it.
func (f *fileIOServer) WriteFile(stream sidecarpb.FileIO_WriteFileServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return status.Error(codes.InvalidArgument, "empty stream: the first message must carry the path and size")
	}
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return status.Error(codes.InvalidArgument, "the first message must carry the path and size")
	}
	size := hdr.GetSize()
	if size < -1 {
		return status.Errorf(codes.InvalidArgument, "invalid size %d: want a byte count or -1 for unknown", size)
	}
	loc, root, err := f.fileTarget(hdr.GetPath())
	if err != nil {
		return err
	}
	defer root.Close()
	if size > 0 {
		parent := filepath.Dir(loc.rel)
		free, err := freeBytes(root, parent)
		if err != nil {
			return fsStatus(err, filepath.Dir(loc.path))
		}
		if size > free {
			return status.Errorf(codes.ResourceExhausted, "%s: the file needs %s but its file system has only %s free", loc.path, formatBytes(size), formatBytes(free))
		}
	}
	out, err := createTemp(f.journal, root, loc)
	if err != nil {
		return fsStatus(err, loc.path)
	}
	defer out.remove()
	var n int64
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if msg.GetHeader() != nil {
			return status.Errorf(codes.InvalidArgument, "%s: the header was sent twice", loc.path)
		}
		data := msg.GetData()
		if size >= 0 && n+int64(len(data)) > size {
			return status.Errorf(codes.InvalidArgument, "%s: received more than the announced %d bytes", loc.path, size)
		}
		if _, err := out.Write(data); err != nil {
			return fsStatus(err, loc.path)
		}
		n += int64(len(data))
	}
	if size >= 0 && n != size {
		return status.Errorf(codes.InvalidArgument, "%s: received %d bytes but %d were announced", loc.path, n, size)
	}
	// A file written to be kept is made durable before it appears. An archive
	// staged for a restore is not: it is extracted at once, a crash fails the
	// restore, and the next start removes it, so forcing it to disk would only
	// make the restore wait for the disk (3 s for a 1 GiB world at 250 MB/s).
	staged := filepath.Dir(loc.path) == f.opts.ArchiveDir && stagedArchiveName(filepath.Base(loc.path))
	if err := out.commit(!staged); err != nil {
		return fsStatus(err, loc.path)
	}
	return stream.SendAndClose(&sidecarpb.WriteFileResponse{SizeBytes: n})
}

// ExtractTo extracts source into destination with Extract's rules and guarantees.
func (f *fileIOServer) ExtractTo(ctx context.Context, req *sidecarpb.ExtractToReq) (*sidecarpb.Empty, error) {
	src, err := locate(f.opts.Roots, req.GetSource())
	if err != nil {
		return nil, err
	}
	dst, err := locate(f.opts.Roots, req.GetDestination())
	if err != nil {
		return nil, err
	}
	keep, err := keepMatcher(req.GetKeep())
	if err != nil {
		return nil, err
	}
	if src.path == dst.path {
		return nil, status.Errorf(codes.InvalidArgument, "%s is both the archive and the destination", src.path)
	}
	srcRoot, err := openRoot(src)
	if err != nil {
		return nil, err
	}
	defer srcRoot.Close()
	archive, err := srcRoot.OpenFile(src.rel, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, fsStatus(err, src.path)
	}
	defer archive.Close()
	if info, err := archive.Stat(); err != nil {
		return nil, fsStatus(err, src.path)
	} else if !info.Mode().IsRegular() {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not a regular file", src.path)
	}

	dest, at, err := openDest(dst)
	if err != nil {
		return nil, err
	}
	defer dest.Close()
	if archiveInside(srcRoot, src, dst, at.id) {
		return nil, status.Errorf(codes.InvalidArgument, "the archive %s lies inside the destination %s, whose contents the extraction replaces: stage it elsewhere", src.path, dst.path)
	}
	release, err := f.claimDest(dest, at, dst.path)
	if err != nil {
		return nil, err
	}
	defer release()
	start := time.Now()
	got, err := extractInto(ctx, archive, dest, at, f.opts.Limits, f.journal, f.log, f.opts.hooks, keep, nil)
	if err != nil {
		return nil, callStatus(err, dst.path)
	}
	f.log.InfoContext(ctx, "archive extracted", "source", src.path, "destination", dst.path, "entries", got.entries, "bytes", got.bytes, "duration", time.Since(start).Round(time.Millisecond))
	return &sidecarpb.Empty{}, nil
}

// openDest opens the destination directory of an extraction, creating it if
// needed, and returns it with its identity.
func openDest(dst location) (*os.Root, place, error) {
	dstRoot, err := openRoot(dst)
	if err != nil {
		return nil, place{}, err
	}
	defer dstRoot.Close()
	if info, err := dstRoot.Stat(dst.rel); err == nil && !info.IsDir() {
		return nil, place{}, status.Errorf(codes.FailedPrecondition, "%s is not a directory", dst.path)
	}
	if err := dstRoot.MkdirAll(dst.rel, 0o755); err != nil {
		return nil, place{}, fsStatus(err, dst.path)
	}
	dest, err := dstRoot.OpenRoot(dst.rel)
	if err != nil {
		return nil, place{}, fsStatus(err, dst.path)
	}
	info, err := dest.Stat(".")
	if err != nil {
		dest.Close()
		return nil, place{}, fsStatus(err, dst.path)
	}
	return dest, place{root: dst.root, dir: filepath.ToSlash(dst.rel), id: fileIDOf(info)}, nil
}

// claimDest claims the destination dest for one extraction and settles what an
// interrupted one left there. The caller calls release when done.
func (f *fileIOServer) claimDest(dest *os.Root, at place, path string) (release func(), err error) {
	release, ok := f.claim(at.id)
	if !ok {
		return nil, status.Errorf(codes.Aborted, "another extraction into %s is running (perhaps under another path)", path)
	}
	if err := f.recoverDest(dest, at.id); err != nil {
		release()
		return nil, status.Errorf(codes.FailedPrecondition, "%s: an earlier extraction there was interrupted and cannot be finished: %v", path, err)
	}
	return release, nil
}

// archiveInside reports whether the archive src lies inside the destination dst,
// whose identity is dest: the swap would move it away with the old contents. Its
// path may say so, or one of the directories on the way to it may be the
// destination under another name (a symbolic link inside the root).
func archiveInside(srcRoot *os.Root, src, dst location, dest fileID) bool {
	if within(src.path, dst.path) {
		return true
	}
	for dir := filepath.Dir(src.rel); ; dir = filepath.Dir(dir) {
		if info, err := srcRoot.Stat(dir); err == nil && dest.known() && fileIDOf(info) == dest {
			return true
		}
		if dir == "." {
			return false
		}
	}
}

// recoverDest settles the journal entries of the directory dest that no running
// call owns (an extraction or a write that a dead process, or a call that could
// not clean up, left there), so that the swap starts from the customer's files
// alone.
func (f *fileIOServer) recoverDest(dest *os.Root, id fileID) error {
	for _, r := range f.journal.pending(func(r *record) bool { return r.DirID == id }) {
		if err := settle(dest, r, f.log.With("root", r.Root, "dir", r.Dir)); err != nil {
			return err
		}
		f.journal.drop(r)
	}
	return nil
}

// DeleteFile removes a file or symbolic link; a missing one is not an error.
func (f *fileIOServer) DeleteFile(ctx context.Context, req *sidecarpb.DeleteFileRequest) (*sidecarpb.Empty, error) {
	loc, err := locate(f.opts.Roots, req.GetPath())
	if err != nil {
		return nil, err
	}
	if loc.rel == "." {
		return nil, status.Errorf(codes.InvalidArgument, "%s is a root directory, not a file", loc.path)
	}
	root, err := openRoot(loc)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	info, err := root.Lstat(loc.rel)
	if errors.Is(err, fs.ErrNotExist) {
		return &sidecarpb.Empty{}, nil
	}
	if err != nil {
		return nil, fsStatus(err, loc.path)
	}
	if info.IsDir() {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is a directory", loc.path)
	}
	if err := root.Remove(loc.rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fsStatus(err, loc.path)
	}
	return &sidecarpb.Empty{}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// startMeasure measures the total of srcs into p in a goroutine of its own, so
// that it never delays the first bytes; the returned function stops it and waits
// for it (before srcs are closed).
func (f *fileIOServer) startMeasure(ctx context.Context, srcs []archiveSource, p *progress) (stop func()) {
	if f.opts.hooks != nil && f.opts.hooks.noMeasure {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	measured := make(chan struct{})
	go func() {
		defer close(measured)
		// On a thread of its own, so that its CPU time is its own.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start, cpu := time.Now(), threadCPU()
		if n, ok := measure(ctx, srcs, f.journal); ok {
			p.total.Store(n)
			p.measureCPU.Store(int64(threadCPU() - cpu))
			p.measuredIn.Store(int64(time.Since(start)))
		}
	}()
	return func() {
		cancel()
		<-measured
	}
}

// chunkSender cuts a byte stream into messages of at most cap(buf) bytes, each
// with the progress as of its sending.
type chunkSender struct {
	send     func(*sidecarpb.Chunk) error
	buf      []byte
	sent     int64
	progress *progress
}

func (c *chunkSender) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+k]
		p = p[k:]
		written += k
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (c *chunkSender) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	return c.sendBuf(nil)
}

// finish sends what is left with the report, in the stream's last message.
func (c *chunkSender) finish(report *sidecarpb.ArchiveReport) error { return c.sendBuf(report) }

func (c *chunkSender) sendBuf(report *sidecarpb.ArchiveReport) error {
	chunk := &sidecarpb.Chunk{Data: c.buf, Report: report}
	if c.progress != nil {
		if report != nil {
			c.progress.done.Store(report.GetBytes())
		}
		chunk.DoneBytes, chunk.TotalBytes = c.progress.now(report != nil)
	}
	if err := c.send(chunk); err != nil {
		return fmt.Errorf("sending archive data: %w", err)
	}
	c.sent += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}

package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// failure is a background step that failed: reason is for the customer (it ends
// up in Backup.Error), err is the cause, for the logs.
type failure struct {
	reason string
	err    error
	// call is the dependency call that failed, if one did (see failOn).
	call call
}

func (f *failure) Error() string { return f.reason + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, err error) error { return &failure{reason: reason, err: err} }

// reason is what the customer reads about a failed operation. Causes are logged,
// never shown: they may name internal hosts or paths.
func reason(err error) string {
	var f *failure
	switch {
	case errors.Is(err, ErrShuttingDown), errors.Is(err, errInterrupted):
		return "interrupted because the backup service was shutting down"
	case errors.Is(err, errPanic):
		return "an internal error stopped the operation"
	case errors.Is(err, errTimedOut):
		return "the operation took too long and was stopped"
	case errors.Is(err, ports.ErrQuiesceFailed):
		why := refusalDetail(err)
		if why != "" {
			why = " (" + why + ")"
		}
		return "the game could not be paused while its files were archived" + why + ", and this server makes no backup without that"
	case errors.Is(err, ports.ErrExcludesRefused):
		if why := refusalDetail(err); why != "" {
			return "the exclude patterns were refused: " + why
		}
		return "the exclude patterns were refused"
	case errors.As(err, &f):
		return f.reason
	default:
		return "the operation failed unexpectedly"
	}
}

// refusalDetail is the customer-readable detail of a ports.Refusal in err's
// chain, or "".
func refusalDetail(err error) string {
	var r *ports.Refusal
	if errors.As(err, &r) {
		return r.Detail
	}
	return ""
}

// hashingReader passes bytes through while counting and hashing them, and keeps
// the first read error so a failed upload can be blamed on its source.
type hashingReader struct {
	readErr
	h hash.Hash
	n int64
}

func newHashingReader(r io.Reader) *hashingReader {
	return &hashingReader{readErr: readErr{r: r}, h: sha256.New()}
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.readErr.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	return n, err
}

func (hr *hashingReader) sum() string { return hex.EncodeToString(hr.h.Sum(nil)) }

// createJob is the background half of CreateBackup: archive the
// server data on the sidecar, stream it through a hasher into object storage,
// record the asset, mark the backup ready.
// opts say what the archive leaves out and how the game is paused.
func (s *Service) createJob(b ports.Backup, order ports.Order, sidecar ports.Provision, opts ports.ArchiveOptions) job {
	p := newTracker(b)
	return job{
		ID: b.ID, Status: ports.StatusCreating, Progress: p,
		Run:  func(ctx context.Context) error { return s.runCreate(ctx, b, order, sidecar, opts, p) },
		Fail: func(ctx context.Context, cause error) { s.settleFailure(ctx, b, cause) },
	}
}

func (s *Service) runCreate(ctx context.Context, b ports.Backup, order ports.Order, sidecar ports.Provision, opts ports.ArchiveOptions, p *tracker) (err error) {
	log := s.logFor(b)
	key := ObjectKey(b.OrderID, b.ID)
	fio, dirs, err := s.dial(ctx, sidecar)
	if err != nil {
		return err
	}
	defer fio.Close()

	archive, tempFile, err := s.openArchive(ctx, fio, dirs, b.ID, opts)
	if tempFile != "" {
		defer s.cleanup(log, "removing the staged archive", func(ctx context.Context) error { return fio.DeleteFile(ctx, tempFile) })
	}
	if err != nil {
		return err
	}
	defer archive.Close()

	// From here on a failure must not leave an object or asset behind. A flag set
	// on success, not err, decides: a panic unwinds through here with err still nil.
	var asset ports.Asset
	stored := false
	defer func() {
		if stored || s.archiveIsReady(log, b.ID, asset.ID) {
			return
		}
		s.cleanup(log, "deleting the partial archive", func(ctx context.Context) error { return s.deps.Objects.Delete(ctx, key) })
		if !asset.ID.IsZero() {
			s.cleanup(log, "deleting the asset", func(ctx context.Context) error { return s.deps.Assets.DeleteAsset(ctx, asset.ID) })
		}
	}()

	src := newHashingReader(&archiveProgress{s: archive, t: p})
	if err := s.deps.Objects.Put(ctx, key, src); err != nil {
		if src.err != nil {
			return failOn(callRead, "reading the archive from the game server failed", src.err)
		}
		return failOn(callUpload, "uploading the archive to storage failed", err)
	}
	if src.err != nil {
		// The store kept what it got, but the archive was cut short (the sidecar
		// reports an unfinished archive only as a read error): never mark it ready.
		return failOn(callRead, "reading the archive from the game server failed", src.err)
	}

	now := s.opts.Now()
	asset = ports.Asset{
		ID: ports.ArchiveAssetID(b.ID), OwnerID: order.OwnerID, Key: key,
		FileName: downloadFileName(b.Name), ContentType: "application/gzip",
		SizeBytes: src.n, SHA256: src.sum(), CreatedAt: now,
	}
	if err := s.deps.Assets.CreateAsset(ctx, asset); err != nil {
		asset = ports.Asset{} // not created: nothing to delete
		return fail("recording the download failed", err)
	}
	report := archive.Report()
	ready, err := Apply(b, Event{
		Kind: EventStored, At: now, AssetID: asset.ID, SizeBytes: asset.SizeBytes, SHA256: asset.SHA256,
		Skipped: report.Skipped, SkippedCount: report.SkippedCount,
		Excludes: report.Excludes, Quiesce: report.Quiesce,
	})
	if err != nil {
		return fail("recording the finished backup failed", err)
	}
	s.saveCompleted(ctx, b, p)
	if err := s.finish(ctx, ready, ports.StatusCreating); err != nil {
		return fail("recording the finished backup failed", err)
	}
	stored = true
	s.tel.stored(ctx, b, p.snapshot().DoneBytes, src.n)
	log.Info("backup ready", "size_bytes", ready.SizeBytes, "sha256", ready.SHA256, "skipped_files", ready.SkippedCount,
		"excludes", len(ready.Excludes), "quiesce_method", ready.Quiesce.Method, "paused", ready.Quiesce.Paused)
	if ready.Quiesce.Warning != "" {
		log.Warn("the game's writes were not paused while it was archived", "warning", ready.Quiesce.Warning)
	}
	return nil
}

// archiveIsReady reports whether the backup is recorded ready with asset, or
// whether that cannot be told: its archive must then be kept. A create that
// believes it failed may be wrong (an answer lost, a cancelled context), and
// deleting a ready backup's archive loses the backup; an archive kept by
// mistake only costs storage until the failed backup is deleted.
func (s *Service) archiveIsReady(log *slog.Logger, id ports.BackupID, asset ports.AssetID) bool {
	if asset.IsZero() {
		return false // never recorded: nothing can point at the archive
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CleanupTimeout)
	defer cancel()
	cur, err := s.deps.Repository.Find(ctx, id)
	switch {
	case err != nil && !errors.Is(err, ports.ErrNotFound):
		log.Warn("kept the archive of a failed create: whether its backup is ready could not be read", "err", err)
		return true
	case err == nil && cur.Status == ports.StatusReady && cur.AssetID == asset:
		log.Warn("kept the archive of a create that failed after it was recorded ready")
		return true
	}
	return false
}

// dial connects to the game server's sidecar and learns where its directories
// are: the connection's own answer, else the service's defaults.
func (s *Service) dial(ctx context.Context, sidecar ports.Provision) (ports.FileIO, ports.SidecarDirs, error) {
	fio, err := s.deps.Sidecars.Dial(ctx, sidecar)
	if err != nil {
		return nil, ports.SidecarDirs{}, failOn(callDial, "could not reach the game server's file service", err)
	}
	dirs := fio.Dirs()
	if dirs.Data == "" {
		dirs.Data = s.opts.DataDir
	}
	if dirs.Temp == "" {
		dirs.Temp = s.opts.TempDir
	}
	if !path.IsAbs(dirs.Data) || !path.IsAbs(dirs.Temp) {
		fio.Close()
		return nil, ports.SidecarDirs{}, fail("the game server's file service is misconfigured",
			fmt.Errorf("sidecar directories must be absolute paths: data %q, temp %q", dirs.Data, dirs.Temp))
	}
	return fio, dirs, nil
}

// stagedArchive is an archive the sidecar wrote to a file, whose report came
// back with CompressFiles: read like a streamed one.
type stagedArchive struct {
	io.ReadCloser
	report ports.ArchiveReport
}

func (a stagedArchive) Report() ports.ArchiveReport { return a.report }

func (a stagedArchive) Progress() (done, total int64) { return 0, 0 }

// openArchive streams the archive from the sidecar when it can, and otherwise
// has the sidecar write it to a temp file in the pod, then reads that. The temp
// file's path is returned whenever one may exist, so the caller removes it.
func (s *Service) openArchive(ctx context.Context, fio ports.FileIO, dirs ports.SidecarDirs, id ports.BackupID, opts ports.ArchiveOptions) (ports.ArchiveStream, string, error) {
	sources := []string{dirs.Data}
	stream, err := fio.StreamArchive(ctx, sources, opts)
	if err == nil {
		return stream, "", nil
	}
	if !errors.Is(err, ports.ErrUnsupported) {
		return nil, "", failOn(callArchive, "compressing the server files failed", err)
	}
	tempFile := tempBackupPath(dirs.Temp, id)
	report, err := fio.CompressFiles(ctx, sources, tempFile, opts)
	if err != nil {
		return nil, tempFile, failOn(callArchive, "compressing the server files failed", err)
	}
	rc, err := fio.ReadFile(ctx, tempFile)
	if err != nil {
		return nil, tempFile, failOn(callRead, "reading the archive from the game server failed", err)
	}
	return stagedArchive{ReadCloser: rc, report: report}, tempFile, nil
}

// restoreJob is the background half of RestoreBackup: stream the archive from
// storage to the sidecar, which extracts it as it arrives and swaps it in only
// if its checksum is the recorded one; then mark the backup ready again.
func (s *Service) restoreJob(b ports.Backup, sidecar ports.Provision) job {
	p := newTracker(b)
	return job{
		ID: b.ID, Status: ports.StatusRestoring, Progress: p,
		Run:  func(ctx context.Context) error { return s.runRestore(ctx, b, sidecar, p) },
		Fail: func(ctx context.Context, cause error) { s.settleFailure(ctx, b, cause) },
	}
}

// untouched ends every reason a restore fails for before the swap: the
// customer's first question is whether the server's files were changed.
const untouched = "; your server files were not changed"

func (s *Service) runRestore(ctx context.Context, b ports.Backup, sidecar ports.Provision, p *tracker) error {
	log := s.logFor(b)
	asset, err := s.deps.Assets.GetAsset(ctx, b.AssetID)
	if err != nil {
		return fail("the backup's archive record could not be read", err)
	}
	fio, dirs, err := s.dial(ctx, sidecar)
	if err != nil {
		return err
	}
	defer fio.Close()

	obj, info, err := s.deps.Objects.Get(ctx, asset.Key, nil)
	if err != nil {
		return failOn(callDownload, "downloading the archive from storage failed", err)
	}
	defer obj.Close()

	// The sidecar hashes what it extracts and swaps it in only if it is the
	// archive recorded at create, so the bytes need not be hashed here too.
	src := &readErr{r: countingReader{r: obj, t: p}}
	// What the backup left out is carried over from the current files, not
	// deleted with the rest: it was never the backup's to restore.
	err = fio.RestoreArchive(ctx, dirs.Data, src, b.SizeBytes, b.SHA256, b.Excludes)
	switch {
	case errors.Is(err, ports.ErrUnsupported):
		log.Info("the sidecar cannot restore while it receives; staging the archive first")
		err = s.restoreStaged(ctx, b, fio, dirs, obj, info.SizeBytes, p)
	case err != nil && src.err != nil:
		// A download cut short explains whatever the sidecar made of it.
		err = failOn(callDownload, "downloading the archive from storage failed"+untouched, src.err)
	case errors.Is(err, ports.ErrArchiveDamaged):
		err = failOn(callDownload, "the stored archive is damaged (its checksum does not match)"+untouched, err)
	case err != nil:
		err = failOn(callRestore, "restoring the archive on the game server failed"+untouched, err)
	}
	if err != nil {
		return err
	}
	s.saveCompleted(ctx, b, p)
	done, err := Apply(b, Event{Kind: EventRestored, At: s.opts.Now()})
	if err != nil {
		return fail("recording it failed after your server files were restored", err)
	}
	if err := s.finish(ctx, done, ports.StatusRestoring); err != nil {
		return fail("recording it failed after your server files were restored", err)
	}
	s.tel.restoredBytes(ctx, b.SizeBytes)
	log.Info("restore done")
	return nil
}

// restoreStaged is the restore for a sidecar that predates RestoreArchive: the
// archive (size bytes, as stored) is written to the pod's scratch space while it
// is hashed here, and extracted only once its checksum is the recorded one.
func (s *Service) restoreStaged(ctx context.Context, b ports.Backup, fio ports.FileIO, dirs ports.SidecarDirs, obj io.Reader, size int64, p *tracker) error {
	log := s.logFor(b)
	// The staged archive is removed before the outcome is recorded, never after:
	// once the backup is ready again a new restore of it may stage the same path.
	tempFile := tempRestorePath(dirs.Temp, b.ID)
	defer s.cleanup(log, "removing the staged archive", func(ctx context.Context) error { return fio.DeleteFile(ctx, tempFile) })
	src := newHashingReader(countingReader{r: obj, t: p})
	if err := fio.WriteFile(ctx, tempFile, size, src); err != nil {
		if src.err != nil {
			return failOn(callDownload, "downloading the archive from storage failed"+untouched, src.err)
		}
		return failOn(callWrite, "copying the archive to the game server failed"+untouched, err)
	}
	if got := src.sum(); got != b.SHA256 {
		return failOn(callDownload, "the stored archive is damaged (its checksum does not match)"+untouched,
			fmt.Errorf("%w: sha256 %s, recorded %s", ports.ErrArchiveDamaged, got, b.SHA256))
	}
	if err := fio.ExtractTo(ctx, tempFile, dirs.Data, b.Excludes); err != nil {
		return failOn(callExtract, "extracting the archive failed"+untouched, err)
	}
	return nil
}

// readErr keeps the first error its reader returned other than io.EOF, so that
// a failed call can be blamed on its source.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// saveCompleted saves the operation's progress as complete, so that what the
// last reader sees before the backup settles is 100%. Best effort: the
// outcome, recorded next, is what counts.
func (s *Service) saveCompleted(ctx context.Context, b ports.Backup, p *tracker) {
	p.complete()
	if err := s.deps.Repository.Heartbeat(ctx, b.ID, b.Status, s.opts.Now(), p.snapshot()); err != nil {
		s.logFor(b).Debug("saving the final progress failed", "err", err)
	}
}

// finishRetries are the waits before each retry of finish's write.
var finishRetries = []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 1500 * time.Millisecond}

// finish records the successful end of an operation. Minutes of work must not be
// thrown away for one dropped database connection at the very end, so failures
// of the write are retried. Whenever the write did not plainly succeed, finish
// then looks whether an earlier attempt landed after all (its answer lost), on a
// context of its own: the operation's may have been cancelled by the very
// heartbeat that saw that write, taking the backup for settled elsewhere.
func (s *Service) finish(ctx context.Context, next ports.Backup, from ports.Status) error {
	err := s.deps.Repository.Update(ctx, next, from)
retries:
	for _, wait := range finishRetries {
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrStatusConflict), errors.Is(err, ports.ErrNotFound):
			break retries // moved on: by an earlier attempt of ours, or elsewhere
		}
		select {
		case <-ctx.Done():
			break retries
		case <-time.After(wait):
		}
		err = s.deps.Repository.Update(ctx, next, from)
	}
	if err != nil && s.recorded(next) {
		return nil
	}
	return err
}

// recorded reports whether the repository holds next as finish writes it. It
// answers false when it cannot tell.
func (s *Service) recorded(next ports.Backup) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CleanupTimeout)
	defer cancel()
	cur, err := s.deps.Repository.Find(ctx, next.ID)
	return err == nil && sameOutcome(cur, next)
}

// sameOutcome reports whether the stored backup is the one finish wrote. Times
// are not compared: a store may keep them coarser than the clock. They need not
// be: every other way out of an active status (a failure, stale recovery)
// records an Error, so a settled backup without one is this write's.
func sameOutcome(stored, written ports.Backup) bool {
	return stored.Status == written.Status && stored.Error == written.Error &&
		stored.AssetID == written.AssetID && stored.SHA256 == written.SHA256
}

// settleFailure applies the failure transition to an active backup: a create ends
// failed, a restore returns to ready. The compare-and-set makes it safe to call
// more than once and from several replicas.
func (s *Service) settleFailure(ctx context.Context, b ports.Backup, cause error) {
	log := s.logFor(b)
	text := failedText(b.Status, reason(cause))
	failed, err := Apply(b, Event{Kind: EventFailed, At: s.opts.Now(), Reason: text})
	if err != nil {
		log.Error("cannot record failure", "err", err, "cause", cause)
		return
	}
	switch err := s.deps.Repository.Update(ctx, failed, b.Status); {
	case err == nil:
		log.Warn("operation failed", "status", failed.Status, "reason", text, "cause", cause)
	case errors.Is(err, ErrStatusConflict), errors.Is(err, ports.ErrNotFound):
		log.Info("operation already settled", "cause", cause)
	default:
		// The backup stays active; stale recovery will settle it.
		log.Error("recording failure failed", "err", err, "cause", cause)
	}
}

// failedText says which operation failed: a failed restore leaves the backup
// ready, so its Error must make clear it is the restore that failed.
func failedText(active ports.Status, why string) string {
	if active == ports.StatusRestoring {
		return "Restore failed: " + why
	}
	return "Backup failed: " + why
}

// cleanup runs a best-effort step on a fresh context: it must happen even when
// the operation's context was cancelled, and must not block forever.
func (s *Service) cleanup(log *slog.Logger, what string, step func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CleanupTimeout)
	defer cancel()
	if err := step(ctx); err != nil {
		log.Warn("cleanup failed", "step", what, "err", err)
	}
}

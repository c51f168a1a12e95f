package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// reportingStream is an archive stream whose report is complete from the
// start, as a sidecar's is once the last byte was read.
type reportingStream struct {
	io.Reader
	report ports.ArchiveReport
}

func (s *reportingStream) Close() error                  { return nil }
func (s *reportingStream) Report() ports.ArchiveReport   { return s.report }
func (s *reportingStream) Progress() (done, total int64) { return 0, 0 }

// expectArchived expects the rest of a successful create after the archive is
// opened, and sends the backup it records ready on the returned channel.
func (f *fixture) expectArchived() <-chan ports.Backup {
	ready := make(chan ports.Backup, 1)
	f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&bytes.Buffer{}))
	f.assets.EXPECT().CreateAsset(gomock.Any(), gomock.Any()).Return(nil)
	f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).DoAndReturn(func(_ context.Context, b ports.Backup, _ ports.Status) error {
		ready <- b
		return nil
	})
	return ready
}

func TestCreateAsksTheSidecarForItsExcludesAndAPause(t *testing.T) {
	excludes := []string{"cache/", "*.tmp", "!keep.tmp"}
	for _, tc := range []struct {
		name               string
		failWithoutQuiesce bool
		want               ports.QuiescePolicy
	}{
		{"by default a failed pause only warns", false, ports.QuiesceContinue},
		{"FailWithoutQuiesce requires the pause", true, ports.QuiesceRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *backup.Options) { o.FailWithoutQuiesce = tc.failWithoutQuiesce })
			f.expectCreateAccepted()
			f.expectDial()
			report := ports.ArchiveReport{
				Entries: 3, Bytes: 64,
				Excludes: append([]string{"logs/"}, excludes...), // the .savepointignore's first
				Quiesce:  ports.QuiesceReport{Method: "rcon", Paused: 1850 * time.Millisecond},
			}
			f.fio.EXPECT().StreamArchive(gomock.Any(), []string{"/data"}, ports.ArchiveOptions{Excludes: excludes, Quiesce: tc.want}).
				Return(&reportingStream{Reader: bytes.NewReader(archive(64)), report: report}, nil)
			ready := f.expectArchived()

			req := backup.CreateRequest{Name: "Without the cache", Excludes: slices.Clone(excludes)}
			_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, req)
			must(t, err)
			req.Excludes[0] = "changed by the caller after the create was accepted"
			b := waitFor(t, ready, "the backup to be recorded ready")
			if b.Status != ports.StatusReady || !slices.Equal(b.Excludes, report.Excludes) || b.Quiesce != report.Quiesce {
				t.Fatalf("recorded %s with excludes %q and quiesce %+v, want ready with %q and %+v",
					b.Status, b.Excludes, b.Quiesce, report.Excludes, report.Quiesce)
			}
		})
	}
}

func TestCreateStagedCarriesTheOptionsAndRecordsTheWarning(t *testing.T) {
	f := newFixture(t)
	f.expectCreateAccepted()
	f.expectDial()
	opts := ports.ArchiveOptions{Excludes: []string{"cache/"}, Quiesce: ports.QuiesceContinue}
	report := ports.ArchiveReport{
		Excludes: []string{"cache/"},
		Quiesce:  ports.QuiesceReport{Method: "rcon", Warning: "the game did not answer save-off: connection refused"},
	}
	f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any(), opts).Return(nil, fmt.Errorf("sidecar v1: %w", ports.ErrUnsupported))
	f.fio.EXPECT().CompressFiles(gomock.Any(), []string{"/data"}, gomock.Any(), opts).Return(report, nil)
	f.fio.EXPECT().ReadFile(gomock.Any(), gomock.Any()).Return(io.NopCloser(bytes.NewReader(archive(64))), nil)
	f.fio.EXPECT().DeleteFile(gomock.Any(), gomock.Any()).Return(nil)
	ready := f.expectArchived()

	_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, backup.CreateRequest{Excludes: []string{"cache/"}})
	must(t, err)
	b := waitFor(t, ready, "the backup to be recorded ready")
	if b.Status != ports.StatusReady || b.Quiesce.Warning != report.Quiesce.Warning || b.Error != "" {
		t.Fatalf("recorded %s, error %q, quiesce %+v: want ready with the sidecar's warning", b.Status, b.Error, b.Quiesce)
	}
}

// TestCreateFailsWithTheSidecarsRefusal: a required pause the game refused, or
// an ignore file over the limits, fails the backup saying why, in the words of
// the refusal and without the sidecar's address.
func TestCreateFailsWithTheSidecarsRefusal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool // the sidecar fails the stream only once it is read
		refuse *ports.Refusal
		want   string
	}{
		{"a required pause, refused at once", false, &ports.Refusal{Err: ports.ErrQuiesceFailed, Detail: "wrong RCON password"},
			"the game could not be paused while its files were archived (wrong RCON password), and this server makes no backup without that"},
		{"a required pause, failing the stream", true, &ports.Refusal{Err: ports.ErrQuiesceFailed, Detail: "wrong RCON password"},
			"the game could not be paused while its files were archived (wrong RCON password)"},
		{"an ignore file over the limits", false, &ports.Refusal{Err: ports.ErrExcludesRefused, Detail: ".savepointignore: too many exclude patterns: 300, at most 256"},
			"the exclude patterns were refused: .savepointignore: too many exclude patterns: 300, at most 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *backup.Options) { o.FailWithoutQuiesce = true })
			f.expectCreateAccepted()
			f.expectDial()
			cause := fmt.Errorf("sidecar StreamArchive 10.0.0.7:9090: %w: %w", ports.ErrCluster, tc.refuse)
			if tc.stream {
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any(), gomock.Any()).
					Return(&reportingStream{Reader: io.MultiReader(bytes.NewReader(archive(8)), errReader{cause})}, nil)
				f.objects.EXPECT().Put(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(drainInto(&bytes.Buffer{}))
				f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(nil)
			} else {
				f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, cause)
			}
			failed := make(chan ports.Backup, 1)
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusCreating).DoAndReturn(func(_ context.Context, b ports.Backup, _ ports.Status) error {
				failed <- b
				return nil
			})
			f.create()
			b := waitFor(t, failed, "the failure to be recorded")
			if b.Status != ports.StatusFailed || !strings.Contains(b.Error, tc.want) || strings.Contains(b.Error, "10.0.0.7") {
				t.Fatalf("recorded %s with error %q; want failed, saying %q, without the sidecar's address", b.Status, b.Error, tc.want)
			}
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestRestoreKeepsWhatTheBackupLeftOut(t *testing.T) {
	for _, staged := range []bool{false, true} {
		t.Run(fmt.Sprintf("staged=%v", staged), func(t *testing.T) {
			f := newFixture(t)
			b := f.readyBackup()
			b.Excludes = []string{"logs/", "cache/"}
			f.expectBackupFound(b)
			f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary, f.sidecar}, nil)
			f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusReady).Return(nil)
			f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{ID: b.AssetID, Key: "k", SizeBytes: b.SizeBytes, SHA256: b.SHA256}, nil)
			f.expectDial()
			data := archive(64)
			f.objects.EXPECT().Get(gomock.Any(), "k", nil).Return(io.NopCloser(bytes.NewReader(data)), ports.ObjectInfo{Key: "k", SizeBytes: 64}, nil)
			if staged {
				f.fio.EXPECT().RestoreArchive(gomock.Any(), "/data", gomock.Any(), b.SizeBytes, b.SHA256, b.Excludes).Return(ports.ErrUnsupported)
				f.fio.EXPECT().WriteFile(gomock.Any(), gomock.Any(), int64(64), gomock.Any()).DoAndReturn(func(_ context.Context, _ string, _ int64, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})
				f.fio.EXPECT().ExtractTo(gomock.Any(), gomock.Any(), "/data", b.Excludes).Return(nil)
				f.fio.EXPECT().DeleteFile(gomock.Any(), gomock.Any()).Return(nil)
			} else {
				f.fio.EXPECT().RestoreArchive(gomock.Any(), "/data", gomock.Any(), b.SizeBytes, b.SHA256, b.Excludes).Return(nil)
			}
			done := make(chan ports.Backup, 1)
			f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusRestoring).DoAndReturn(func(_ context.Context, b ports.Backup, _ ports.Status) error {
				done <- b
				return nil
			})
			_, err := f.svc.RestoreBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
			must(t, err)
			if got := waitFor(t, done, "the restore to be recorded"); got.Status != ports.StatusReady || got.Error != "" || !slices.Equal(got.Excludes, b.Excludes) {
				t.Fatalf("after the restore: %s, error %q, excludes %q", got.Status, got.Error, got.Excludes)
			}
		})
	}
}

func TestExcludesOverTheLimitsAreRefused(t *testing.T) {
	many := make([]string, 257)
	for i := range many {
		many[i] = fmt.Sprintf("dir%d/", i)
	}
	for _, tc := range []struct {
		name     string
		excludes []string
		limit    string
	}{
		{"too many patterns", many, "patterns"},
		{"a pattern too long", []string{strings.Repeat("a", 257)}, "pattern length"},
		{"too many wildcards", []string{strings.Repeat("*/", 17)}, "wildcards"},
		{"a control character", []string{"logs/\nworld/"}, "character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No port is called: the request is refused before anything is looked up.
			f := newFixture(t)
			_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, backup.CreateRequest{Excludes: tc.excludes})
			assertIs(t, err, backup.ErrInvalidExcludes)
			assertNotInfra(t, err)
			if !strings.Contains(err.Error(), tc.limit) {
				t.Fatalf("error %q does not name the %s limit", err, tc.limit)
			}
			tw := newTwin(t)
			_, err = tw.svc.PutSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID,
				backup.ScheduleSettings{Cron: "@daily", Enabled: true, Excludes: tc.excludes})
			assertIs(t, err, backup.ErrInvalidExcludes)
			if !strings.Contains(err.Error(), tc.limit) {
				t.Fatalf("PutSchedule: error %q does not name the %s limit", err, tc.limit)
			}
		})
	}
	t.Run("a full set at the limits is accepted", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectDial()
		f.fio.EXPECT().StreamArchive(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, errors.New("refused"))
		f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil)
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID,
			backup.CreateRequest{Excludes: append(many[:256:256], "# comments count toward nothing", "")})
		must(t, err)
	})
}

func TestScheduleKeepsItsExcludes(t *testing.T) {
	tw := newTwin(t)
	set := backup.ScheduleSettings{Cron: "@daily", Enabled: true, Excludes: []string{"cache/", "*.tmp"}}
	stored, err := tw.svc.PutSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, set)
	must(t, err)
	got, err := tw.svc.GetSchedule(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID)
	must(t, err)
	if !slices.Equal(stored.Excludes, set.Excludes) || !slices.Equal(got.Excludes, set.Excludes) {
		t.Fatalf("stored excludes %q, read back %q; want %q", stored.Excludes, got.Excludes, set.Excludes)
	}
}

func TestScheduledRunsLeaveOutTheScheduleExcludes(t *testing.T) {
	tw := newTwin(t)
	tw.clock.Set(at("2026-05-01T03:59:00Z"))
	set := nightly()
	set.Excludes = []string{"cache/", "*.tmp"}
	tw.schedule(set)
	tw.clock.Set(at("2026-05-01T04:00:01Z"))
	tw.runDue()
	tw.settled(tw.lastRun().BackupID)
	want := []ports.ArchiveOptions{{Excludes: set.Excludes, Quiesce: ports.QuiesceContinue}}
	if got := tw.faults.archiveOptions(); len(got) != 1 || !slices.Equal(got[0].Excludes, want[0].Excludes) || got[0].Quiesce != want[0].Quiesce {
		t.Fatalf("the sidecar was asked for %+v, want %+v", got, want)
	}
}

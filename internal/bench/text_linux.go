package bench

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

// textTree is the text phase's dataset and the pair whose sidecar serves it.
type textTree struct {
	data string
	pair pair
	size int64
}

// LoadTextDataset is LoadDataset for the text-heavy tree of cfg.TextSize
// bytes (gamedata.DefaultTextSize when zero), cached beside the game dataset.
func LoadTextDataset(tb testing.TB, cfg Config) (string, Dataset) {
	tb.Helper()
	cfg.Size = cfg.TextSize
	if cfg.Size == 0 {
		cfg.Size = gamedata.DefaultTextSize
	}
	dir, _, ds := loadTree(tb, cfg, "textdata", gamedata.GenerateText)
	return dir, ds
}

// textPhase times tar -czf of the text-heavy tree to a file, then savepoint's
// streaming create of the same tree: how both do where most bytes are worth
// compressing hard. The backup is deleted afterwards, untimed.
func (h *harness) textPhase(label string) (tarPhase, create Phase) {
	t := &h.text
	// The game phases before this one can push the text tree out of the page
	// cache; read it back, so that tar does not pay for the disk and savepoint
	// then find it in memory.
	if err := readAll(t.data); err != nil {
		h.tb.Fatal(err)
	}
	archive := filepath.Join(h.scratch, "text-baseline.tar.gz")
	tarPhase = h.tar("tar", "-czf", archive, "-C", t.data, ".")
	info, err := os.Stat(archive)
	if err != nil {
		h.tb.Fatal(err)
	}
	tarPhase.ArchiveBytes = info.Size()
	os.Remove(archive)
	syscall.Sync()

	create, v := h.create(t.pair, label)
	if tmp := create.SidecarTemp; tmp.FilesCreated != 0 || tmp.PeakBytes != 0 {
		h.tb.Errorf("%s: the text tree's streaming create used the sidecar's temp directory: %d files, peak %d bytes", label, tmp.FilesCreated, tmp.PeakBytes)
	}
	t.pair.server.Client.Delete(h.tb, t.pair.server.Order, t.pair.server.Provision, v.ID)
	// h.tar and h.create count the game dataset's bytes.
	tarPhase.MBps = float64(t.size) / tarPhase.Seconds / 1e6
	create.MBps = float64(t.size) / create.Seconds / 1e6
	create.Speedup = tarPhase.Seconds / create.Seconds
	return tarPhase, create
}

// readAll reads every regular file below dir.
func readAll(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
}

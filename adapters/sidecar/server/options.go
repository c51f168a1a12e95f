package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/flate"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// DefaultRoots returns the directories a server reaches when Options.Roots is empty:
// the game's data volume and the pod's scratch space.
func DefaultRoots() []string { return []string{"/data", "/tmp"} }

const (
	// DefaultArchiveDir is where the backup service stages archives in the pod
	// (backup-{id}.tar.gz, restore-{id}.tar.gz).
	DefaultArchiveDir = "/tmp"
	// DefaultStateDir is where the server keeps its journal when Options.StateDir
	// is empty.
	DefaultStateDir = "/var/lib/savepoint-sidecar"
	// DefaultCompressionLevel is level 6, gzip's own default. The level only
	// applies to the parts of an archive that look compressible (text, configs,
	// logs): bytes that look random, which are most of a game world (region
	// files of zlib chunks, jars), are stored and runs of one byte are
	// run-encoded whatever the level (see package blockgz). On text, level 6
	// makes archives within a few percent of `gzip -6`'s, where level 1 makes
	// them a fifth larger; on a game world it costs little, since little of it
	// reaches the compressor.
	DefaultCompressionLevel = 6
)

// Limits caps what an archive may make the server write. Zero fields take the
// values of DefaultLimits.
type Limits struct {
	// MaxTotalBytes caps the sum of the declared sizes of all entries. Sparse
	// entries count with their full declared size.
	MaxTotalBytes int64
	// MaxEntryBytes caps the declared size of a single entry.
	MaxEntryBytes int64
	// MaxEntries caps the number of entries.
	MaxEntries int
}

// DefaultLimits returns the caps used for zero Limits fields: generous for game
// servers (the largest worlds are tens of GB in tens of thousands of files) while
// still stopping a decompression bomb. 256 GiB in total, 64 GiB per entry, 500,000
// entries.
func DefaultLimits() Limits {
	return Limits{MaxTotalBytes: 256 << 30, MaxEntryBytes: 64 << 30, MaxEntries: 500_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = d.MaxEntryBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// Options configures a Server. The zero value plus a Secret is the production
// configuration.
type Options struct {
	// Roots are the absolute directories the server may touch; every path outside
	// them is refused with PermissionDenied. Empty means DefaultRoots.
	Roots []string
	// ArchiveDir is where the backup service stages archives. At start the server
	// removes stale staged archives there, files named exactly
	// backup-<uuid>.tar.gz or restore-<uuid>.tar.gz (a lower-case UUID), but only
	// if it lies within the roots: the server never touches anything outside them.
	// Empty means DefaultArchiveDir.
	ArchiveDir string
	// StateDir holds the server's journal: the record of every temporary file and
	// directory it creates in the roots, which is how it tells its own leftovers
	// from the customer's files (whatever their names) and removes or finishes
	// them when it restarts. It must lie outside every root, so that no call can
	// reach it: New refuses one inside a root or containing one. New
	// locks it, so two servers never share one. Empty means DefaultStateDir.
	//
	// Give it the lifetime of the data volume, for example a subPath of that
	// volume mounted outside the data directory: with a new, empty StateDir (a pod
	// recreated with an emptyDir) the leftovers of a killed restore or upload stay
	// in the data directory as ordinary files, since the server never deletes what
	// it has no record of.
	StateDir string

	// Secret is the per-pod shared secret every call must present as
	// `authorization: Bearer <secret>`. New refuses an empty secret unless
	// AllowUnauthenticated is set.
	Secret string
	// AllowUnauthenticated accepts calls without a secret. Only for local
	// development: anyone who reaches the port can then rewrite the roots.
	AllowUnauthenticated bool
	// TLS, when set, makes the server speak TLS only.
	TLS *tls.Config

	// Limits caps extraction.
	Limits Limits
	// ChunkSize is the size of streamed data messages; zero means
	// sidecarpb.DefaultChunkSize, and values above sidecarpb.MaxChunkSize are
	// refused.
	ChunkSize int
	// CompressionLevel is the flate level, 1 (fastest) to 9, or
	// flate.HuffmanOnly, of the parts of archives that look compressible; the
	// rest is stored or run-encoded at any level. Zero means
	// DefaultCompressionLevel.
	CompressionLevel int

	// DisableStreamArchive makes StreamArchive answer Unimplemented, as a sidecar
	// built before the RPC existed does, so that the backup service takes the
	// older path (CompressFiles to a temp file, then ReadFile). For measuring and
	// testing that fallback against the real server; production leaves it off.
	DisableStreamArchive bool

	// DisableRestoreArchive makes RestoreArchive answer Unimplemented, as a
	// sidecar built before the RPC existed does, so that the backup service
	// stages a restore's archive (WriteFile to a temp file, then ExtractTo). For
	// measuring and testing that fallback against the real server; production
	// leaves it off.
	DisableRestoreArchive bool

	// Quiescer pauses the game's writes while an archive that asks for it
	// (ArchiveOptions.quiesce) is made: ExecHook, or RCON from package rcon. Nil
	// means this sidecar cannot pause the game: archives that require it fail
	// with FailedPrecondition, and those that would merely like it are made
	// without, reporting no method. A Resume owed when the server stopped
	// (even when it was killed) is made when it starts again, which is why the
	// state directory records it.
	Quiescer Quiescer
	// QuiesceTimeout bounds each Pause and each Resume; zero means
	// DefaultQuiesceTimeout.
	QuiesceTimeout time.Duration

	// Logger receives one line per call and the start-up cleanup. Nil means
	// slog.Default(). The secret is never logged.
	Logger *slog.Logger

	// TracerProvider receives a server span per call (otelgrpc), the child of
	// the backup service's span when the call carries its trace context. Nil
	// means otel's global provider.
	TracerProvider trace.TracerProvider
	// MeterProvider receives otelgrpc's RPC metrics. Nil means otel's global
	// provider.
	MeterProvider metric.MeterProvider
	// Propagators read the caller's trace context. Nil means W3C trace
	// context, whatever otel's global propagator is.
	Propagators propagation.TextMapPropagator

	hooks *hooks
}

// hooks let tests act at chosen points of a call; nil in production.
type hooks struct {
	// fileOpened runs once a file's tar header is written, before its content is
	// read, with the file's name in the archive.
	fileOpened func(name string, f *os.File)
	// extracting runs once an extraction's staging directory exists, before the
	// archive is read.
	extracting func()
	// discarding runs as the previous contents start to go after a swap, with
	// the extraction's journal record.
	discarding func(r *record)
	// carrying runs before a restore carries over each kept path; its error
	// fails the restore.
	carrying func(name string) error
	// noMeasure leaves StreamArchive's total unmeasured, to measure what
	// measuring costs.
	noMeasure bool
	// resumeRetry, when positive, is every delay of the background resume,
	// which calls for a hand after ten of them, so that tests need not wait
	// seconds or minutes.
	resumeRetry time.Duration
}

// normalized validates o and fills in the defaults.
func (o Options) normalized() (Options, error) {
	if len(o.Roots) == 0 {
		o.Roots = DefaultRoots()
	}
	roots := make([]string, 0, len(o.Roots))
	for _, r := range o.Roots {
		if !filepath.IsAbs(r) {
			return o, fmt.Errorf("root %q is not an absolute path", r)
		}
		roots = append(roots, filepath.Clean(r))
	}
	slices.Sort(roots)
	o.Roots = slices.Compact(roots)
	if o.ArchiveDir == "" {
		o.ArchiveDir = DefaultArchiveDir
	}
	if !filepath.IsAbs(o.ArchiveDir) {
		return o, fmt.Errorf("archive dir %q is not an absolute path", o.ArchiveDir)
	}
	o.ArchiveDir = filepath.Clean(o.ArchiveDir)
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if !filepath.IsAbs(o.StateDir) {
		return o, fmt.Errorf("state dir %q is not an absolute path", o.StateDir)
	}
	o.StateDir = filepath.Clean(o.StateDir)
	if err := checkStateDir(o.StateDir, o.Roots); err != nil {
		return o, err
	}
	if o.Secret == "" && !o.AllowUnauthenticated {
		return o, errors.New("no secret: set Options.Secret (or AllowUnauthenticated for local development only)")
	}
	o.Limits = o.Limits.withDefaults()
	switch {
	case o.ChunkSize == 0:
		o.ChunkSize = sidecarpb.DefaultChunkSize
	case o.ChunkSize < 0 || o.ChunkSize > sidecarpb.MaxChunkSize:
		return o, fmt.Errorf("chunk size %d outside 1..%d", o.ChunkSize, sidecarpb.MaxChunkSize)
	}
	switch {
	case o.CompressionLevel == 0:
		o.CompressionLevel = DefaultCompressionLevel
	case o.CompressionLevel == flate.HuffmanOnly, o.CompressionLevel >= 1 && o.CompressionLevel <= 9:
	default:
		return o, fmt.Errorf("compression level %d outside 1..9", o.CompressionLevel)
	}
	switch {
	case o.QuiesceTimeout == 0:
		o.QuiesceTimeout = DefaultQuiesceTimeout
	case o.QuiesceTimeout < 0:
		return o, fmt.Errorf("quiesce timeout %s is negative", o.QuiesceTimeout)
	}
	if h, ok := o.Quiescer.(*ExecHook); ok {
		if err := h.check(); err != nil {
			return o, err
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// checkStateDir refuses a state directory that a call could reach: inside a
// root, or containing one. Paths are compared as written and with their
// symbolic links resolved.
func checkStateDir(state string, roots []string) error {
	rstate := resolvePath(state)
	for _, r := range roots {
		rroot := resolvePath(r)
		switch {
		case within(state, r), within(rstate, rroot):
			return fmt.Errorf("state dir %s lies inside the root %s: calls could reach the journal; move it outside every root", state, r)
		case within(r, state), within(rroot, rstate):
			return fmt.Errorf("state dir %s contains the root %s: calls could reach the journal; move it outside every root", state, r)
		}
	}
	return nil
}

// within reports whether p is dir or lies inside it, lexically.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// resolvePath resolves the symbolic links of the longest part of p that exists.
func resolvePath(p string) string {
	rest := ""
	for q := p; ; q = filepath.Dir(q) {
		if r, err := filepath.EvalSymlinks(q); err == nil {
			return filepath.Join(r, rest)
		}
		if q == filepath.Dir(q) {
			return p
		}
		rest = filepath.Join(filepath.Base(q), rest)
	}
}

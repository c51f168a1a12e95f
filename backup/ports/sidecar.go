package ports

import (
	"context"
	"io"
	"time"
)

// SidecarDialer connects to the FileIO sidecar running beside a game server. The host
// knows where each sidecar listens and which secret it expects.
type SidecarDialer interface {
	// Dial returns a connection to the sidecar provision. The caller closes it.
	// Returns an error wrapping ErrCluster when the sidecar cannot be reached.
	Dial(ctx context.Context, sidecar Provision) (FileIO, error)
}

// FileIO is the sidecar's file service: the only thing that touches the customer's
// files. Paths are absolute paths inside the game-server pod (for example /data and
// /tmp/backup-{id}.tar.gz). Every method returns an error wrapping ErrCluster when
// the sidecar fails or refuses the call, with the sidecar's reason as the cause.
type FileIO interface {
	// Dirs returns where this game server's data and scratch space are, as its
	// sidecar sees them. Empty fields mean the service's defaults.
	Dirs() SidecarDirs

	// CompressFiles writes a gzip-compressed tar of the sources to output (staged in
	// the pod's scratch space), leaving out what opts excludes and pausing the
	// game's writes as opts asks, and reports what it archived, skipped and did.
	// With QuiesceRequired, a game that cannot be paused fails the call with an
	// error wrapping ErrQuiesceFailed, and no archive is made.
	CompressFiles(ctx context.Context, sources []string, output string, opts ArchiveOptions) (ArchiveReport, error)

	// StreamArchive streams a gzip-compressed tar of the sources as it is produced,
	// writing nothing to disk. Returns ErrUnsupported if the sidecar does not offer
	// it; the caller then falls back to CompressFiles and ReadFile. The returned
	// stream fails if the archive cannot be completed. opts is as CompressFiles'.
	StreamArchive(ctx context.Context, sources []string, opts ArchiveOptions) (ArchiveStream, error)

	// ReadFile streams the file's contents.
	ReadFile(ctx context.Context, path string) (io.ReadCloser, error)

	// WriteFile writes everything read from r to path. size is the number of bytes
	// r will yield (or -1 if unknown): the sidecar refuses early, naming the sizes,
	// when it lacks the space, and refuses if a different number arrives. A failed
	// or cancelled write leaves no file behind.
	WriteFile(ctx context.Context, path string, size int64, r io.Reader) error

	// ExtractTo extracts the gzip-compressed tar at source into destination (what
	// tar -xzf source -C destination does), refusing any archive that would write
	// outside destination. On success destination holds exactly the archive's
	// contents, plus the paths of its previous contents that the gitignore-style
	// patterns keep match (what the backup left out, carried over); on failure it
	// is left as it was.
	ExtractTo(ctx context.Context, source, destination string, keep []string) error

	// RestoreArchive extracts the gzip-compressed tar read from archive into
	// destination while it arrives, hashing every byte, and swaps it in only if
	// exactly size bytes arrived and their hex SHA-256 is sha256: the verified
	// restore of WriteFile, a checksum and ExtractTo, without staging the archive.
	// On any failure, a cancelled ctx or a cut archive included, destination is left
	// as it was and nothing staged remains. Returns an error wrapping
	// ErrArchiveDamaged when the bytes do not match, and ErrUnsupported, before
	// reading anything from archive, if the sidecar does not offer it; the caller
	// then falls back to WriteFile and ExtractTo. keep is as ExtractTo's.
	RestoreArchive(ctx context.Context, destination string, archive io.Reader, size int64, sha256 string, keep []string) error

	// DeleteFile removes the file; deleting a missing file is not an error.
	DeleteFile(ctx context.Context, path string) error

	// Close releases the connection.
	Close() error
}

// SidecarDirs are a game server's directories as its sidecar sees them: the data
// that is backed up and restored, and scratch space for staged archives. Both are
// absolute paths in the pod; an empty one means the service's default
// (backup.Options.DataDir, TempDir).
type SidecarDirs struct {
	Data string
	Temp string
}

// ArchiveStream is an archive being streamed from the sidecar.
type ArchiveStream interface {
	io.ReadCloser
	// Report describes the archive. It is complete once Read has returned io.EOF;
	// before that, or from a sidecar that does not report, it is the zero value.
	Report() ArchiveReport
	// Progress is how far the archive has got, as of the bytes read so far: done
	// is the bytes of file contents archived, total the size of all the files
	// being archived (0 until the sidecar has measured it). Both are 0 from a
	// sidecar that does not report progress. Safe to call while another
	// goroutine reads.
	Progress() (done, total int64)
}

// ArchiveReport is what the sidecar put in an archive and what it had to skip.
type ArchiveReport struct {
	// Entries is the number of directories, files and links archived.
	Entries int
	// Bytes is the size of the archived file contents, before compression.
	Bytes int64
	// Skipped lists files the archive does not hold faithfully, in archive order,
	// at most MaxSkippedListed of them.
	Skipped []SkippedFile
	// SkippedCount is how many files were skipped in all.
	SkippedCount int
	// Excludes are the patterns that left paths out: the .savepointignore file's
	// at the top of the source, then ArchiveOptions.Excludes. Empty from a
	// sidecar that predates excludes.
	Excludes []string
	// Quiesce is what the sidecar did to pause the game's writes.
	Quiesce QuiesceReport
}

// ArchiveOptions say what an archive leaves out and whether the game pauses its
// writes while it is written. The zero value archives everything and asks the
// game nothing.
type ArchiveOptions struct {
	// Excludes are gitignore-style patterns, relative to the source directory,
	// of paths to leave out, applied after the source's .savepointignore file.
	Excludes []string
	// Quiesce says whether the sidecar asks the game to flush and pause its
	// writes while the archive is written, by the method the sidecar is
	// configured with (its own configuration: no command travels in the call).
	Quiesce QuiescePolicy
}

// QuiescePolicy says whether a create pauses the game's writes, and what a
// failure to pause them means.
type QuiescePolicy string

// The quiesce policies.
const (
	// QuiesceOff asks the game nothing.
	QuiesceOff QuiescePolicy = ""
	// QuiesceContinue pauses the game; when that fails the archive is made
	// anyway and the report carries a warning.
	QuiesceContinue QuiescePolicy = "continue"
	// QuiesceRequired pauses the game; when that fails the archive is not made
	// and the call fails.
	QuiesceRequired QuiescePolicy = "required"
)

// QuiesceReport is what a sidecar did to pause the game's writes while it
// archived them.
type QuiesceReport struct {
	// Method is how the game was asked ("rcon", "exec"); empty when it was not
	// (the sidecar has no method configured, predates quiesce, or was not asked).
	Method string
	// Paused is how long the game's writes were paused: what players feel.
	Paused time.Duration
	// Warning says, in words a customer can read, why pausing or resuming the
	// game failed; empty when it worked.
	Warning string
}

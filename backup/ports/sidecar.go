package ports

import (
	"context"
	"io"
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
	// CompressFiles writes a gzip-compressed tar of the sources to output (the seed's
	// path: the archive is staged in the pod's /tmp).
	CompressFiles(ctx context.Context, sources []string, output string) error

	// StreamArchive streams a gzip-compressed tar of the sources as it is produced,
	// writing nothing to disk. Returns ErrUnsupported if the sidecar does not offer
	// it; the caller then falls back to CompressFiles and ReadFile. The returned
	// reader fails if the archive cannot be completed.
	StreamArchive(ctx context.Context, sources []string) (io.ReadCloser, error)

	// ReadFile streams the file's contents.
	ReadFile(ctx context.Context, path string) (io.ReadCloser, error)

	// WriteFile writes everything read from r to path. size is the number of bytes
	// r will yield (or -1 if unknown): the sidecar refuses early, naming the sizes,
	// when it lacks the space, and refuses if a different number arrives. A failed
	// or cancelled write leaves no file behind.
	WriteFile(ctx context.Context, path string, size int64, r io.Reader) error

	// ExtractTo extracts the gzip-compressed tar at source into destination (the
	// seed's tar -xzf source -C destination), refusing any archive that would write
	// outside destination. On success destination holds exactly the archive's
	// contents; on failure it is left as it was.
	ExtractTo(ctx context.Context, source, destination string) error

	// DeleteFile removes the file; deleting a missing file is not an error.
	DeleteFile(ctx context.Context, path string) error

	// Close releases the connection.
	Close() error
}

package server

import (
	"io/fs"
	"strings"
	"unicode/utf8"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Reasons an archive gives for a file it does not hold faithfully, in words a
// customer can read.
const (
	reasonPermission = "permission denied"
	reasonShrank     = "changed while it was being read: it shrank, so the copy is incomplete"
	reasonChanged    = "changed while it was being read: the copy may be inconsistent"
	reasonSocket     = "a socket"
	reasonFIFO       = "a named pipe (FIFO)"
	reasonDevice     = "a device file"
	reasonIrregular  = "not a regular file, directory or link"
)

// maxSkippedPathBytes caps a reported path: a report is kept with every backup,
// and a path of thousands of bytes tells a customer no more than its first few
// hundred.
const maxSkippedPathBytes = 1024

// archiveReport is what an archive holds and what it had to skip.
type archiveReport struct {
	entries int
	bytes   int64
	skipped []ports.SkippedFile
	count   int
	// excludes are the patterns that left paths out, as the report lists them.
	excludes []string
}

// skip records a file the archive does not hold faithfully. name is the path
// relative to the archived source, as the archive names it.
func (r *archiveReport) skip(name, reason string) {
	r.count++
	if len(r.skipped) < ports.MaxSkippedListed {
		r.skipped = append(r.skipped, ports.SkippedFile{Path: skippedPath(name), Reason: reason})
	}
}

func (r *archiveReport) proto() *sidecarpb.ArchiveReport {
	out := &sidecarpb.ArchiveReport{Entries: int64(r.entries), Bytes: r.bytes, SkippedCount: int64(r.count), Excludes: r.excludes}
	for _, s := range r.skipped {
		out.Skipped = append(out.Skipped, &sidecarpb.SkippedFile{Path: s.Path, Reason: s.Reason})
	}
	return out
}

// skippedPath makes a file name fit a report: valid UTF-8 (proto3 strings must
// be, and a customer reads it), and at most maxSkippedPathBytes long, cut at a
// character boundary with an ellipsis.
func skippedPath(name string) string {
	p := strings.ToValidUTF8(name, "\uFFFD")
	if len(p) <= maxSkippedPathBytes {
		return p
	}
	const ellipsis = "…"
	cut := maxSkippedPathBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + ellipsis
}

// specialReason says why a file of mode m, which is neither a directory, a
// regular file nor a link, cannot be archived.
func specialReason(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return reasonSocket
	case m&fs.ModeNamedPipe != 0:
		return reasonFIFO
	case m&fs.ModeDevice != 0:
		return reasonDevice
	}
	return reasonIrregular
}

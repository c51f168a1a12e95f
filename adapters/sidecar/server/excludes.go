package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/internal/exclude"
)

// withExcludes gives each directory source of an archive its matcher: the
// patterns of the ignore file at its top, then the request's. It returns the
// patterns that apply, for the report: every source's file's, then the
// request's. A pattern set over the limits or not valid syntax is refused with
// InvalidArgument, saying which limit or pattern, before anything is written.
// A single-file source takes no patterns: they are relative to a directory.
func withExcludes(srcs []archiveSource, req []string) ([]string, error) {
	var limits exclude.Limits // the defaults, which the backup service checks too
	reqm, err := exclude.Parse(req, limits)
	if err != nil {
		return nil, reasoned(codes.InvalidArgument, sidecarpb.ReasonInvalidExcludes, err.Error(), err.Error())
	}
	reqPatterns := reqm.Patterns()
	var files []string
	for i := range srcs {
		src := &srcs[i]
		if src.file != "" {
			continue
		}
		lines, err := exclude.ReadFile(nonblockFS{src.root}, exclude.FileName, limits)
		if err != nil {
			return nil, excludeStatus(err, src.loc.path)
		}
		m, err := exclude.ParseSets(limits, lines, req)
		if err != nil {
			return nil, excludeStatus(err, src.loc.path)
		}
		if m.Empty() {
			continue // the walk then takes exactly the path it took before patterns existed
		}
		src.match = m
		// The matcher's patterns are the file's, then the request's.
		all := m.Patterns()
		files = append(files, all[:len(all)-len(reqPatterns)]...)
	}
	return append(files, reqPatterns...), nil
}

// keepMatcher compiles the keep patterns of a restore: a backup's recorded
// patterns, its ignore file's and its request's, so two sets' worth. Nil when
// there are none.
func keepMatcher(keep []string) (*exclude.Matcher, error) {
	m, err := exclude.Parse(keep, exclude.Limits{}.Joined(2))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "keep: %v", err)
	}
	if m.Empty() {
		return nil, nil
	}
	return m, nil
}

// excludeStatus is the status of a failure to read or parse the ignore file of
// the source dir.
func excludeStatus(err error, dir string) error {
	var le *exclude.LimitError
	var pe *exclude.PatternError
	if errors.As(err, &le) || errors.As(err, &pe) {
		return reasoned(codes.InvalidArgument, sidecarpb.ReasonInvalidExcludes, fmt.Sprintf("%s/%s: %v", dir, exclude.FileName, err), exclude.FileName+": "+err.Error())
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fsStatus(err, dir+"/"+exclude.FileName)
	}
	return status.Errorf(codes.InvalidArgument, "%s/%s: %v", dir, exclude.FileName, err) // not a regular file
}

// nonblockFS reads a source's ignore file through its root, never blocking on
// a FIFO put in its place.
type nonblockFS struct{ root *os.Root }

func (n nonblockFS) Open(name string) (fs.File, error) {
	return n.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
}

func (n nonblockFS) Stat(name string) (fs.FileInfo, error) { return n.root.Stat(name) }

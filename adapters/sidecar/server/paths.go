package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// location is a request path split into the configured root that contains it and
// the path below that root, which is what os.Root methods take.
type location struct {
	path string // the cleaned absolute path, for messages
	root string // the root directory containing path
	rel  string // path relative to root; "." for the root itself
}

// locate checks that p is an absolute path inside one of the roots. It is purely
// lexical: os.Root then makes sure symbolic links met on the way do not leave the
// root. The innermost root wins when roots nest.
func locate(roots []string, p string) (location, error) {
	switch {
	case p == "":
		return location{}, status.Error(codes.InvalidArgument, "empty path")
	case strings.IndexByte(p, 0) >= 0:
		return location{}, status.Errorf(codes.InvalidArgument, "path %q contains a NUL byte", p)
	case !filepath.IsAbs(p):
		return location{}, status.Errorf(codes.InvalidArgument, "path %q is not absolute", p)
	}
	clean := filepath.Clean(p)
	best := location{}
	for _, r := range roots {
		rel, err := filepath.Rel(r, clean)
		if err != nil || !(rel == "." || filepath.IsLocal(rel)) {
			continue
		}
		if len(r) > len(best.root) {
			best = location{path: clean, root: r, rel: rel}
		}
	}
	if best.root == "" {
		return location{}, status.Errorf(codes.PermissionDenied, "%s is outside the sidecar's roots (%s)", clean, strings.Join(roots, ", "))
	}
	return best, nil
}

// openRoot opens the root containing loc. Roots are opened per call, so a volume
// mounted after the server started is seen.
func openRoot(loc location) (*os.Root, error) {
	r, err := os.OpenRoot(loc.root)
	if err != nil {
		return nil, fsStatus(err, loc.root)
	}
	return r, nil
}

// isEscape matches os.Root's refusal to follow a link out of the root; the
// standard library does not export the error value.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// reasoned is a status with an ErrorInfo detail: reason, and detail, when not
// empty, as the message a customer may read.
func reasoned(code codes.Code, reason, msg, detail string) error {
	info := &errdetails.ErrorInfo{Reason: reason, Domain: sidecarpb.ErrorDomain}
	if detail != "" {
		info.Metadata = map[string]string{"detail": detail}
	}
	st, err := status.New(code, msg).WithDetails(info)
	if err != nil { // only for a detail that cannot be marshalled: never ours
		return status.Error(code, msg)
	}
	return st.Err()
}

// fsStatus turns a file-system error into a gRPC status with a message that names
// the path but not the server's internals.
func fsStatus(err error, path string) error {
	if err == nil {
		return nil
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	// The path the call named is the one in the message: the names inside the
	// error (a temporary file's, a rename's) are the server's business.
	msg := err.Error()
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		msg = pe.Err.Error()
	case errors.As(err, &le):
		msg = le.Err.Error()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Errorf(codes.Canceled, "%s: %s", path, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.DeadlineExceeded, "%s: %s", path, msg)
	case errors.Is(err, fs.ErrNotExist):
		return status.Errorf(codes.NotFound, "%s does not exist", path)
	case isEscape(err):
		return status.Errorf(codes.PermissionDenied, "%s leads outside the sidecar's roots through a symbolic link", path)
	case errors.Is(err, fs.ErrPermission):
		return status.Errorf(codes.PermissionDenied, "%s: %s", path, msg)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return status.Errorf(codes.ResourceExhausted, "%s: %s", path, msg)
	case errors.Is(err, syscall.EISDIR):
		return status.Errorf(codes.FailedPrecondition, "%s is a directory", path)
	case errors.Is(err, syscall.ENOTDIR):
		return status.Errorf(codes.FailedPrecondition, "%s: a parent is not a directory", path)
	case errors.Is(err, syscall.ENXIO):
		// What opening a socket answers.
		return status.Errorf(codes.FailedPrecondition, "%s is not a regular file", path)
	case errors.Is(err, syscall.ENAMETOOLONG), errors.Is(err, syscall.ELOOP):
		return status.Errorf(codes.InvalidArgument, "%s: %s", path, msg)
	}
	return status.Errorf(codes.Internal, "%s: %s", path, msg)
}

// freeBytes reports the bytes available to unprivileged users on the file system
// holding the directory open in root.
func freeBytes(root *os.Root, dir string) (int64, error) {
	d, err := root.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return statfsFree(d)
}

// formatBytes renders n for people: "1.5 GiB (1610612736 bytes)".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}

func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

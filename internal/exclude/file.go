package exclude

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// FileName is the name of the ignore file at the top of a source directory,
// whose patterns apply before a request's.
const FileName = ".savepointignore"

// ReadFile reads the lines of the ignore file name in fsys, for Parse. A
// missing file holds no patterns (nil, nil). A file larger than the
// MaxFileBytes of l is refused with a *LimitError ("file size") from its size
// alone, without reading it; one that grows past it while read is refused
// too. A name that is not a regular file is an error. Carriage returns at the
// ends of lines and a leading UTF-8 byte order mark are dropped.
func ReadFile(fsys fs.FS, name string, l Limits) ([]string, error) {
	l = l.WithDefaults()
	info, err := fs.Stat(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	tooBig := func(got int64) error {
		return &LimitError{Limit: "file size", Pattern: name, Max: l.MaxFileBytes, Got: got}
	}
	if info.Size() > l.MaxFileBytes {
		return nil, tooBig(info.Size())
	}
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, err
	} else if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, l.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > l.MaxFileBytes {
		return nil, tooBig(int64(len(data)))
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	return lines, nil
}

//go:build !linux

package server

import (
	"context"
	"path"
)

// measureDir adds up the sizes of the regular files under rel, listing each
// directory through src's os.Root.
func measureDir(ctx context.Context, src archiveSource, rel string, j *journal) (int64, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	d, err := src.root.Open(rel)
	if err != nil {
		return 0, true
	}
	entries, err := d.ReadDir(-1)
	if err == nil {
		entries = withoutLive(j, d, entries)
	}
	d.Close()
	var total int64
	for _, e := range entries {
		if src.match != nil && src.match.Match(path.Join(rel, e.Name()), e.IsDir()) {
			continue
		}
		switch t := e.Type(); {
		case t.IsDir():
			n, ok := measureDir(ctx, src, path.Join(rel, e.Name()), j)
			if !ok {
				return 0, false
			}
			total += n
		case t.IsRegular():
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				total += info.Size()
			}
		}
	}
	return total, true
}

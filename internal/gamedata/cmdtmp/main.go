package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/pgzip"
)

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func main() {
	dir := os.Args[1]
	for _, lvl := range []int{0, 1} {
		for _, bs := range []int{256 << 10, 1 << 20, 4 << 20} {
			c := &counter{}
			t0 := time.Now()
			gz, _ := pgzip.NewWriterLevel(c, lvl)
			gz.SetConcurrency(bs, 4)
			tw := tar.NewWriter(gz)
			var total int64
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				info, _ := d.Info()
				h, _ := tar.FileInfoHeader(info, "")
				h.Name, _ = filepath.Rel(dir, p)
				tw.WriteHeader(h)
				if d.Type().IsRegular() {
					f, _ := os.Open(p)
					n, _ := io.Copy(tw, f)
					total += n
					f.Close()
				}
				return nil
			})
			tw.Close()
			gz.Close()
			el := time.Since(t0)
			fmt.Printf("level %d block %d: %.0f MB/s ratio %.3f\n", lvl, bs, float64(total)/el.Seconds()/1e6, float64(c.n)/float64(total))
		}
	}
}

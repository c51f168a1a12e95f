package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

// BenchmarkWriteArchive measures the tar-writing loop (walk, read, tar headers,
// parallel gzip) on a 32 MiB game-like tree, with allocations, so that a regression
// in the hot path shows.
func BenchmarkWriteArchive(b *testing.B) {
	const size = 32 << 20
	dir := filepath.Join(b.TempDir(), "data")
	if _, err := gamedata.Generate(context.Background(), dir, gamedata.Options{Size: size, Seed: 2}); err != nil {
		b.Fatal(err)
	}
	roots := []string{filepath.Dir(dir)}
	log := slog.New(slog.DiscardHandler)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		srcs, err := openSources(roots, []string{dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := writeArchive(context.Background(), io.Discard, srcs, DefaultCompressionLevel, nil, log, nil, nil, nil); err != nil {
			b.Fatal(err)
		}
		closeSources(srcs)
	}
}

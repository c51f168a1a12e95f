package gamedata_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

// describe lists every entry of the tree with its type, mode, size, modification
// time and content hash: two trees are identical when their descriptions are.
func describe(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
			desc += " " + hex.EncodeToString(h.Sum(nil))
		} else if d.IsDir() {
			desc = fmt.Sprintf("%v %d", info.Mode(), info.ModTime().UnixNano())
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// generator makes a deterministic tree: Generate or GenerateText.
type generator func(ctx context.Context, dir string, opts gamedata.Options) (gamedata.Summary, error)

// testGenerator holds generate to what every generator promises: the same seed
// gives an identical tree whatever the number of workers, another seed another
// tree, and a tree holds exactly the bytes asked for, as its summary says;
// check adds what one generator's summary says beyond that (files, the number
// of regular files found).
func testGenerator(t *testing.T, generate generator, size int64, check func(t *testing.T, sum gamedata.Summary, files int)) {
	ctx := context.Background()
	t.Run("the same seed gives an identical tree whatever the number of workers", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		if _, err := generate(ctx, a, gamedata.Options{Size: size, Seed: 7, Workers: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := generate(ctx, b, gamedata.Options{Size: size, Seed: 7, Workers: 4}); err != nil {
			t.Fatal(err)
		}
		da, db := describe(t, a), describe(t, b)
		if len(da) != len(db) {
			t.Fatalf("trees differ in entry count: %d vs %d", len(da), len(db))
		}
		for name, desc := range da {
			if db[name] != desc {
				t.Fatalf("%s differs:\n%s\n%s", name, desc, db[name])
			}
		}
	})

	t.Run("another seed gives another tree", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		for i, dir := range []string{a, b} {
			if _, err := generate(ctx, dir, gamedata.Options{Size: 1 << 20, Seed: uint64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(describe(t, a)) == fmt.Sprint(describe(t, b)) {
			t.Fatal("seeds 1 and 2 produced the same tree")
		}
	})

	for _, want := range []int64{1, 4096, 1 << 20, size + 12345} {
		t.Run(fmt.Sprintf("a %d-byte tree holds exactly %d bytes of files", want, want), func(t *testing.T) {
			dir := t.TempDir()
			sum, err := generate(ctx, dir, gamedata.Options{Size: want, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			files := 0
			for _, desc := range describe(t, dir) {
				var mode string
				var n int64
				fmt.Sscan(desc, &mode, &n)
				if !strings.HasPrefix(mode, "d") {
					total += n
					files++
				}
			}
			if total != want || sum.Bytes != want {
				t.Fatalf("files hold %d bytes, summary says %d, want %d", total, sum.Bytes, want)
			}
			check(t, sum, files)
		})
	}
}

func TestGenerate(t *testing.T) {
	const size = 24 << 20
	ctx := context.Background()

	testGenerator(t, gamedata.Generate, size, func(t *testing.T, sum gamedata.Summary, files int) {
		if files != sum.Files {
			t.Fatalf("found %d files, summary says %d", files, sum.Files)
		}
	})

	t.Run("the tree looks like a game server: mostly region data, many small files", func(t *testing.T) {
		looksLikeAGameServer(t, size)
	})

	t.Run("refuses a directory that is not empty", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := gamedata.Generate(ctx, dir, gamedata.Options{Size: 1}); err == nil {
			t.Fatal("Generate wrote into a non-empty directory")
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		dir := b.TempDir()
		if _, err := gamedata.Generate(context.Background(), dir, gamedata.Options{Size: size, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
	}
}

// looksLikeAGameServer checks a generated tree's shape: mostly region data, a
// long tail of small files, and the files a Minecraft server has.
func looksLikeAGameServer(t *testing.T, size int64) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := gamedata.Generate(ctx, dir, gamedata.Options{Size: size, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	if share := float64(sum.RegionBytes) / float64(sum.Bytes); share < 0.8 {
		t.Errorf("region files hold %.0f%% of the bytes, want at least 80%%", share*100)
	}
	small := 0
	for _, desc := range describe(t, dir) {
		var mode string
		var n int64
		fmt.Sscan(desc, &mode, &n)
		if !strings.HasPrefix(mode, "d") && n < 16<<10 {
			small++
		}
	}
	if small < 100 {
		t.Errorf("only %d files under 16 KiB, want a long tail of small files", small)
	}
	for _, p := range []string{"server.properties", "paper.jar", "world/level.dat", "world/session.lock", "world/datapacks"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
}

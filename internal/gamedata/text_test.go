package gamedata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/internal/gamedata"
)

func TestGenerateText(t *testing.T) {
	const size = 16 << 20

	testGenerator(t, gamedata.GenerateText, size, func(t *testing.T, sum gamedata.Summary, _ int) {
		if sum.RegionBytes != 0 {
			t.Fatalf("the summary says %d bytes in regions, want none", sum.RegionBytes)
		}
	})

	t.Run("the tree looks like a FiveM server: resources, locales, JSON and logs", func(t *testing.T) {
		looksLikeAFiveMServer(t, size)
	})
}

// looksLikeAFiveMServer checks a generated text tree's shape, and that gzip
// shrinks it the way it shrinks real code and logs: well, but not to nothing.
func looksLikeAFiveMServer(t *testing.T, size int64) {
	dir := t.TempDir()
	if _, err := gamedata.GenerateText(context.Background(), dir, gamedata.Options{Size: size, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	bytesBy := map[string]int64{}
	var all bytes.Buffer
	locales := map[string][]string{} // resource directory: each locale file's keys
	keyRE := regexp.MustCompile(`\['([a-z_]+)'\] =`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		all.Write(b)
		bytesBy[filepath.Ext(p)] += int64(len(b))
		if filepath.Base(filepath.Dir(p)) == "locales" {
			res := filepath.Dir(filepath.Dir(p))
			var keys []string
			for _, m := range keyRE.FindAllSubmatch(b, 20) {
				keys = append(keys, string(m[1]))
			}
			locales[res] = append(locales[res], strings.Join(keys, ","))
		}
		if filepath.Base(p) == "fxmanifest.lua" && !bytes.HasPrefix(b, []byte("fx_version 'cerulean'")) {
			t.Errorf("%s does not start like a manifest: %.40q", p, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for ext, min := range map[string]float64{".lua": 0.3, ".json": 0.1, ".log": 0.2} {
		if share := float64(bytesBy[ext]) / float64(size); share < min {
			t.Errorf("%s files hold %.0f%% of the bytes, want at least %.0f%%", ext, 100*share, 100*min)
		}
	}
	shared := 0
	for res, keys := range locales {
		for _, k := range keys[1:] {
			// A shorter file holds a prefix of the longer ones' keys.
			if !strings.HasPrefix(k, keys[0]) && !strings.HasPrefix(keys[0], k) {
				t.Errorf("%s: locale files with other keys: %q and %q", res, keys[0], k)
			}
		}
		if len(keys) > 1 {
			shared++
		}
	}
	if shared < 5 {
		t.Errorf("%d resources with more than one locale, want several", shared)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, 6)
	zw.Write(all.Bytes())
	zw.Close()
	if ratio := float64(gz.Len()) / float64(all.Len()); ratio < 0.15 || ratio > 0.3 {
		t.Errorf("gzip -6 shrinks the tree to %.3f of its size, want real text's 0.15 to 0.3", ratio)
	}
}

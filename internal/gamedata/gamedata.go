// Package gamedata generates deterministic directories that look like a Minecraft
// server's data: world region files full of already-compressed chunk data, many
// small player, config and log files, a few jars, a couple of empty directories.
//
// The generator exists so that tests and benchmarks of backup and restore run on data
// with the shape customers have (mostly incompressible bytes in large files, plus a
// long tail of small, compressible ones) without shipping gigabytes of fixtures. The
// same Options always produce the same tree: names, contents, modes and modification
// times, whatever the number of workers.
//
// GenerateText makes the other shape customers have: a tree of text (Lua
// resources, JSON, logs, as a FiveM server holds), where compression pays.
package gamedata

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultSize is the total size generated when Options.Size is zero: the size of the
// dataset `make bench` measures.
const DefaultSize int64 = 1 << 30

// Options describes the tree to generate. The zero value generates DefaultSize bytes
// from seed 0.
type Options struct {
	// Size is the total number of bytes of the regular files; the generated tree hits
	// it exactly. Zero means DefaultSize.
	Size int64
	// Seed selects the tree; the same seed and size give an identical tree.
	Seed uint64
	// Workers is how many files are written at once. Zero means GOMAXPROCS. It does
	// not change the result.
	Workers int
}

// Summary counts what Generate wrote.
type Summary struct {
	// Files is the number of regular files, Dirs the number of directories below the
	// root, and Bytes the total size of the regular files.
	Files int
	Dirs  int
	Bytes int64
	// RegionBytes is the part of Bytes in region files (already-compressed data).
	RegionBytes int64
}

// kind says how a file's bytes are made, which decides how well gzip compresses it.
type kind int

const (
	kindEmpty  kind = iota // zero bytes (session.lock)
	kindText               // configs, JSON stats, logs: compresses well
	kindRandom             // gzip'd NBT, gzip'd logs: already compressed
	kindRegion             // Anvil region file: sector-aligned zlib chunks
	kindJar                // zip archive: mostly compressed entries
)

type file struct {
	path string
	kind kind
	size int64
	mode fs.FileMode
}

// Generate writes the tree described by opts into dir, which must be empty or absent.
// It stops early, returning ctx's error, when ctx is cancelled; the partial tree is
// then left for the caller to remove.
func Generate(ctx context.Context, dir string, opts Options) (Summary, error) {
	return generate(ctx, dir, opts, plan)
}

// generate writes the tree that planner lists for opts into dir.
func generate(ctx context.Context, dir string, opts Options, planner func(int64, uint64) ([]file, []string)) (Summary, error) {
	if opts.Size < 0 {
		return Summary{}, fmt.Errorf("gamedata: negative size %d", opts.Size)
	}
	if opts.Size == 0 {
		opts.Size = DefaultSize
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("gamedata: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Summary{}, fmt.Errorf("gamedata: %w", err)
	}
	if len(entries) > 0 {
		return Summary{}, fmt.Errorf("gamedata: %s is not empty", dir)
	}

	files, emptyDirs := planner(opts.Size, opts.Seed)
	dirs := map[string]bool{}
	for _, d := range emptyDirs {
		addDirs(dirs, d)
	}
	var sum Summary
	for _, f := range files {
		addDirs(dirs, filepath.Dir(f.path))
		sum.Files++
		sum.Bytes += f.size
		if f.kind == kindRegion {
			sum.RegionBytes += f.size
		}
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	slices.Sort(dirList) // parents sort before their children
	for _, d := range dirList {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return Summary{}, fmt.Errorf("gamedata: %w", err)
		}
	}
	sum.Dirs = len(dirList)

	if err := writeAll(ctx, dir, files, opts.Seed, workers); err != nil {
		return Summary{}, err
	}

	// Creating files touched the directories' times; set them last, deepest first.
	base := baseTime(opts.Seed)
	for i, d := range slices.Backward(dirList) {
		t := base.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(filepath.Join(dir, d), t, t); err != nil {
			return Summary{}, fmt.Errorf("gamedata: %w", err)
		}
	}
	return sum, nil
}

func addDirs(dirs map[string]bool, d string) {
	for d != "." && d != "" && !dirs[d] {
		dirs[d] = true
		d = filepath.Dir(d)
	}
}

func baseTime(seed uint64) time.Time {
	return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed%365) * 24 * time.Hour)
}

func writeAll(ctx context.Context, dir string, files []file, seed uint64, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := bufio.NewWriterSize(nil, 256<<10)
			for i := range next {
				if err := writeFile(dir, files[i], i, seed, buf); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("gamedata: %w", err)
	}
	return nil
}

func writeFile(dir string, f file, index int, seed uint64, buf *bufio.Writer) (err error) {
	path := filepath.Join(dir, f.path)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	buf.Reset(out)
	rng := rand.NewChaCha8(fileSeed(seed, index))
	w := &limitWriter{w: buf, left: f.size}
	switch f.kind {
	case kindEmpty:
	case kindText:
		writeText(w, rand.New(rng), strings.HasSuffix(f.path, ".json"))
	case kindRandom:
		writeRandom(w, rng, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	case kindRegion:
		writeRegion(w, rng)
	case kindJar:
		writeJar(w, rng)
	default:
		writeFiveM(w, rand.New(rng), f)
	}
	if w.left > 0 {
		return fmt.Errorf("%s: generator stopped %d bytes short", f.path, w.left)
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	if err := os.Chmod(path, f.mode); err != nil { // the umask must not change the tree
		return err
	}
	t := baseTime(seed).Add(time.Duration(index) * time.Minute)
	return os.Chtimes(path, t, t)
}

// fileSeed derives an independent stream per file, so workers can write files in any
// order and still produce the same bytes.
func fileSeed(seed uint64, index int) [32]byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[0:], seed)
	binary.LittleEndian.PutUint64(s[8:], uint64(index))
	copy(s[16:], "savepoint/gdata")
	return s
}

// limitWriter writes exactly left bytes and then reports errFull, which the content
// writers take as "done": they produce endless plausible content and the limit cuts it.
type limitWriter struct {
	w    io.Writer
	left int64
	err  error
}

var errFull = errors.New("file full")

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	full := false
	if int64(len(p)) >= l.left {
		p = p[:l.left]
		full = true
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	if err == nil && full {
		err = errFull
	}
	l.err = err
	return n, err
}

func writeRandom(w *limitWriter, rng *rand.ChaCha8, header []byte) {
	if _, err := w.Write(header); err != nil {
		return
	}
	var block [32 << 10]byte
	for {
		_, _ = rng.Read(block[:])
		if _, err := w.Write(block[:]); err != nil {
			return
		}
	}
}

// writeRegion lays out an Anvil region file: an 8 KiB header of chunk locations and
// timestamps, then chunks of zlib data (random bytes: incompressible) each padded with
// zeros to a 4 KiB sector, which is what makes real region files shrink a little
// under gzip.
func writeRegion(w *limitWriter, src *rand.ChaCha8) {
	rng := rand.New(src)
	var header [8192]byte
	sector := uint32(2)
	for i := range 1024 {
		n := uint32(1 + rng.IntN(4))
		binary.BigEndian.PutUint32(header[i*4:], sector<<8|n)
		binary.BigEndian.PutUint32(header[4096+i*4:], uint32(1_700_000_000+rng.IntN(10_000_000)))
		sector += n
	}
	if _, err := w.Write(header[:]); err != nil {
		return
	}
	var chunk [4 * 4096]byte
	for {
		sectors := 1 + rng.IntN(4)
		payload := sectors*4096 - rng.IntN(4096) - 5
		if payload < 16 {
			payload = 16
		}
		binary.BigEndian.PutUint32(chunk[0:], uint32(payload+1))
		chunk[4] = 2 // zlib
		chunk[5], chunk[6] = 0x78, 0x9c
		_, _ = src.Read(chunk[7 : 5+payload])
		clear(chunk[5+payload : sectors*4096])
		if _, err := w.Write(chunk[:sectors*4096]); err != nil {
			return
		}
	}
}

// writeJar writes a zip-like file: local headers with readable class names followed
// by deflated (random) bodies.
func writeJar(w *limitWriter, src *rand.ChaCha8) {
	rng := rand.New(src)
	var body [24 << 10]byte
	for i := 0; ; i++ {
		name := fmt.Sprintf("PK\x03\x04\x14\x00\x08\x08\x08\x00com/example/plugin/%s%d.class", pick(rng, words), i)
		if _, err := io.WriteString(w, name); err != nil {
			return
		}
		n := 512 + rng.IntN(len(body)-512)
		_, _ = src.Read(body[:n])
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
	}
}

var words = strings.Fields(`minecraft stone dirt grass oak spruce birch jungle acacia
	diamond iron gold emerald redstone lapis coal copper netherite obsidian player
	zombie skeleton creeper spider enderman villager pillager chunk region biome
	dimension overworld nether end spawn tick entity block item inventory health
	hunger experience level world server thread main info warn error joined left
	game saved position rotation motion true false null enabled disabled plugin`)

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// writeText writes log lines or JSON: repetitive words and numbers, which gzip
// compresses several times over, like real configs and logs.
func writeText(w *limitWriter, rng *rand.Rand, json bool) {
	bw := bufio.NewWriterSize(w, 4096)
	defer bw.Flush()
	if json {
		bw.WriteString("{\n")
	}
	for i := 0; ; i++ {
		var err error
		if json {
			_, err = fmt.Fprintf(bw, "  \"%s:%s_%s\": %d,\n", pick(rng, words), pick(rng, words), pick(rng, words), rng.IntN(100000))
		} else {
			_, err = fmt.Fprintf(bw, "[%02d:%02d:%02d] [Server thread/INFO]: %s %s %s %d %d %d\n",
				i/3600%24, i/60%60, i%60, pick(rng, words), pick(rng, words), pick(rng, words),
				rng.IntN(30000)-15000, rng.IntN(256), rng.IntN(30000)-15000)
		}
		if err != nil {
			return
		}
	}
}

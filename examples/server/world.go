package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// writeSampleWorld fills dir with a small game server's files, about 4 MiB: what
// the demo backs up and restores. Region files are mostly incompressible (a real
// world's chunks are zlib-compressed already) with empty stretches; the rest is
// text. The same files every time, so that demo archives are comparable.
func writeSampleWorld(dir string) (files int, bytes int64, err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(name string, data []byte) {
		if err != nil {
			return
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, data, 0o644)
		}
		files++
		bytes += int64(len(data))
	}
	write("server.properties", []byte("motd=A savepoint demo world\nmax-players=20\nlevel-name=world\n"))
	write("world/level.dat", randomBytes(rng, 2<<10))
	for x := range 2 {
		for z := range 2 {
			region := randomBytes(rng, 1<<20)
			clear(region[len(region)/2 : len(region)/2+64<<10]) // unused sectors
			write(fmt.Sprintf("world/region/r.%d.%d.mca", x, z), region)
		}
	}
	write("plugins/Essentials/config.yml", []byte("teleport-cooldown: 3\nspawn-on-join: true\n"))
	write("logs/latest.log", []byte("[Server thread/INFO]: Done (2.5s)! For help, type \"help\"\n"))
	return files, bytes, err
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

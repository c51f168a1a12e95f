package gamedata

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
)

// plan lists the files of a tree of exactly size bytes, and the directories that stay
// empty. Roughly: 1% logs, 6% jars, 3-4% small player and config files, the rest
// region files of 64 KiB to 12 MiB across the three dimensions.
func plan(size int64, seed uint64) ([]file, []string) {
	rng := rand.New(rand.NewPCG(seed, 0x5a7e90147))
	p := &planner{left: size}

	// The server's own files: small configs, present whatever the size.
	for _, name := range []string{"server.properties", "bukkit.yml", "spigot.yml",
		"commands.yml", "help.yml", "permissions.yml", "config/paper-global.yml",
		"config/paper-world-defaults.yml", "ops.json", "whitelist.json",
		"banned-players.json", "banned-ips.json", "usercache.json", "version_history.json"} {
		p.add(name, kindText, int64(200+rng.IntN(6000)), 0o644)
	}
	p.add("eula.txt", kindText, 158, 0o644)
	p.add("start.sh", kindText, 96, 0o755)
	p.add("world/session.lock", kindEmpty, 0, 0o644)
	p.add("world/level.dat", kindRandom, int64(1500+rng.IntN(2000)), 0o644)
	p.add("world/level.dat_old", kindRandom, int64(1500+rng.IntN(2000)), 0o644)

	// Jars: the server and a handful of plugins, each with a small config folder.
	jarBudget := size * 6 / 100
	serverJar := min(jarBudget/2, 48<<20)
	p.add("paper.jar", kindJar, serverJar, 0o644)
	plugins := 3 + rng.IntN(10)
	for i := range plugins {
		name := fmt.Sprintf("%s%s", title(pick(rng, words)), title(pick(rng, words)))
		p.add(fmt.Sprintf("plugins/%s-%d.%d.jar", name, 1+rng.IntN(5), rng.IntN(20)), kindJar,
			(jarBudget-serverJar)/int64(plugins), 0o644)
		p.add(fmt.Sprintf("plugins/%s/config.yml", name), kindText, int64(300+rng.IntN(8000)), 0o644)
		if i%2 == 0 {
			p.add(fmt.Sprintf("plugins/%s/data-%d.json", name, i), kindText, int64(100+rng.IntN(20000)), 0o644)
		}
	}

	// Logs: the current one as text, older days gzipped.
	logBudget := size / 100
	p.add("logs/latest.log", kindText, min(logBudget/4, 4<<20), 0o644)
	for day := 0; p.used() < size*7/100+logBudget && day < 400; day++ {
		// 28-day months keep the names simple; the year goes on, so that big
		// worlds, which have more than a year of logs, never repeat a name.
		p.add(fmt.Sprintf("logs/%d-%02d-%02d-1.log.gz", 2024+day/(12*28), 1+day/28%12, 1+day%28), kindRandom,
			int64(2000+rng.IntN(60000)), 0o644)
	}

	// Players: four small files each; about one player per 512 KiB of world.
	players := int(min(max(size/(512<<10), 4), 5000))
	for range players {
		uuid := fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.IntN(1<<16),
			rng.IntN(1<<12), 0x8000|rng.IntN(1<<14), rng.Int64N(1<<48))
		p.add("world/playerdata/"+uuid+".dat", kindRandom, int64(800+rng.IntN(4000)), 0o644)
		p.add("world/playerdata/"+uuid+".dat_old", kindRandom, int64(800+rng.IntN(4000)), 0o644)
		p.add("world/stats/"+uuid+".json", kindText, int64(300+rng.IntN(5000)), 0o644)
		p.add("world/advancements/"+uuid+".json", kindText, int64(500+rng.IntN(9000)), 0o644)
	}

	// Region files take everything else, spread over the dimensions like a played
	// world: the overworld largest, entity and POI files small.
	dims := []struct {
		dir    string
		weight int
		maxMiB int
	}{
		{"world/region", 60, 12}, {"world/entities", 8, 2}, {"world/poi", 4, 1},
		{"world_nether/DIM-1/region", 18, 8}, {"world_the_end/DIM1/region", 10, 6},
	}
	used := map[string]bool{}
	for p.left > 0 {
		w := rng.IntN(100)
		d := dims[0]
		for _, c := range dims {
			if w < c.weight {
				d = c
				break
			}
			w -= c.weight
		}
		var name string
		for {
			span := 40 + len(used)/50 // grows, so huge worlds always find a free name
			name = fmt.Sprintf("%s/r.%d.%d.mca", d.dir, rng.IntN(span)-span/2, rng.IntN(span)-span/2)
			if !used[name] {
				break
			}
		}
		used[name] = true
		p.add(name, kindRegion, int64(64<<10+rng.IntN(d.maxMiB<<20)), 0o644)
	}
	return p.files, []string{"world/datapacks", "world/data", "cache", "libraries"}
}

// planner hands out the byte budget: a file that does not fit is cut to the bytes
// left, and once the budget is spent only empty files are added.
type planner struct {
	files []file
	left  int64
	total int64
}

func (p *planner) add(name string, k kind, size int64, mode fs.FileMode) {
	size = min(size, p.left)
	if size == 0 && k != kindEmpty {
		return
	}
	p.left -= size
	p.total += size
	p.files = append(p.files, file{path: path.Clean(name), kind: k, size: size, mode: mode})
}

func (p *planner) used() int64 { return p.total }

func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

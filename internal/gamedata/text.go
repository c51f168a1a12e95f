package gamedata

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"path"
	"strings"
)

// DefaultTextSize is the size of the text-heavy tree `make bench` measures when
// no other size is given.
const DefaultTextSize int64 = 200 << 20

// The kinds of a text-heavy tree (GenerateText). They come after the game
// kinds, so that writeFile sends every one of them to writeFiveM.
const (
	kindLua      kind = iota + kindJar + 1 // client, server and shared scripts
	kindManifest                           // fxmanifest.lua
	kindLocale                             // locales/xx.lua: the same keys in another language
	kindJSONData                           // items, vehicles, player records
	kindLog                                // server logs: timestamps and repeated-but-varying lines
)

// GenerateText writes a text-heavy tree into dir, which must be empty or
// absent: what a FiveM server (or a plugin-heavy one of any game) holds. Lua
// resources with their manifests, configs and locale files, JSON data, and
// server logs. Like Generate, the same Options always give the same tree; the
// content varies the way real code and logs do, so that gzip -6 shrinks it to
// about a fifth, not to almost nothing.
//
// It exists because game worlds are mostly already-compressed bytes, which
// tells nothing about how an archiver does on text.
func GenerateText(ctx context.Context, dir string, opts Options) (Summary, error) {
	if opts.Size == 0 {
		opts.Size = DefaultTextSize
	}
	return generate(ctx, dir, opts, planText)
}

// planText lists a text-heavy tree of exactly size bytes: about 30% logs, 15%
// JSON data, and resources (scripts, configs, locales, manifests) for the rest.
func planText(size int64, seed uint64) ([]file, []string) {
	rng := rand.New(rand.NewPCG(seed, 0x7e47f11e))
	p := &planner{left: size}
	p.add("server.cfg", kindLua, int64(2000+rng.IntN(4000)), 0o644)
	p.add("run.sh", kindLua, 180, 0o755)

	logBudget := size * 30 / 100
	for day := 0; p.used() < logBudget && p.left > 0; day++ {
		p.add(fmt.Sprintf("logs/server-%d-%02d-%02d.log", 2024+day/336, 1+day/28%12, 1+day%28), kindLog,
			int64(64<<10+rng.IntN(4<<20)), 0o644)
	}
	dataBudget := p.used() + size*15/100
	for i := 0; p.used() < dataBudget && p.left > 0; i++ {
		p.add(fmt.Sprintf("resources/[data]/%s-db/data/%s-%d.json", pick(rng, luaWords), pick(rng, luaWords), i), kindJSONData,
			int64(8<<10+rng.IntN(1<<20)), 0o644)
	}
	used := map[string]bool{}
	for i := 0; p.left > 0; i++ {
		name := fmt.Sprintf("%s-%s", pick(rng, resourcePrefixes), pick(rng, luaWords))
		if used[name] {
			name = fmt.Sprintf("%s-%d", name, i)
		}
		used[name] = true
		planResource(p, rng, fmt.Sprintf("resources/[%s]/%s", pick(rng, categories), name))
	}
	return p.files, []string{"cache/files", "txData/backups"}
}

// planResource adds one resource: a manifest, a config, scripts on both sides
// and, for most, locale files.
func planResource(p *planner, rng *rand.Rand, dir string) {
	p.add(dir+"/fxmanifest.lua", kindManifest, int64(300+rng.IntN(900)), 0o644)
	p.add(dir+"/shared/config.lua", kindLua, int64(1000+rng.IntN(30000)), 0o644)
	for _, side := range []string{"client", "server"} {
		for _, w := range rng.Perm(len(luaWords))[:1+rng.IntN(4)] {
			p.add(fmt.Sprintf("%s/%s/%s.lua", dir, side, luaWords[w]), kindLua, int64(2000+rng.IntN(60000)), 0o644)
		}
	}
	if rng.IntN(4) == 0 {
		return
	}
	for _, lang := range languages[:1+rng.IntN(len(languages))] {
		p.add(fmt.Sprintf("%s/locales/%s.lua", dir, lang.code), kindLocale, int64(1500+rng.IntN(8000)), 0o644)
	}
}

// writeFiveM writes one file of a text-heavy tree. Locale files of one
// resource share their keys (each file's generator is seeded from the
// directory), as real translations do.
func writeFiveM(w *limitWriter, rng *rand.Rand, f file) {
	bw := bufio.NewWriterSize(w, 4096)
	defer bw.Flush()
	t := &textGen{w: bw, rng: rng, res: path.Base(path.Dir(path.Dir(f.path)))}
	switch f.kind {
	case kindLua:
		t.lua()
	case kindManifest:
		t.res = path.Base(path.Dir(f.path))
		t.manifest()
	case kindLocale:
		t.locale(f.path)
	case kindJSONData:
		t.jsonData()
	case kindLog:
		t.log(f.path)
	}
}

// textGen writes endless text until its writer fails (the limitWriter is
// full). Names are drawn from word lists; numbers, coordinates and ids from
// the random source, which keeps the text as hard to compress as real code.
type textGen struct {
	w     *bufio.Writer
	rng   *rand.Rand
	res   string   // the resource's name, for event names and log tags
	names []string // the names this file has defined, which it uses again
	err   error
}

func (t *textGen) printf(format string, args ...any) bool {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
	return t.err == nil
}

func (t *textGen) word() string { return pick(t.rng, luaWords) }

// ident is a camelCase name of one to three words.
func (t *textGen) ident() string {
	var b strings.Builder
	b.WriteString(t.word())
	for range t.rng.IntN(3) {
		b.WriteString(title(t.word()))
	}
	return b.String()
}

// name is one of the file's names: mostly one used before, as code does.
func (t *textGen) name() string {
	if len(t.names) > 0 && t.rng.IntN(3) > 0 {
		return t.names[t.rng.IntN(len(t.names))]
	}
	n := t.ident()
	if len(t.names) < 60 {
		t.names = append(t.names, n)
	}
	return n
}

func (t *textGen) sentence(words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = t.word()
	}
	return strings.Join(parts, " ")
}

func (t *textGen) coord() string {
	return fmt.Sprintf("vector3(%.2f, %.2f, %.2f)", t.rng.Float64()*6000-3000, t.rng.Float64()*8000-3000, t.rng.Float64()*200)
}

// value is a Lua expression: a name, a number, a string, a call or a vector.
func (t *textGen) value() string {
	switch t.rng.IntN(7) {
	case 0:
		return fmt.Sprint(t.rng.IntN(5000))
	case 1:
		return fmt.Sprintf("'%s'", t.sentence(1+t.rng.IntN(3)))
	case 2:
		return t.coord()
	case 3:
		return fmt.Sprintf("%s(%s)", pick(t.rng, natives), t.name())
	case 4:
		return fmt.Sprintf("%s.%s", t.name(), t.ident())
	default:
		return t.name()
	}
}

func (t *textGen) event(side string) string {
	return fmt.Sprintf("%s:%s:%s", t.res, side, t.ident())
}

var (
	luaWords = strings.Fields(`player vehicle garage job police ambulance mechanic bank money cash item
		inventory weapon ammo armor health hunger thirst stress phone radio house apartment motel
		shop store market price label coords heading spawn blip marker zone target menu notify
		progress animation prop model hash plate fuel engine body damage repair tow impound
		license gang drug dealer crafting recipe ingredient stash trunk glovebox duty boss grade
		salary invoice bill fine jail prison court lawyer doctor hospital bed revive death respawn
		citizen identifier discord steam character firstname lastname birthdate gender
		nationality email message contact twitter photo camera wallet card account transfer
		deposit withdraw balance interest loan debt tax shopkeeper cashier register robbery heist
		vault drill thermite laptop hack keypad door lock unlock key weather time sync density
		traffic ped npc scenario task anim dict flag bone offset rotation scale alpha color sprite
		display range distance radius cooldown timer delay interval chance amount count limit max
		min enabled debug locale text title description icon event callback export command
		permission admin group ace principal resource state bag entity network owner source
		server client shared config data cache queue session token request response payload`)
	resourcePrefixes = strings.Fields("qb ox esx ps lj qs mk cd rcore jim wasabi renewed nd vrp")
	categories       = strings.Fields("qb ox standalone jobs vehicles maps housing phone hud addons")
	natives          = strings.Fields(`GetPlayerPed PlayerPedId GetEntityCoords GetVehiclePedIsIn
		DoesEntityExist NetworkGetNetworkIdFromEntity GetPlayerServerId GetHashKey IsPedInAnyVehicle
		GetEntityHeading GetVehicleNumberPlateText GetPlayerName GetGameTimer IsControlJustPressed
		GetDistanceBetweenCoords RequestModel HasModelLoaded CreateVehicle SetEntityCoords
		GetResourceState GetConvar GetNumPlayerIdentifiers GetPlayerIdentifier tonumber tostring json.encode`)
)

package gamedata

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"strings"
	"time"
)

// lua writes a script: a header, then config tables, functions, event handlers
// and threads in random turns.
func (t *textGen) lua() {
	t.printf("-- %s: %s\n", t.res, t.sentence(4+t.rng.IntN(8)))
	t.printf("local %s = exports['%s']:GetCoreObject()\n\n", t.name(), pick(t.rng, resourcePrefixes)+"-core")
	for t.err == nil {
		switch t.rng.IntN(5) {
		case 0:
			t.luaTable()
		case 1, 2:
			t.printf("local function %s(%s, %s)\n", t.ident(), t.name(), t.name())
			t.luaBody(1, 3+t.rng.IntN(10))
			t.printf("end\n\n")
		case 3:
			t.printf("RegisterNetEvent('%s', function(%s)\n", t.event(pick(t.rng, []string{"client", "server"})), t.name())
			t.luaBody(1, 2+t.rng.IntN(8))
			t.printf("end)\n\n")
		default:
			t.printf("CreateThread(function()\n\twhile true do\n\t\tWait(%d)\n", 100*t.rng.IntN(50))
			t.luaBody(2, 2+t.rng.IntN(6))
			t.printf("\tend\nend)\n\n")
		}
	}
}

// luaTable writes a config table of records, the bulk of a shared/config.lua.
func (t *textGen) luaTable() {
	t.printf("Config.%s = {\n", title(t.ident()))
	for range 2 + t.rng.IntN(12) {
		t.printf("\t{ label = '%s', coords = %s, heading = %.1f, %s = %d, %s = %v },\n", title(t.sentence(1+t.rng.IntN(3))),
			t.coord(), t.rng.Float64()*360, t.word(), t.rng.IntN(10000), t.word(), t.rng.IntN(2) == 0)
	}
	t.printf("}\n\n")
}

// luaBody writes n statements at the given indentation, with nested blocks.
func (t *textGen) luaBody(depth, n int) {
	in := strings.Repeat("\t", depth)
	for i := 0; i < n && t.err == nil; i++ {
		switch r := t.rng.IntN(10); {
		case r < 3:
			t.printf("%slocal %s = %s\n", in, t.name(), t.value())
		case r < 4 && depth < 4:
			t.printf("%sif %s %s %s then\n", in, t.name(), pick(t.rng, []string{"==", "~=", ">", "<"}), t.value())
			t.luaBody(depth+1, 1+t.rng.IntN(3))
			t.printf("%send\n", in)
		case r < 5 && depth < 4:
			t.printf("%sfor %s = 1, #%s do\n", in, pick(t.rng, []string{"i", "k", "j"}), t.name())
			t.luaBody(depth+1, 1+t.rng.IntN(3))
			t.printf("%send\n", in)
		case r < 6:
			t.printf("%sTriggerServerEvent('%s', %s, %s)\n", in, t.event("server"), t.name(), t.value())
		case r < 7:
			t.printf("%s%s(%s, Lang:t('%s.%s'), '%s')\n", in, pick(t.rng, []string{"Notify", "QBCore.Functions.Notify", "lib.notify"}),
				t.name(), pick(t.rng, []string{"error", "success", "info"}), t.ident(), pick(t.rng, []string{"error", "success", "primary"}))
		case r < 8:
			t.printf("%s%s.%s = %s\n", in, t.name(), t.ident(), t.value())
		case r < 9:
			t.printf("%sprint(('[%s] %%s %s: %%d'):format(%s, %s))\n", in, t.res, t.sentence(2), t.name(), t.value())
		default:
			t.printf("%sreturn %s\n", in, t.value())
			return
		}
	}
}

// manifest writes an fxmanifest.lua, padded with more file globs.
func (t *textGen) manifest() {
	t.printf("fx_version 'cerulean'\ngame 'gta5'\nlua54 'yes'\n\nauthor '%s'\ndescription '%s'\nversion '%d.%d.%d'\n\n",
		title(t.word()), t.sentence(5), t.rng.IntN(3), t.rng.IntN(20), t.rng.IntN(40))
	t.printf("shared_scripts {\n\t'@ox_lib/init.lua',\n\t'shared/config.lua',\n\t'locales/*.lua',\n}\n\n")
	t.printf("client_scripts {\n\t'client/*.lua',\n}\n\nserver_scripts {\n\t'@oxmysql/lib/MySQL.lua',\n\t'server/*.lua',\n}\n\n")
	t.printf("dependencies {\n\t'%s',\n\t'%s',\n}\n\n", pick(t.rng, resourcePrefixes)+"-core", pick(t.rng, resourcePrefixes)+"-"+t.word())
	for t.err == nil {
		t.printf("files {\n\t'html/%s.html',\n\t'html/js/%s.js',\n}\n", t.ident(), t.ident())
	}
}

// A language of the locale files: its words are the base words respelled, so
// that each language has a vocabulary of its own.
type language struct {
	code   string
	respel func(string) string
}

var languages = []language{
	{"en", func(s string) string { return s }},
	{"de", func(s string) string { return strings.ReplaceAll(s, "c", "k") + "en" }},
	{"fr", func(s string) string { return strings.ReplaceAll(s, "k", "qu") + "e" }},
	{"es", func(s string) string { return strings.ReplaceAll(s, "th", "t") + "o" }},
	{"nl", func(s string) string { return strings.ReplaceAll(s, "a", "aa") + "je" }},
	{"pt", func(s string) string { return strings.ReplaceAll(s, "s", "ss") + "ão" }},
}

// locale writes a translation table. The keys come from a source seeded by
// the resource's directory, so every language of a resource has the same.
func (t *textGen) locale(file string) {
	code := strings.TrimSuffix(path.Base(file), ".lua")
	lang := languages[0]
	for _, l := range languages {
		if l.code == code {
			lang = l
		}
	}
	h := fnv.New64a()
	h.Write([]byte(path.Dir(file)))
	keys := rand.New(rand.NewPCG(h.Sum64(), 3))
	t.printf("local Translations = {\n")
	for t.err == nil {
		t.printf("\t%s = {\n", pick(keys, []string{"error", "success", "info", "menu", "label", "notify"}))
		for range 3 + keys.IntN(10) {
			words := make([]string, 2+t.rng.IntN(9))
			for i := range words {
				words[i] = lang.respel(t.word())
			}
			t.printf("\t\t['%s_%s'] = '%s %%{value}',\n", pick(keys, luaWords), pick(keys, luaWords), strings.Join(words, " "))
		}
		t.printf("\t},\n")
	}
}

// jsonData writes a JSON array of records: items, vehicles or characters.
func (t *textGen) jsonData() {
	t.printf("[\n")
	for i := 0; t.err == nil; i++ {
		switch t.rng.IntN(3) {
		case 0:
			t.printf("  {\n    \"name\": \"%s_%s\",\n    \"label\": \"%s\",\n    \"weight\": %d,\n    \"type\": \"item\",\n    \"image\": \"%s.png\",\n    \"unique\": %v,\n    \"useable\": %v,\n    \"description\": \"%s\"\n  },\n",
				t.word(), t.word(), title(t.sentence(2)), t.rng.IntN(20000), t.ident(), t.rng.IntN(2) == 0, t.rng.IntN(2) == 0, title(t.sentence(3+t.rng.IntN(10))))
		case 1:
			t.printf("  {\"model\": \"%s%d\", \"brand\": \"%s\", \"price\": %d, \"category\": \"%s\", \"hash\": %d, \"shop\": \"%s\"},\n",
				t.word(), t.rng.IntN(100), title(t.word()), 1000*t.rng.IntN(900), t.word(), t.rng.Int32()-1<<30, t.word())
		default:
			t.printf("  {\"citizenid\": \"%c%c%d\", \"license\": \"license:%016x%024x\", \"charinfo\": {\"firstname\": \"%s\", \"lastname\": \"%s\", \"phone\": \"%d\"}, \"money\": {\"cash\": %d, \"bank\": %d}, \"position\": {\"x\": %.2f, \"y\": %.2f, \"z\": %.2f}},\n",
				'A'+t.rng.IntN(26), 'A'+t.rng.IntN(26), 100000+t.rng.IntN(900000), t.rng.Uint64(), t.rng.Uint64()>>32,
				title(t.word()), title(t.word()), 5550000000+t.rng.IntN(9999999), t.rng.IntN(50000), t.rng.IntN(5000000),
				t.rng.Float64()*6000-3000, t.rng.Float64()*8000-3000, t.rng.Float64()*200)
		}
	}
}

// log writes a server log: timestamps that advance, a cast of players who
// come back, and lines that repeat with other values.
func (t *textGen) log(file string) {
	players := make([]string, 20+t.rng.IntN(60))
	for i := range players {
		players[i] = fmt.Sprintf("%s%s%d", title(t.word()), title(t.word()), t.rng.IntN(1000))
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(t.rng.IntN(365*24)) * time.Hour)
	for t.err == nil {
		now = now.Add(time.Duration(t.rng.IntN(4000)) * time.Millisecond)
		stamp := now.Format("2006-01-02 15:04:05.000")
		who := players[t.rng.IntN(len(players))]
		res := pick(t.rng, resourcePrefixes) + "-" + t.word()
		switch r := t.rng.IntN(20); {
		case r < 5:
			t.printf("[%s] [%s] %s triggered %s:server:%s (%d ms)\n", stamp, res, who, res, t.ident(), t.rng.IntN(40))
		case r < 8:
			t.printf("[%s] [ citizen-server-impl] %s (license:%016x) %s\n", stamp, who, t.rng.Uint64(), pick(t.rng, []string{"connected", "dropped: Exiting", "dropped: Timed out after 60 seconds", "is loading"}))
		case r < 11:
			t.printf("[%s] [%s] [MONEY] %s %s $%d (%s), balance $%d\n", stamp, res, who, pick(t.rng, []string{"received", "paid", "deposited", "withdrew"}), t.rng.IntN(20000), t.sentence(2), t.rng.IntN(3000000))
		case r < 13:
			t.printf("[%s] [ chat] %s: %s\n", stamp, who, t.sentence(2+t.rng.IntN(12)))
		case r < 14:
			t.printf("[%s] [ citizen-server-impl] server thread hitch warning: timer interval of %d milliseconds\n", stamp, 150+t.rng.IntN(900))
		case r < 15:
			t.printf("[%s] [script:%s] SCRIPT ERROR: @%s/server/%s.lua:%d: attempt to index a nil value (field '%s')\n[%s] [script:%s] > fn (@%s/server/%s.lua:%d)\n",
				stamp, res, res, t.word(), t.rng.IntN(900), t.ident(), stamp, res, res, t.word(), t.rng.IntN(900))
		default:
			t.printf("[%s] [%s] %s at %s, %s\n", stamp, res, t.sentence(3+t.rng.IntN(5)), t.coord(), who)
		}
	}
}

package exclude

import (
	"strings"
	"testing"
	"time"
)

// FuzzMatch: whatever the patterns and the path, Parse and Match never panic,
// a Match takes bounded time, and an accepted pattern set always gives the same
// answer, parsed once or again from its recorded patterns.
func FuzzMatch(f *testing.F) {
	f.Add("logs/\n*.tmp\n!keep.tmp", "a/keep.tmp", false)
	f.Add("**/a*b*c/**/[!x-z]?", "q/abc/w/ab", true)
	f.Add("[[:alpha:]]*\n\\#x\n/a/**", "a/b/c", false)
	f.Add("a/**/b/**/c", "a/b/b/b/c", false)
	f.Add("*a*a*a*a*a*a*a*b", strings.Repeat("a", 300), false)
	f.Fuzz(func(t *testing.T, patterns, path string, isDir bool) {
		m, err := Parse(strings.Split(patterns, "\n"), Limits{})
		if err != nil {
			return
		}
		start := time.Now()
		first, ok := m.tryMatch(path, isDir)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("one match took %v", took)
		}
		again, ok2 := m.tryMatch(path, isDir)
		if again != first || ok2 != ok {
			t.Fatalf("Match is not deterministic: %v/%v then %v/%v", first, ok, again, ok2)
		}
		re, err := Parse(m.Patterns(), Limits{})
		if err != nil {
			t.Fatalf("the recorded patterns %q do not parse: %v", m.Patterns(), err)
		}
		if got, ok3 := re.tryMatch(path, isDir); ok3 != ok || (ok && got != first) {
			t.Fatalf("the recorded patterns %q decide %v/%v, the originals %v/%v", m.Patterns(), got, ok3, first, ok)
		}
	})
}

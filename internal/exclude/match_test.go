package exclude

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// matchCase is one question to a pattern set, with git's answer: what
// `git check-ignore` says of the path when nothing above it is excluded.
type matchCase struct {
	patterns []string
	path     string
	dir      bool
	want     bool
}

// gitCases were checked against git 2.39's `check-ignore --no-index`, run by
// hand on each case's tree.
var gitCases = []matchCase{
	// A name without a slash matches at any depth, files and directories.
	{[]string{"logs"}, "logs", true, true},
	{[]string{"logs"}, "logs", false, true},
	{[]string{"logs"}, "a/b/logs", true, true},
	{[]string{"logs"}, "logs.txt", false, false},
	{[]string{"logs"}, "mylogs", false, false},
	// A trailing slash: directories only.
	{[]string{"logs/"}, "logs", true, true},
	{[]string{"logs/"}, "logs", false, false},
	{[]string{"logs/"}, "world/logs", true, true},
	// A leading or middle slash anchors to the root.
	{[]string{"/logs"}, "logs", true, true},
	{[]string{"/logs"}, "a/logs", true, false},
	{[]string{"world/region"}, "world/region", true, true},
	{[]string{"world/region"}, "x/world/region", true, false},
	{[]string{"world/*.mca"}, "world/r.0.0.mca", false, true},
	{[]string{"world/*.mca"}, "world/region/r.0.0.mca", false, false},
	// Wildcards stay within a segment.
	{[]string{"*.tmp"}, "a.tmp", false, true},
	{[]string{"*.tmp"}, "deep/down/a.tmp", false, true},
	{[]string{"*.tmp"}, "a.tmpx", false, false},
	{[]string{"a*b"}, "a/b", false, false},
	{[]string{"a?c"}, "abc", false, true},
	{[]string{"a?c"}, "a/c", false, false},
	{[]string{"a?c"}, "ac", false, false},
	{[]string{"*"}, "anything", false, true},
	{[]string{"[abc].log"}, "b.log", false, true},
	{[]string{"[abc].log"}, "d.log", false, false},
	{[]string{"[a-c].log"}, "c.log", false, true},
	{[]string{"[!a-c].log"}, "c.log", false, false},
	{[]string{"[!a-c].log"}, "d.log", false, true},
	{[]string{"[^a-c].log"}, "d.log", false, true},
	{[]string{"[]x].log"}, "].log", false, true},
	{[]string{"[a-].log"}, "-.log", false, true},
	{[]string{"[[:digit:]].log"}, "7.log", false, true},
	{[]string{"[[:digit:]].log"}, "x.log", false, false},
	{[]string{"[[:upper:]x]*"}, "Abc", false, true},
	// "**".
	{[]string{"**/cache"}, "cache", true, true},
	{[]string{"**/cache"}, "a/b/cache", true, true},
	{[]string{"**/world/cache"}, "world/cache", true, true},
	{[]string{"**/world/cache"}, "x/world/cache", true, true},
	{[]string{"**/world/cache"}, "x/world/y/cache", true, false},
	{[]string{"world/**"}, "world/a", false, true},
	{[]string{"world/**"}, "world/a/b", false, true},
	{[]string{"world/**"}, "world", true, false},
	{[]string{"a/**/b"}, "a/b", false, true},
	{[]string{"a/**/b"}, "a/x/b", false, true},
	{[]string{"a/**/b"}, "a/x/y/b", false, true},
	{[]string{"a/**/b"}, "a/x/y/c", false, false},
	{[]string{"a**b"}, "axxb", false, true},
	{[]string{"a**b"}, "a/b", false, false},
	{[]string{"**"}, "any/thing", false, true},
	{[]string{"/**/x"}, "a/x", false, true},
	// Negation: the last matching pattern decides.
	{[]string{"*.log", "!keep.log"}, "keep.log", false, false},
	{[]string{"*.log", "!keep.log"}, "other.log", false, true},
	{[]string{"!keep.log", "*.log"}, "keep.log", false, true},
	{[]string{"logs/", "!logs/"}, "logs", true, false},
	// Comments, blanks, escapes, trailing spaces.
	{[]string{"# comment"}, "# comment", false, false},
	{[]string{`\#hash`}, "#hash", false, true},
	{[]string{`\!bang`}, "!bang", false, true},
	{[]string{"", "   ", "x"}, "x", false, true},
	{[]string{"trail   "}, "trail", false, true},
	{[]string{`space\ `}, "space ", false, true},
	{[]string{`space\ `}, "space", false, false},
	{[]string{`\*`}, "*", false, true},
	{[]string{`\*`}, "x", false, false},
	{[]string{`a\?`}, "a?", false, true},
	{[]string{`a\?`}, "ab", false, false},
	// Case matters.
	{[]string{"Logs"}, "logs", true, false},
}

func TestMatchFollowsGitignore(t *testing.T) {
	for _, c := range gitCases {
		m, err := Parse(c.patterns, Limits{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.patterns, err)
		}
		if got := m.Match(c.path, c.dir); got != c.want {
			t.Errorf("patterns %q, path %q (dir %v): excluded %v, git says %v", c.patterns, c.path, c.dir, got, c.want)
		}
	}
}

// A deliberate difference from git: '?' and bracket expressions take one
// character, where git takes one byte, so that they work on the names of
// players and worlds, which are often not ASCII.
func TestWildcardsTakeCharactersNotBytes(t *testing.T) {
	m, err := Parse([]string{"welt-?", "[é]x"}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"welt-ü", "welt-a", "éx"} {
		if !m.Match(p, false) {
			t.Errorf("%q is not excluded", p)
		}
	}
	if m.Match("welt-üü", false) {
		t.Error("'?' took two characters")
	}
}

func TestRootIsNeverExcluded(t *testing.T) {
	m, err := Parse([]string{"*", "**"}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", ".", "/"} {
		if m.Match(p, true) {
			t.Errorf("Match(%q) excludes the root", p)
		}
	}
}

func TestPatternsAreTheEffectiveOnes(t *testing.T) {
	in := []string{"# a comment", "", "logs/  ", "  ", "!keep.log", `x\ `}
	m, err := Parse(in, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"logs/", "!keep.log", `x\ `}
	got := m.Patterns()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Patterns() = %q, want %q", got, want)
	}
	// Recorded and parsed again, they decide the same.
	again, err := Parse(got, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"logs", "keep.log", "x ", "x"} {
		if m.Match(p, true) != again.Match(p, true) {
			t.Errorf("%q: the recorded patterns decide otherwise", p)
		}
	}
}

func TestParseRefusesInvalidSyntax(t *testing.T) {
	for _, p := range []string{"[abc", "a[", "x/[!", `trailing\`, "/", "!", "[z-a]", "[[:nope:]]"} {
		_, err := Parse([]string{"ok", p}, Limits{})
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a *PatternError", p, err)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("Parse(%q): %q does not name the pattern", p, err)
		}
	}
}

func TestParseNamesTheBrokenLimit(t *testing.T) {
	l := Limits{MaxPatterns: 2, MaxPatternBytes: 10, MaxWildcards: 2}
	cases := []struct {
		patterns []string
		limit    string
	}{
		{[]string{"a", "b", "c"}, "patterns"},
		{[]string{"abcdefghijk"}, "pattern length"},
		{[]string{"*?["}, "wildcards"},
		{[]string{"a\tb"}, "characters"},
		{[]string{"\xff"}, "characters"},
	}
	for _, c := range cases {
		_, err := Parse(c.patterns, l)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != c.limit {
			t.Errorf("Parse(%q) = %v, want a LimitError on %q", c.patterns, err, c.limit)
			continue
		}
		if c.limit != "characters" && !strings.Contains(err.Error(), c.limit) {
			t.Errorf("Parse(%q): %q does not say which limit", c.patterns, err)
		}
	}
	// Comments and blanks count toward nothing.
	if _, err := Parse([]string{"# 1", "", "a", "# 2", "b"}, l); err != nil {
		t.Errorf("comments counted: %v", err)
	}
	// A line with a space before its '#' is a pattern to git, and counts.
	if _, err := Parse([]string{" #1", " #2", " #3"}, l); err == nil {
		t.Error("three patterns with leading spaces passed a limit of two")
	}
}

func TestHostileMatchStaysWithinBudget(t *testing.T) {
	// Sixteen stars against a long name with no match: the worst case of the
	// star algorithm, many times over through "**".
	pat := "**/" + strings.Repeat("a*", 11) + "b/**/*ac"
	m, err := Parse([]string{pat}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.Repeat("a", 255)
	path := strings.TrimSuffix(strings.Repeat(seg+"/", 5000), "/")
	start := time.Now()
	if m.Match(path, false) {
		t.Fatal("matched a path it cannot match")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("one Match took %v", took)
	}
	if _, ok := m.tryMatch(path, false); ok {
		t.Error("a match beyond the budget was reported as decided")
	}
	if m.Overruns() != 2 {
		t.Errorf("Overruns() = %d, want 2", m.Overruns())
	}
}

func TestParseSetsBoundsEachSet(t *testing.T) {
	l := Limits{MaxPatterns: 2}
	m, err := ParseSets(l, []string{"a", "b"}, []string{"!a", "c"})
	if err != nil {
		t.Fatalf("two sets within the limit: %v", err)
	}
	if m.Match("a", false) || !m.Match("b", false) || !m.Match("c", false) {
		t.Error("the second set does not apply after the first")
	}
	var le *LimitError
	if _, err := ParseSets(l, []string{"a"}, []string{"b", "c", "d"}); !errors.As(err, &le) || le.Limit != "patterns" {
		t.Errorf("a set over the limit: %v", err)
	}
	// What such a matcher records parses again with the joined limits.
	if _, err := Parse(m.Patterns(), l.Joined(2)); err != nil {
		t.Errorf("the recorded patterns: %v", err)
	}
}

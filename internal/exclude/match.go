package exclude

import (
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// MatchBudget is how many matching steps one Match call may take, over all the
// patterns of a set. A step is one character or one path segment tried against
// a pattern. Real patterns and paths take a few hundred; the limits already keep
// the worst case polynomial, and the budget keeps it cheap: a hostile pattern
// set and a hostile path cost at most about a millisecond per path.
const MatchBudget = 1 << 20

// PatternError is a pattern that is not valid gitignore syntax.
type PatternError struct {
	// Pattern is the offending pattern, shortened.
	Pattern string
	// Reason says what is wrong with it.
	Reason string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("exclude pattern %q is invalid: %s", e.Pattern, e.Reason)
}

// Matcher decides which paths a set of gitignore-style patterns excludes. It is
// immutable once built and safe for concurrent use.
type Matcher struct {
	rules    []rule
	patterns []string
	overruns atomic.Int64
}

// rule is one compiled pattern.
type rule struct {
	negate   bool
	dirOnly  bool
	basename bool      // no slash in the pattern: segs has one segment, matched against the last path segment
	segs     []segment // otherwise matched against the whole path, from the root
}

// segment is one slash-separated part of a pattern: "**" (any number of path
// segments), or a glob that matches exactly one path segment.
type segment struct {
	doubleStar bool
	literal    string // the segment when it holds no wildcard; toks is then nil
	toks       []token
}

type tokenKind uint8

const (
	tokLit   tokenKind = iota // lit
	tokAny                    // ?: one character
	tokStar                   // *: any run of characters
	tokClass                  // [...]
)

type token struct {
	kind  tokenKind
	lit   string // the character's UTF-8 bytes, for tokLit
	class *charClass
}

// charClass is a bracket expression.
type charClass struct {
	negate bool
	ranges []runeRange
	named  []func(rune) bool // [:alpha:] and the like
}

type runeRange struct{ lo, hi rune }

func (c *charClass) has(r rune) bool {
	in := false
	for _, rg := range c.ranges {
		if rg.lo <= r && r <= rg.hi {
			in = true
			break
		}
	}
	if !in {
		for _, f := range c.named {
			if f(r) {
				in = true
				break
			}
		}
	}
	return in != c.negate
}

// Parse compiles patterns, in gitignore syntax, into a Matcher. It checks them
// against l first (a *LimitError names the limit broken); a pattern that is not
// valid syntax (an unterminated '[', a trailing backslash, nothing to match)
// is a *PatternError naming it. Blank lines and comments are ignored.
//
// Supported: '#' comments and '\#' / '\!' escapes; trailing spaces trimmed
// unless escaped with a backslash; '!' negation, the last matching pattern
// deciding; a trailing '/' matching directories only; a pattern with a '/' at
// its start or in its middle anchored to the root, any other matching a name
// at any depth; '*', '?' and bracket expressions ([a-z], [!a], [^a],
// [[:alpha:]]) within one path segment; '**' as a whole segment: "**/x" at any
// depth, "x/**" everything inside x, "a/**/b" zero or more directories between.
// Matching is case-sensitive, as git's is by default on Linux. Unlike git's,
// '?' and a bracket expression take one UTF-8 character rather than one byte.
func Parse(patterns []string, l Limits) (*Matcher, error) {
	if err := Check(patterns, l); err != nil {
		return nil, err
	}
	m := &Matcher{}
	for _, p := range patterns {
		line := trimTrailingSpaces(p)
		if line == "" || line[0] == '#' {
			continue
		}
		r, err := compile(line)
		if err != nil {
			return nil, &PatternError{Pattern: shorten(p), Reason: err.Error()}
		}
		m.rules = append(m.rules, r)
		m.patterns = append(m.patterns, line)
	}
	return m, nil
}

// ParseSets is Parse of the sets one after the other (a source's ignore file,
// then a request's patterns), each checked against l on its own: l bounds one
// set, not their sum.
func ParseSets(l Limits, sets ...[]string) (*Matcher, error) {
	var all []string
	for _, set := range sets {
		if err := Check(set, l); err != nil {
			return nil, err
		}
		all = append(all, set...)
	}
	return Parse(all, l.Joined(len(sets)))
}

// Joined returns l for n sets recorded as one (a backup's patterns are its
// ignore file's and its request's): MaxPatterns bounds their sum.
func (l Limits) Joined(n int) Limits {
	l = l.WithDefaults()
	l.MaxPatterns *= max(n, 1)
	return l
}

// Patterns returns the effective patterns, in order: the non-blank,
// non-comment ones, trailing spaces trimmed. Parsing them again gives the same
// Matcher, so they are what a backup records.
func (m *Matcher) Patterns() []string {
	if m == nil {
		return nil
	}
	return append([]string(nil), m.patterns...)
}

// Empty reports whether the matcher has no patterns (a nil one has none).
func (m *Matcher) Empty() bool { return m == nil || len(m.rules) == 0 }

// Match reports whether the patterns exclude path, a slash-separated path
// relative to the root ("logs/latest.log"); isDir says whether it names a
// directory. It answers for path itself: gitignore's rule that nothing inside
// an excluded directory can be included again is the walker's, which never
// descends into a directory Match excludes.
//
// A path whose matching exceeds MatchBudget is reported as not excluded and
// counted in Overruns: an archive then holds it, more rather than less.
func (m *Matcher) Match(path string, isDir bool) bool {
	matched, ok := m.tryMatch(path, isDir)
	return matched && ok
}

// tryMatch is Match that tells an overrun apart: ok is false when matching path
// exceeded MatchBudget, and matched is then meaningless.
func (m *Matcher) tryMatch(path string, isDir bool) (matched, ok bool) {
	if m == nil || len(m.rules) == 0 {
		return false, true
	}
	path = strings.Trim(path, "/")
	if path == "" || path == "." {
		return false, true // the root itself is never excluded
	}
	b := budget(MatchBudget)
	base := path[strings.LastIndexByte(path, '/')+1:]
	var segs []string
	for i := len(m.rules) - 1; i >= 0; i-- {
		r := &m.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var hit bool
		if r.basename {
			hit = r.segs[0].match(base, &b)
		} else {
			if segs == nil {
				segs = strings.Split(path, "/")
			}
			hit = matchSegments(r.segs, segs, &b)
		}
		if b < 0 {
			m.overruns.Add(1)
			return false, false
		}
		if hit {
			return !r.negate, true
		}
	}
	return false, true
}

// Overruns is how many Match calls have exceeded MatchBudget.
func (m *Matcher) Overruns() int64 {
	if m == nil {
		return 0
	}
	return m.overruns.Load()
}

// budget counts the steps a Match call has left; negative once spent.
type budget int

func (b *budget) step() bool {
	*b--
	return *b >= 0
}

// matchSegments matches path segments against pattern segments, "**" matching
// any number of them. It is the iterative wildcard algorithm at the level of
// segments: each other pattern segment consumes exactly one path segment, so on
// a mismatch only the latest "**" needs to take one more, and the cost stays
// within len(pat)*len(path) segment matches, never exponential.
func matchSegments(pat []segment, path []string, b *budget) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for si < len(path) {
		if !b.step() {
			return false
		}
		if pi < len(pat) {
			if pat[pi].doubleStar {
				starPi, starSi = pi, si
				pi++
				continue
			}
			if pat[pi].match(path[si], b) {
				pi++
				si++
				continue
			}
			if *b < 0 {
				return false
			}
		}
		if starPi < 0 {
			return false
		}
		pi = starPi + 1
		starSi++
		si = starSi
	}
	for pi < len(pat) && pat[pi].doubleStar {
		pi++
	}
	return pi == len(pat)
}

// match matches one path segment (a name) against the segment's glob, with the
// same iterative algorithm at the level of characters.
func (s *segment) match(name string, b *budget) bool {
	if s.doubleStar {
		return true
	}
	if s.toks == nil {
		if !b.step() {
			return false
		}
		return name == s.literal
	}
	toks := s.toks
	pi, ni := 0, 0
	starPi, starNi := -1, 0
	for ni < len(name) {
		if !b.step() {
			return false
		}
		if pi < len(toks) {
			t := &toks[pi]
			switch t.kind {
			case tokStar:
				starPi, starNi = pi, ni
				pi++
				continue
			case tokAny:
				_, w := utf8.DecodeRuneInString(name[ni:])
				ni += w
				pi++
				continue
			case tokLit:
				if strings.HasPrefix(name[ni:], t.lit) {
					ni += len(t.lit)
					pi++
					continue
				}
			case tokClass:
				r, w := utf8.DecodeRuneInString(name[ni:])
				if t.class.has(r) {
					ni += w
					pi++
					continue
				}
			}
		}
		if starPi < 0 {
			return false
		}
		pi = starPi + 1
		_, w := utf8.DecodeRuneInString(name[starNi:])
		starNi += w
		ni = starNi
	}
	for pi < len(toks) && toks[pi].kind == tokStar {
		pi++
	}
	return pi == len(toks)
}

// trimTrailingSpaces removes the trailing spaces of a pattern that no
// backslash escapes, as git does.
func trimTrailingSpaces(p string) string {
	end := len(p)
	for end > 0 && p[end-1] == ' ' {
		// An odd run of backslashes before the space escapes it.
		n := 0
		for i := end - 2; i >= 0 && p[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			break
		}
		end--
	}
	return p[:end]
}

// compile compiles one non-blank, non-comment pattern.
func compile(line string) (rule, error) {
	var r rule
	if line[0] == '!' {
		r.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") && !strings.HasSuffix(line, "\\/") {
		r.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	anchored := strings.Contains(line, "/")
	var parts []string
	for part := range strings.SplitSeq(line, "/") {
		if part != "" {
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return r, fmt.Errorf("it matches nothing")
	}
	for _, part := range parts {
		seg, err := compileSegment(part)
		if err != nil {
			return r, err
		}
		r.segs = append(r.segs, seg)
	}
	if !anchored {
		if r.segs[0].doubleStar {
			// "**" alone: everything, at any depth.
			r.segs = []segment{{doubleStar: true}}
			return r, nil
		}
		r.basename = true
		return r, nil
	}
	// "x/**" holds what is inside x, not x itself: one segment at least.
	if n := len(r.segs); n > 1 && r.segs[n-1].doubleStar {
		r.segs = append(r.segs[:n-1], segment{toks: []token{{kind: tokStar}}}, segment{doubleStar: true})
	}
	return r, nil
}

// compileSegment compiles one slash-free part of a pattern.
func compileSegment(s string) (segment, error) {
	if s == "**" {
		return segment{doubleStar: true}, nil
	}
	var toks []token
	wild := false
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return segment{}, fmt.Errorf("it ends with a backslash, which escapes nothing")
			}
			_, w := utf8.DecodeRuneInString(s[i+1:])
			toks = append(toks, token{kind: tokLit, lit: s[i+1 : i+1+w]})
			i += 1 + w
		case '*':
			// Consecutive stars within a segment are one star.
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, token{kind: tokStar})
			}
			wild = true
			i++
		case '?':
			toks = append(toks, token{kind: tokAny})
			wild = true
			i++
		case '[':
			cls, n, err := compileClass(s[i:])
			if err != nil {
				return segment{}, err
			}
			toks = append(toks, token{kind: tokClass, class: cls})
			wild = true
			i += n
		default:
			_, w := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, token{kind: tokLit, lit: s[i : i+w]})
			i += w
		}
	}
	if !wild {
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(t.lit)
		}
		return segment{literal: b.String()}, nil
	}
	return segment{toks: toks}, nil
}

// namedClass returns the POSIX class a bracket expression names ([:alpha:]),
// in ASCII as in git; nil for an unknown name.
func namedClass(name string) func(rune) bool {
	switch name {
	case "alnum":
		return func(r rune) bool { return isAlpha(r) || isDigit(r) }
	case "alpha":
		return isAlpha
	case "blank":
		return func(r rune) bool { return r == ' ' || r == '\t' }
	case "cntrl":
		return func(r rune) bool { return r < 0x20 || r == 0x7f }
	case "digit":
		return isDigit
	case "graph":
		return func(r rune) bool { return r > 0x20 && r < 0x7f }
	case "lower":
		return func(r rune) bool { return r >= 'a' && r <= 'z' }
	case "print":
		return func(r rune) bool { return r >= 0x20 && r < 0x7f }
	case "punct":
		return func(r rune) bool { return r > 0x20 && r < 0x7f && !isAlpha(r) && !isDigit(r) }
	case "space":
		return func(r rune) bool { return r == ' ' || (r >= '\t' && r <= '\r') }
	case "upper":
		return func(r rune) bool { return r >= 'A' && r <= 'Z' }
	case "xdigit":
		return func(r rune) bool { return isDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F') }
	}
	return nil
}

func isAlpha(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// compileClass compiles the bracket expression s starts with and returns how
// many bytes of s it spans.
func compileClass(s string) (*charClass, int, error) {
	unterminated := fmt.Errorf("its '[' is never closed by a ']'")
	c := &charClass{}
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		c.negate = true
		i++
	}
	// next reads one member character, escapes resolved.
	next := func() (rune, error) {
		if s[i] == '\\' {
			i++
			if i >= len(s) {
				return 0, unterminated
			}
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		return r, nil
	}
	first := true
	for {
		if i >= len(s) {
			return nil, 0, unterminated
		}
		if s[i] == ']' && !first {
			return c, i + 1, nil
		}
		first = false
		if strings.HasPrefix(s[i:], "[:") {
			if end := strings.Index(s[i+2:], ":]"); end >= 0 {
				name := s[i+2 : i+2+end]
				f := namedClass(name)
				if f == nil {
					return nil, 0, fmt.Errorf("[:%s:] is not a character class", name)
				}
				c.named = append(c.named, f)
				i += 2 + end + 2
				continue
			}
		}
		lo, err := next()
		if err != nil {
			return nil, 0, err
		}
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			i++
			if hi, err = next(); err != nil {
				return nil, 0, err
			}
			if hi < lo {
				return nil, 0, fmt.Errorf("the range %c-%c is reversed", lo, hi)
			}
		}
		c.ranges = append(c.ranges, runeRange{lo, hi})
	}
}

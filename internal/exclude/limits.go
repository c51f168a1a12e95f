package exclude

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound a pattern set. Zero fields take the values of DefaultLimits.
type Limits struct {
	// MaxFileBytes bounds the size of a .savepointignore file.
	MaxFileBytes int64
	// MaxPatterns bounds the number of patterns in one set (a file's, or a
	// request's).
	MaxPatterns int
	// MaxPatternBytes bounds the length of one pattern.
	MaxPatternBytes int
	// MaxWildcards bounds the wildcards (*, ?, [) of one pattern.
	MaxWildcards int
}

// DefaultLimits returns the limits used for zero Limits fields: far more than a
// game server's ignore file needs (a few dozen lines), small enough that
// matching a million files stays cheap.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 64 << 10, MaxPatterns: 256, MaxPatternBytes: 256, MaxWildcards: 16}
}

// WithDefaults returns l with its zero fields set to DefaultLimits'.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxPatterns <= 0 {
		l.MaxPatterns = d.MaxPatterns
	}
	if l.MaxPatternBytes <= 0 {
		l.MaxPatternBytes = d.MaxPatternBytes
	}
	if l.MaxWildcards <= 0 {
		l.MaxWildcards = d.MaxWildcards
	}
	return l
}

// LimitError is a pattern set refused for breaking a limit. Its message names
// the limit, and the pattern when one is at fault.
type LimitError struct {
	// Limit names the limit: "patterns", "pattern length", "wildcards",
	// "file size" or "characters".
	Limit string
	// Pattern is the offending pattern, shortened; empty for a limit on the set;
	// the file's name for "file size".
	Pattern string
	// Max is the limit's value.
	Max int64
	// Got is what the set or pattern had.
	Got int64
}

func (e *LimitError) Error() string {
	if e.Limit == "characters" {
		return fmt.Sprintf("exclude pattern %q holds a character patterns may not contain (a control character or invalid UTF-8)", e.Pattern)
	}
	if e.Limit == "file size" {
		return fmt.Sprintf("exclude file %s exceeds the file size limit: %d bytes, at most %d", e.Pattern, e.Got, e.Max)
	}
	if e.Pattern == "" {
		return fmt.Sprintf("too many exclude %s: %d, at most %d", e.Limit, e.Got, e.Max)
	}
	return fmt.Sprintf("exclude pattern %q exceeds the %s limit: %d, at most %d", e.Pattern, e.Limit, e.Got, e.Max)
}

// Check reports the first limit patterns break, as a *LimitError; nil when they
// keep to all of them. Blank patterns and comments (#) count toward nothing.
func Check(patterns []string, l Limits) error {
	l = l.WithDefaults()
	n := 0
	for _, p := range patterns {
		// Blank and comment as git reads them, which is how Parse reads them: a
		// line with a space before its '#' is a pattern, and counts.
		t := trimTrailingSpaces(p)
		if t == "" || t[0] == '#' {
			continue
		}
		n++
		if len(p) > l.MaxPatternBytes {
			return &LimitError{Limit: "pattern length", Pattern: shorten(p), Max: int64(l.MaxPatternBytes), Got: int64(len(p))}
		}
		if !utf8.ValidString(p) || strings.ContainsFunc(p, isControl) {
			return &LimitError{Limit: "characters", Pattern: shorten(p)}
		}
		if w := strings.Count(p, "*") + strings.Count(p, "?") + strings.Count(p, "["); w > l.MaxWildcards {
			return &LimitError{Limit: "wildcards", Pattern: shorten(p), Max: int64(l.MaxWildcards), Got: int64(w)}
		}
	}
	if n > l.MaxPatterns {
		return &LimitError{Limit: "patterns", Max: int64(l.MaxPatterns), Got: int64(n)}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func shorten(p string) string {
	const keep = 40
	if len(p) <= keep {
		return p
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "…"
}

package backup

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest backup name, in characters (runes).
const MaxNameLength = 100

// NewName validates a user-supplied backup name: surrounding white space is
// trimmed, and the rest must be 1–100 characters of printable Unicode (letters,
// marks, numbers, punctuation, symbols and the ASCII space). Control characters,
// invisible formatting characters such as right-to-left overrides, other spaces
// and invalid UTF-8 are refused, because names are shown to people and put in
// download file names. Returns ErrInvalidName.
func NewName(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	name := strings.TrimSpace(raw)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", fmt.Errorf("%w: empty", ErrInvalidName)
	case n > MaxNameLength:
		return "", fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidName, n, MaxNameLength)
	}
	for i, r := range name {
		if !unicode.IsPrint(r) {
			return "", fmt.Errorf("%w: character %U at byte %d is not printable", ErrInvalidName, r, i)
		}
	}
	return name, nil
}

// DefaultName is the name of a backup created without one: "Backup YYYY-MM-DD HH:MM UTC".
func DefaultName(at time.Time) string {
	return "Backup " + at.UTC().Format("2006-01-02 15:04") + " UTC"
}

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
// trimmed, and the rest must be 1 to MaxNameLength characters of printable Unicode (letters,
// marks, numbers, punctuation, symbols and the ASCII space, plus the zero-width
// joiner inside emoji sequences). Control characters, invisible formatting
// characters such as right-to-left overrides, other spaces and invalid UTF-8 are
// refused, because names are shown to people and put in
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
	runes := []rune(name)
	for i, r := range runes {
		if unicode.IsPrint(r) || (r == zeroWidthJoiner && i > 0 && i < len(runes)-1 && joinable(runes[i-1]) && joinable(runes[i+1])) {
			continue
		}
		return "", fmt.Errorf("%w: character %U at position %d is not printable", ErrInvalidName, r, i+1)
	}
	return name, nil
}

// zeroWidthJoiner glues emoji sequences such as 👩‍💻; it is an invisible format
// character, allowed only between two visible ones.
const zeroWidthJoiner = '\u200d'

func joinable(r rune) bool { return unicode.IsPrint(r) && !unicode.IsSpace(r) }

// DefaultName is the name of a backup created without one: "Backup YYYY-MM-DD HH:MM UTC".
func DefaultName(at time.Time) string {
	return "Backup " + at.UTC().Format("2006-01-02 15:04") + " UTC"
}

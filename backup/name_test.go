package backup_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestNewName(t *testing.T) {
	accepted := []struct {
		name, raw, want string
	}{
		{"keeps a plain name", "Before the update", "Before the update"},
		{"trims surrounding white space", "  \tnightly \n", "nightly"},
		{"trims Unicode spaces at the ends", "\u00a0\u3000world\u2003", "world"},
		{"accepts a single character", "x", "x"},
		{"accepts exactly 100 characters", strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{"counts characters, not bytes", strings.Repeat("é", 100), strings.Repeat("é", 100)},
		{"accepts emoji", "🎮 Survival world 🌍", "🎮 Survival world 🌍"},
		{"accepts emoji with skin tones and flags", "👍🏽 🇩🇪 1️⃣", "👍🏽 🇩🇪 1️⃣"},
		{"accepts emoji joined by zero-width joiners", "👩\u200d💻 and 🏳️\u200d🌈", "👩\u200d💻 and 🏳️\u200d🌈"},
		{"accepts CJK", "世界のバックアップ 第2回", "世界のバックアップ 第2回"},
		{"accepts Arabic and Hebrew text", "نسخة احتياطية שלום", "نسخة احتياطية שלום"},
		{"accepts combining marks", "Cafe\u0301", "Cafe\u0301"},
		{"accepts punctuation and symbols", `v1.2 (pre-nether) #3 — 50% "done" ™`, `v1.2 (pre-nether) #3 — 50% "done" ™`},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := backup.NewName(tc.raw)
			if err != nil {
				t.Fatalf("NewName(%q): %v", tc.raw, err)
			}
			if got != tc.want {
				t.Fatalf("NewName(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}

	refused := []struct {
		name, raw string
	}{
		{"refuses an empty name", ""},
		{"refuses a name of only white space", " \t\r\n "},
		{"refuses 101 characters", strings.Repeat("a", 101)},
		{"refuses 101 multi-byte characters", strings.Repeat("界", 101)},
		{"refuses a NUL byte", "world\x00"},
		{"refuses a newline inside", "line one\nline two"},
		{"refuses a tab inside", "a\tb"},
		{"refuses an escape sequence", "\x1b[31mred"},
		{"refuses DEL", "a\x7fb"},
		{"refuses a C1 control", "a\u0085b"},
		{"refuses a right-to-left override", "invoice\u202Egpj.exe"},
		{"refuses a left-to-right isolate", "a\u2066b"},
		{"refuses a zero-width space", "a\u200bb"},
		{"refuses a zero-width joiner next to a space", "a \u200db"},
		{"refuses a zero-width joiner at the end", "a\u200d"},
		{"refuses a byte-order mark", "\ufeffname"},
		{"refuses a no-break space inside", "a\u00a0b"},
		{"refuses a line separator inside", "a\u2028b"},
		{"refuses a private-use character", "a\ue000b"},
		{"refuses invalid UTF-8", "abc\xff"},
		{"refuses a lone surrogate encoded as UTF-8", "a\xed\xa0\x80b"},
		{"refuses an overlong encoding", "\xc0\xaf"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			got, err := backup.NewName(tc.raw)
			if !errors.Is(err, backup.ErrInvalidName) {
				t.Fatalf("NewName(%q) = %q, %v; want ErrInvalidName", tc.raw, got, err)
			}
			if got != "" {
				t.Fatalf("NewName(%q) returned %q along with an error", tc.raw, got)
			}
		})
	}
}

func TestNewNameSaysWhatIsWrong(t *testing.T) {
	for raw, want := range map[string]string{
		"":                       "empty",
		strings.Repeat("a", 101): "101 characters",
		"a\u202eb":               "U+202E",
		"\xff":                   "UTF-8",
	} {
		if _, err := backup.NewName(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewName(%q) error %v should mention %q", raw, err, want)
		}
	}
}

func TestDefaultName(t *testing.T) {
	t.Run("names the minute in UTC", func(t *testing.T) {
		at := time.Date(2025, time.March, 4, 7, 5, 59, 999, time.UTC)
		if got, want := backup.DefaultName(at), "Backup 2025-03-04 07:05 UTC"; got != want {
			t.Fatalf("DefaultName = %q, want %q", got, want)
		}
	})
	t.Run("converts other zones to UTC", func(t *testing.T) {
		tokyo := time.FixedZone("JST", 9*60*60)
		at := time.Date(2025, time.January, 1, 8, 30, 0, 0, tokyo)
		if got, want := backup.DefaultName(at), "Backup 2024-12-31 23:30 UTC"; got != want {
			t.Fatalf("DefaultName = %q, want %q", got, want)
		}
	})
	t.Run("is itself a valid name", func(t *testing.T) {
		name := backup.DefaultName(fixedNow)
		if got, err := backup.NewName(name); err != nil || got != name {
			t.Fatalf("NewName(DefaultName) = %q, %v", got, err)
		}
	})
}

func TestObjectKey(t *testing.T) {
	order, _ := ports.ParseOrderID("0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e")
	id, _ := ports.ParseBackupID("0190d3c5-0000-7000-8000-000000000001")
	want := "backups/0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e/0190d3c5-0000-7000-8000-000000000001.tar.gz"
	if got := backup.ObjectKey(order, id); got != want {
		t.Fatalf("ObjectKey = %q, want %q", got, want)
	}
}

// FuzzNewName checks that NewName accepts exactly the names a backup may have
// (1–100 printable characters once trimmed) and returns them in the form it
// would accept again. Its corpus is in testdata/fuzz/FuzzNewName.
func FuzzNewName(f *testing.F) {
	for _, raw := range []string{
		"", " ", "Before the update", "  padded  ", strings.Repeat("a", 100), strings.Repeat("a", 101),
		"a\x00b", "a\u202eb", "\xff", "🎮 world", "世界", "a\u00a0b", "\u00a0a\u00a0",
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := backup.NewName(raw)

		trimmed := strings.TrimSpace(raw)
		allowed := utf8.ValidString(raw) && trimmed != "" && utf8.RuneCountInString(trimmed) <= backup.MaxNameLength
		runes := []rune(trimmed)
		for i, r := range runes {
			// A zero-width joiner may glue two visible characters (emoji sequences).
			joins := r == '\u200d' && i > 0 && i < len(runes)-1 && visible(runes[i-1]) && visible(runes[i+1])
			allowed = allowed && (unicode.IsPrint(r) || joins)
		}

		if err != nil {
			if !errors.Is(err, backup.ErrInvalidName) {
				t.Fatalf("NewName(%q) error %v does not wrap ErrInvalidName", raw, err)
			}
			if name != "" {
				t.Fatalf("NewName(%q) returned %q with an error", raw, name)
			}
			if allowed {
				t.Fatalf("NewName(%q) refused a name of %d printable characters: %v", raw, utf8.RuneCountInString(trimmed), err)
			}
			return
		}
		if !allowed {
			t.Fatalf("NewName(%q) = %q: accepted a name the rules refuse", raw, name)
		}
		if name != trimmed {
			t.Fatalf("NewName(%q) = %q, want the trimmed input %q", raw, name, trimmed)
		}
		if again, err := backup.NewName(name); err != nil || again != name {
			t.Fatalf("NewName is not idempotent on %q: %q, %v", name, again, err)
		}
	})
}

func visible(r rune) bool { return unicode.IsPrint(r) && !unicode.IsSpace(r) }

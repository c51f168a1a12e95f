package http_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/internal/exclude"
)

func TestCreateWithExcludes(t *testing.T) {
	w := newWorld(t)
	w.sidecar.ignored = []string{"logs/"}
	rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken,
		map[string]any{"name": "Without the cache", "excludes": []string{"cache/", "*.tmp"}})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	created := decode[sphttp.BackupView](t, rec)
	v := w.waitFor(w.order, w.prov, created.ID, "ready")
	if want := []string{"logs/", "cache/", "*.tmp"}; !slices.Equal(v.Excludes, want) {
		t.Errorf("the ready backup's excludes are %q, want the file's then the request's: %q", v.Excludes, want)
	}
	w.sidecar.mu.Lock()
	opts := w.sidecar.opts
	w.sidecar.mu.Unlock()
	if want := (ports.ArchiveOptions{Excludes: []string{"cache/", "*.tmp"}, Quiesce: ports.QuiesceContinue}); !reflect.DeepEqual(opts, want) {
		t.Errorf("the sidecar was asked for %+v, want %+v", opts, want)
	}
}

func TestTheLargestValidExcludesFitInTheBody(t *testing.T) {
	d := exclude.DefaultLimits()
	// Every byte of every pattern escaped in JSON: the largest body a valid
	// request can need.
	worst := slices.Repeat([]string{strings.Repeat(`\`, d.MaxPatternBytes)}, d.MaxPatterns)
	w := newWorld(t)
	body := map[string]any{"name": strings.Repeat("n", 100), "excludes": worst}
	if rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, body); rec.Code != http.StatusAccepted {
		t.Fatalf("create: %d %.300s", rec.Code, rec.Body)
	}
	body = map[string]any{"cron": "@daily", "name_template": strings.Repeat("n", 80) + " {date}", "excludes": worst}
	if rec := w.call(http.MethodPut, scheduleURL(w.order, w.prov), aliceToken, body); rec.Code != http.StatusOK {
		t.Fatalf("put schedule: %d %.300s", rec.Code, rec.Body)
	}
}

func TestCreateRefusesExcludesOverTheLimits(t *testing.T) {
	d := exclude.DefaultLimits()
	many := make([]string, d.MaxPatterns+1)
	for i := range many {
		many[i] = fmt.Sprintf("dir%d/", i)
	}
	for _, tc := range []struct {
		name     string
		excludes []string
		mention  string // what the problem must say of the limit
	}{
		{"too many patterns", many, "256"},
		{"a pattern too long", []string{strings.Repeat("a", d.MaxPatternBytes+1)}, "256"},
		// Bytes, not characters: the schema cannot see this one, the service can.
		{"a pattern too long in bytes", []string{strings.Repeat("é", d.MaxPatternBytes/2+1)}, "pattern length"},
		{"too many wildcards", []string{strings.Repeat("*/", d.MaxWildcards+1)}, "wildcards"},
		{"a control character", []string{"logs/\x01"}, "character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, map[string]any{"excludes": tc.excludes})
			p := problem(t, rec, http.StatusUnprocessableEntity, sphttp.CodeInvalidExcludes)
			if !strings.Contains(p.Detail+fmt.Sprint(p.Errors), tc.mention) {
				t.Errorf("the problem does not say %q: %s", tc.mention, rec.Body)
			}
			rec = w.call(http.MethodPut, scheduleURL(w.order, w.prov), aliceToken, map[string]any{"cron": "@daily", "excludes": tc.excludes})
			problem(t, rec, http.StatusUnprocessableEntity, sphttp.CodeInvalidExcludes)
			rec = w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)
			if list := decode[sphttp.BackupList](t, rec); len(list.Backups) != 0 {
				t.Errorf("a refused create left %d backups", len(list.Backups))
			}
		})
	}
	t.Run("other mistakes in the body stay invalid_input", func(t *testing.T) {
		w := newWorld(t)
		rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, map[string]any{"excludes": "cache/"})
		problem(t, rec, http.StatusUnprocessableEntity, sphttp.CodeInvalidInput)
	})
}

func TestBackupViewShowsTheQuiesceAndItsWarning(t *testing.T) {
	t.Run("paused", func(t *testing.T) {
		w := newWorld(t)
		w.sidecar.quiesce = ports.QuiesceReport{Method: "rcon", Paused: 1850 * time.Millisecond}
		v := w.waitFor(w.order, w.prov, w.create("Paused").ID, "ready")
		if v.Quiesce == nil || *v.Quiesce != (sphttp.QuiesceView{Method: "rcon", PausedMS: 1850}) || len(v.Warnings) != 0 {
			t.Fatalf("quiesce %+v, warnings %q: want rcon for 1850 ms and no warning", v.Quiesce, v.Warnings)
		}
	})
	t.Run("not paused", func(t *testing.T) {
		w := newWorld(t)
		w.sidecar.quiesce = ports.QuiesceReport{Method: "rcon", Warning: "the game was not paused: connection refused"}
		v := w.waitFor(w.order, w.prov, w.create("Unpaused").ID, "ready")
		if v.Quiesce != nil || len(v.Warnings) != 1 || v.Warnings[0] != "The game was not paused: connection refused" {
			t.Fatalf("quiesce %+v, warnings %q: want none, and the sidecar's warning", v.Quiesce, v.Warnings)
		}
	})
	t.Run("paused, then not resumed", func(t *testing.T) {
		w := newWorld(t)
		w.sidecar.quiesce = ports.QuiesceReport{Method: "exec", Paused: 900 * time.Millisecond, Warning: "the game could not be told to resume saving: exit status 1; the sidecar keeps trying"}
		v := w.waitFor(w.order, w.prov, w.create("Unresumed").ID, "ready")
		if v.Quiesce == nil || v.Quiesce.PausedMS != 900 || len(v.Warnings) != 1 || !strings.HasPrefix(v.Warnings[0], "The game could not be told to resume saving") {
			t.Fatalf("quiesce %+v, warnings %q: want the 900 ms pause and the resume's warning", v.Quiesce, v.Warnings)
		}
	})
	t.Run("no method configured", func(t *testing.T) {
		w := newWorld(t)
		rec := w.call(http.MethodGet, backupURL(w.order, w.prov, mustParse(t, w.waitFor(w.order, w.prov, w.create("Plain").ID, "ready").ID)), aliceToken, nil)
		if body := rec.Body.String(); !strings.Contains(body, `"quiesce":null`) || !strings.Contains(body, `"warnings":[]`) {
			t.Fatalf("want quiesce null and no warnings: %s", body)
		}
	})
}

func mustParse(t *testing.T, id string) ports.BackupID {
	t.Helper()
	b, err := ports.ParseBackupID(id)
	must(t, err)
	return b
}

func TestScheduleExcludesRoundTrip(t *testing.T) {
	w := newWorld(t)
	v := w.putSchedule(map[string]any{"cron": "@daily", "excludes": []string{"cache/", "/logs/"}})
	if !slices.Equal(v.Excludes, []string{"cache/", "/logs/"}) {
		t.Errorf("put answered excludes %q", v.Excludes)
	}
	rec := w.call(http.MethodGet, scheduleURL(w.order, w.prov), aliceToken, nil)
	if got := decode[sphttp.ScheduleView](t, rec); !slices.Equal(got.Excludes, v.Excludes) {
		t.Errorf("get answered excludes %q, want %q", got.Excludes, v.Excludes)
	}
	v = w.putSchedule(map[string]any{"cron": "@daily"})
	if v.Excludes == nil || len(v.Excludes) != 0 {
		t.Errorf("a schedule put without excludes has %#v, want an empty list", v.Excludes)
	}
}

func TestExcludeBoundsInTheSchemaAreTheServiceLimits(t *testing.T) {
	d := exclude.DefaultLimits()
	for _, typ := range []reflect.Type{reflect.TypeFor[sphttp.CreateBackupRequest](), reflect.TypeFor[sphttp.ScheduleRequest]()} {
		f, _ := typ.FieldByName("Excludes")
		if f.Tag.Get("maxItems") != fmt.Sprint(d.MaxPatterns) || f.Tag.Get("maxLength") != fmt.Sprint(d.MaxPatternBytes) {
			t.Errorf("%s.Excludes: maxItems %q, maxLength %q; want %d and %d", typ.Name(), f.Tag.Get("maxItems"), f.Tag.Get("maxLength"), d.MaxPatterns, d.MaxPatternBytes)
		}
	}
}

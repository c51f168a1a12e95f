package spriver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	spriver "github.com/savepoint-dev/savepoint/adapters/river"
)

func TestOptions(t *testing.T) {
	t.Parallel()

	t.Run("the zero value means the documented defaults", func(t *testing.T) {
		t.Parallel()
		got := spriver.OptionsWithDefaults(spriver.Options{})
		if got.Tick != 15*time.Second || got.Workers != 4 || got.JobTimeout != time.Minute || got.MaxAttempts != 5 ||
			got.RescueStuckJobsAfter != 11*time.Minute || got.Schema != "" || got.Logger == nil {
			t.Errorf("defaults = %+v", got)
		}
		if err := (spriver.Options{}).Validate(); err != nil {
			t.Errorf("the zero Options do not validate: %v", err)
		}
	})

	t.Run("RescueStuckJobsAfter follows JobTimeout by default", func(t *testing.T) {
		t.Parallel()
		got := spriver.OptionsWithDefaults(spriver.Options{JobTimeout: time.Hour})
		if got.RescueStuckJobsAfter != time.Hour+spriver.DefaultRescueMargin {
			t.Errorf("RescueStuckJobsAfter = %v with a JobTimeout of an hour", got.RescueStuckJobsAfter)
		}
	})

	for _, tc := range []struct {
		name  string
		opts  spriver.Options
		field string
	}{
		{"a negative Tick is refused", spriver.Options{Tick: -time.Second}, "Tick"},
		{"negative Workers are refused", spriver.Options{Workers: -1}, "Workers"},
		{"a negative MaxAttempts is refused", spriver.Options{MaxAttempts: -1}, "MaxAttempts"},
		{"a negative JobTimeout is refused", spriver.Options{JobTimeout: -time.Second}, "JobTimeout"},
		{"a rescue no later than the timeout is refused", spriver.Options{JobTimeout: time.Minute, RescueStuckJobsAfter: time.Minute}, "RescueStuckJobsAfter"},
		{"a schema River cannot use is refused", spriver.Options{Schema: "backups-river"}, "Schema"},
		{"a schema starting with a digit is refused", spriver.Options{Schema: "1river"}, "Schema"},
		{"a schema longer than River allows is refused", spriver.Options{Schema: strings.Repeat("s", 47)}, "Schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.opts.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate(%+v) = %v, want an error naming %s", tc.opts, err, tc.field)
			}
			if _, nerr := spriver.New(&pgxpool.Pool{}, &fakeScheduler{}, tc.opts); nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New = %v, want Validate's error", nerr)
			}
		})
	}

	t.Run("a schema of 46 letters, digits and underscores is accepted", func(t *testing.T) {
		t.Parallel()
		if err := (spriver.Options{Schema: "_" + strings.Repeat("s9", 22) + "_"}).Validate(); err != nil {
			t.Error(err)
		}
	})

	t.Run("New needs a pool and a Scheduler", func(t *testing.T) {
		t.Parallel()
		if _, err := spriver.New(nil, &fakeScheduler{}, spriver.Options{}); err == nil {
			t.Error("New with a nil pool succeeded")
		}
		if _, err := spriver.New(&pgxpool.Pool{}, nil, spriver.Options{}); err == nil {
			t.Error("New with a nil Scheduler succeeded")
		}
	})
}

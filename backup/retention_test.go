package backup_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/google/uuid"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// retentionCase is a set of backups with what Forget and RotationCandidate
// must make of it, whatever the order the set comes in.
type retentionCase struct {
	name          string
	policy        ports.RetentionPolicy
	loc           *time.Location
	includeManual bool
	backups       []ports.Backup
	// forget names the backups Forget returns, oldest first.
	forget []string
	// rotate names RotationCandidate's backup; "" when there is none.
	rotate string
}

func retentionCases(t *testing.T) []retentionCase {
	berlin := loadZone(t, "Europe/Berlin")
	losAngeles := loadZone(t, "America/Los_Angeles")
	auckland := loadZone(t, "Pacific/Auckland")

	fourDays := []ports.Backup{
		readyAt("a", "2026-06-01 03:00Z"),
		readyAt("b", "2026-06-02 03:00Z"),
		readyAt("c", "2026-06-03 03:00Z"),
		readyAt("d", "2026-06-04 03:00Z"),
	}
	twoDaysAndAGap := []ports.Backup{
		readyAt("mon 03:00", "2026-06-01 03:00Z"),
		readyAt("mon 15:00", "2026-06-01 15:00Z"),
		readyAt("tue 03:00", "2026-06-02 03:00Z"),
		readyAt("tue 15:00", "2026-06-02 15:00Z"),
		readyAt("thu 03:00", "2026-06-04 03:00Z"),
	}
	// Berlin's clocks go from 02:00 CET to 03:00 CEST on 2026-03-29.
	springForward := []ports.Backup{
		readyAt("sat 23:30 CET", "2026-03-28 23:30+01:00"),  // Saturday 22:30 UTC
		readyAt("sun 00:30 CET", "2026-03-29 00:30+01:00"),  // Saturday 23:30 UTC
		readyAt("sun 01:30 CET", "2026-03-29 01:30+01:00"),  // Sunday 00:30 UTC
		readyAt("sun 03:30 CEST", "2026-03-29 03:30+02:00"), // an hour later
	}
	// Berlin's clocks go from 03:00 CEST back to 02:00 CET on 2026-10-25.
	fallBack := []ports.Backup{
		readyAt("sat 23:30 CEST", "2026-10-24 23:30+02:00"),
		readyAt("sun 00:30 CEST", "2026-10-25 00:30+02:00"), // Saturday 22:30 UTC
		readyAt("sun 02:30 CEST", "2026-10-25 02:30+02:00"),
		readyAt("sun 02:30 CET", "2026-10-25 02:30+01:00"), // an hour later, same wall clock
		readyAt("mon 00:30 CET", "2026-10-26 00:30+01:00"), // Sunday 23:30 UTC
	}
	losAngelesEvening := []ports.Backup{
		readyAt("mon 20:00", "2026-06-01 20:00-07:00"), // Tuesday 03:00 UTC
		readyAt("mon 22:00", "2026-06-01 22:00-07:00"), // Tuesday 05:00 UTC
		readyAt("tue 08:00", "2026-06-02 08:00-07:00"),
	}
	// 2026 began on a Thursday, so it has an ISO week 53, which runs to
	// Sunday 2027-01-03.
	yearEnd2026 := []ports.Backup{
		readyAt("mon dec 28", "2026-12-28 12:00Z"),
		readyAt("thu dec 31", "2026-12-31 12:00Z"),
		readyAt("fri jan 1", "2027-01-01 12:00Z"),
		readyAt("mon jan 4", "2027-01-04 12:00Z"),
	}

	return []retentionCase{
		// Each rule alone.
		{
			name:    "keep last 2 lets the older backups go",
			policy:  ports.RetentionPolicy{KeepLast: 2},
			backups: fourDays,
			forget:  []string{"a", "b"},
			rotate:  "a",
		},
		{
			name:    "keep last 1 keeps only the newest backup",
			policy:  ports.RetentionPolicy{KeepLast: 1},
			backups: fourDays,
			forget:  []string{"a", "b", "c"},
			rotate:  "a",
		},
		{
			name:    "keep last above the number of backups keeps them all",
			policy:  ports.RetentionPolicy{KeepLast: 10},
			backups: fourDays,
		},
		{
			name:    "keep daily keeps the newest backup of each of the last days",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			backups: twoDaysAndAGap,
			forget:  []string{"mon 03:00", "mon 15:00", "tue 03:00"},
			rotate:  "mon 03:00",
		},
		{
			name:    "keep daily counts only days that have a backup",
			policy:  ports.RetentionPolicy{KeepDaily: 3},
			backups: twoDaysAndAGap,
			forget:  []string{"mon 03:00", "tue 03:00"},
			rotate:  "mon 03:00",
		},
		{
			name:    "keep daily 1 keeps the newest backup of the last day only",
			policy:  ports.RetentionPolicy{KeepDaily: 1},
			backups: twoDaysAndAGap,
			forget:  []string{"mon 03:00", "mon 15:00", "tue 03:00", "tue 15:00"},
			rotate:  "mon 03:00",
		},
		{
			name:   "of many backups on one day keep daily keeps only the newest",
			policy: ports.RetentionPolicy{KeepDaily: 2},
			backups: []ports.Backup{
				readyAt("00h", "2026-06-01 00:00Z"),
				readyAt("04h", "2026-06-01 04:00Z"),
				readyAt("08h", "2026-06-01 08:00Z"),
				readyAt("12h", "2026-06-01 12:00Z"),
				readyAt("16h", "2026-06-01 16:00Z"),
				readyAt("20h", "2026-06-01 20:00Z"),
				readyAt("next day", "2026-06-02 00:00Z"),
			},
			forget: []string{"00h", "04h", "08h", "12h", "16h"},
			rotate: "00h",
		},
		{
			name:   "keep weekly keeps the newest backup of each ISO week, Monday to Sunday",
			policy: ports.RetentionPolicy{KeepWeekly: 3},
			backups: []ports.Backup{
				readyAt("mon week 23", "2026-06-01 03:00Z"),
				readyAt("sun week 23", "2026-06-07 22:00Z"),
				readyAt("mon week 24", "2026-06-08 01:00Z"),
				readyAt("wed week 24", "2026-06-10 03:00Z"),
				readyAt("mon week 25", "2026-06-15 03:00Z"),
			},
			forget: []string{"mon week 23", "mon week 24"},
			rotate: "mon week 23",
		},
		{
			name:   "keep monthly keeps the newest backup of each month",
			policy: ports.RetentionPolicy{KeepMonthly: 2},
			backups: []ports.Backup{
				readyAt("apr 10", "2026-04-10 03:00Z"),
				readyAt("apr 30", "2026-04-30 23:00Z"),
				readyAt("may 1", "2026-05-01 00:30Z"),
				readyAt("may 31", "2026-05-31 03:00Z"),
				readyAt("jun 15", "2026-06-15 03:00Z"),
			},
			forget: []string{"apr 10", "apr 30", "may 1"},
			rotate: "apr 10",
		},

		// Rules together.
		{
			name:   "a backup kept by any rule is kept",
			policy: ports.RetentionPolicy{KeepLast: 1, KeepDaily: 2, KeepWeekly: 2, KeepMonthly: 2},
			backups: []ports.Backup{
				readyAt("may 20", "2026-05-20 03:00Z"),
				readyAt("may 31", "2026-05-31 03:00Z"), // May's newest
				readyAt("jun 3", "2026-06-03 03:00Z"),
				readyAt("jun 7", "2026-06-07 03:00Z"), // Sunday: week 23's newest
				readyAt("jun 8 early", "2026-06-08 03:00Z"),
				readyAt("jun 8 late", "2026-06-08 15:00Z"), // Monday's newest
				readyAt("jun 9 early", "2026-06-09 03:00Z"),
				readyAt("jun 9 late", "2026-06-09 15:00Z"), // newest of all
			},
			forget: []string{"may 20", "jun 3", "jun 8 early", "jun 9 early"},
			rotate: "may 20",
		},
		{
			name:   "keep last and keep monthly overlap on the newest backups",
			policy: ports.RetentionPolicy{KeepLast: 3, KeepMonthly: 2},
			backups: []ports.Backup{
				readyAt("apr 15", "2026-04-15 03:00Z"),
				readyAt("may 10", "2026-05-10 03:00Z"),
				readyAt("may 20", "2026-05-20 03:00Z"),
				readyAt("jun 1", "2026-06-01 03:00Z"),
				readyAt("jun 2", "2026-06-02 03:00Z"),
				readyAt("jun 3", "2026-06-03 03:00Z"),
			},
			forget: []string{"apr 15", "may 10"},
			rotate: "apr 15",
		},
		{
			name:    "a negative count keeps every bucket",
			policy:  ports.RetentionPolicy{KeepDaily: -1},
			backups: twoDaysAndAGap,
			forget:  []string{"mon 03:00", "tue 03:00"},
			rotate:  "mon 03:00",
		},

		// The zero policy.
		{
			name:    "the zero policy keeps everything, and rotation takes the oldest",
			backups: fourDays,
			rotate:  "a",
		},
		{
			name: "the zero policy: rotation takes a failed backup before older ready ones",
			backups: []ports.Backup{
				readyAt("a", "2026-06-01 03:00Z"),
				failedAt("failed", "2026-06-02 03:00Z"),
				readyAt("c", "2026-06-03 03:00Z"),
			},
			rotate: "failed",
		},
		{
			name:    "the zero policy: rotation never takes the only ready backup",
			backups: []ports.Backup{readyAt("only", "2026-06-01 03:00Z")},
		},
		{
			name: "the zero policy: rotation passes over protected backups",
			backups: []ports.Backup{
				readyAt("manual", "2026-06-01 03:00Z", asManual),
				readyAt("locked", "2026-06-02 03:00Z", asLocked),
				readyAt("deleting", "2026-06-03 03:00Z", asDeleting),
				restoringAt("restoring", "2026-06-04 03:00Z"),
				failedAt("failed, locked", "2026-06-04 04:00Z", asLocked),
				failedAt("failed, deleting", "2026-06-04 05:00Z", asDeleting),
				readyAt("e", "2026-06-05 03:00Z"),
				readyAt("f", "2026-06-06 03:00Z"),
				creatingAt("creating", "2026-06-07 03:00Z"),
			},
			rotate: "e",
		},
		{
			name: "the zero policy: nothing to rotate when only protected backups and the newest ready are left",
			backups: []ports.Backup{
				readyAt("locked", "2026-06-01 03:00Z", asLocked),
				readyAt("newest ready", "2026-06-02 03:00Z"),
				creatingAt("creating", "2026-06-03 03:00Z"),
			},
		},
		{
			name: "when the newest ready backup is being deleted, the one before it is the newest",
			backups: []ports.Backup{
				readyAt("a", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("deleting", "2026-06-03 03:00Z", asDeleting),
			},
			rotate: "a",
		},

		// What is never returned.
		{
			name:   "locked backups are never let go",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				readyAt("locked old", "2026-06-01 03:00Z", asLocked),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("locked", "2026-06-03 03:00Z", asLocked),
				readyAt("d", "2026-06-04 03:00Z"),
			},
			forget: []string{"b"},
			rotate: "b",
		},
		{
			name:   "a locked backup counts: it is its day's newest",
			policy: ports.RetentionPolicy{KeepDaily: 1},
			backups: []ports.Backup{
				readyAt("morning", "2026-06-01 03:00Z"),
				readyAt("locked evening", "2026-06-01 19:00Z", asLocked),
			},
			forget: []string{"morning"},
			rotate: "morning",
		},
		{
			name:   "backups being created or restored are never let go, and do not count",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				restoringAt("restoring old", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("c", "2026-06-03 03:00Z"),
				restoringAt("restoring", "2026-06-04 03:00Z"),
				creatingAt("creating", "2026-06-05 03:00Z"),
			},
			forget: []string{"b"},
			rotate: "b",
		},
		{
			name:   "backups being deleted are never returned, and do not count",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				readyAt("deleting old", "2026-06-01 03:00Z", asDeleting),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("c", "2026-06-03 03:00Z"),
				readyAt("deleting", "2026-06-04 03:00Z", asDeleting),
				failedAt("failed, deleting", "2026-06-01 05:00Z", asDeleting),
			},
			forget: []string{"b"},
			rotate: "b",
		},
		{
			name:   "manual backups are never let go without includeManual",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				readyAt("manual old", "2026-06-01 03:00Z", asManual),
				readyAt("b", "2026-06-02 03:00Z"),
				failedAt("manual failed", "2026-06-02 04:00Z", asManual),
				readyAt("manual", "2026-06-03 03:00Z", asManual),
				readyAt("d", "2026-06-04 03:00Z"),
			},
			forget: []string{"b"},
			rotate: "b",
		},
		{
			name:   "a manual backup does not take its day's place from a scheduled one",
			policy: ports.RetentionPolicy{KeepDaily: 1},
			backups: []ports.Backup{
				readyAt("a", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("manual", "2026-06-02 15:00Z", asManual),
			},
			forget: []string{"a"},
			rotate: "a",
		},
		{
			name:          "with includeManual, manual backups count and go like scheduled ones",
			policy:        ports.RetentionPolicy{KeepLast: 1},
			includeManual: true,
			backups: []ports.Backup{
				readyAt("manual old", "2026-06-01 03:00Z", asManual),
				readyAt("b", "2026-06-02 03:00Z"),
				failedAt("manual failed", "2026-06-02 04:00Z", asManual),
				readyAt("manual", "2026-06-03 03:00Z", asManual),
				readyAt("d", "2026-06-04 03:00Z"),
			},
			forget: []string{"manual old", "b", "manual failed", "manual"},
			rotate: "manual failed",
		},
		{
			name:          "with includeManual, a manual backup can be the one a rule keeps",
			policy:        ports.RetentionPolicy{KeepLast: 1},
			includeManual: true,
			backups: []ports.Backup{
				readyAt("a", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				readyAt("manual", "2026-06-03 03:00Z", asManual),
			},
			forget: []string{"a", "b"},
			rotate: "a",
		},

		// Failed backups.
		{
			name:   "failed backups older than the newest ready backup are let go",
			policy: ports.RetentionPolicy{KeepLast: 2},
			backups: []ports.Backup{
				failedAt("failed 1", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				failedAt("failed 2", "2026-06-03 03:00Z"),
				readyAt("d", "2026-06-04 03:00Z"),
				failedAt("failed 3", "2026-06-05 03:00Z"),
			},
			forget: []string{"failed 1", "failed 2"},
			rotate: "failed 1",
		},
		{
			name:   "a failed backup takes no day's place, and goes once a later backup succeeded",
			policy: ports.RetentionPolicy{KeepDaily: 2},
			backups: []ports.Backup{
				readyAt("mon morning", "2026-06-01 03:00Z"),
				failedAt("mon evening, failed", "2026-06-01 15:00Z"),
				readyAt("tue morning", "2026-06-02 03:00Z"),
				failedAt("tue evening, failed", "2026-06-02 15:00Z"),
			},
			forget: []string{"mon evening, failed"},
			rotate: "mon evening, failed",
		},
		{
			name:   "a failed backup newer than the newest ready one stays, but rotation takes it first",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				readyAt("a", "2026-06-01 03:00Z"),
				readyAt("b", "2026-06-02 03:00Z"),
				failedAt("failed", "2026-06-03 03:00Z"),
			},
			forget: []string{"a"},
			rotate: "failed",
		},
		{
			name:   "with no ready backup, failed backups stay",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				failedAt("failed 1", "2026-06-01 03:00Z"),
				failedAt("failed 2", "2026-06-02 03:00Z"),
			},
			rotate: "failed 1",
		},
		{
			name:    "rotation takes nothing a rule keeps",
			policy:  ports.RetentionPolicy{KeepLast: 4},
			backups: fourDays,
		},
		{
			name:   "backups made at the same instant are ordered by ID",
			policy: ports.RetentionPolicy{KeepLast: 1},
			backups: []ports.Backup{
				readyAt("id 3", "2026-06-01 03:00Z", withID("00000000-0000-7000-8000-000000000003")),
				readyAt("id 1", "2026-06-01 03:00Z", withID("00000000-0000-7000-8000-000000000001")),
				readyAt("id 2", "2026-06-01 03:00Z", withID("00000000-0000-7000-8000-000000000002")),
			},
			forget: []string{"id 1", "id 2"},
			rotate: "id 1",
		},

		// Time zones and daylight saving time.
		{
			name:    "Berlin, summer time starts: backups fall on their local days",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			loc:     berlin,
			backups: springForward,
			forget:  []string{"sun 00:30 CET", "sun 01:30 CET"},
			rotate:  "sun 00:30 CET",
		},
		{
			name:    "Berlin, summer time starts: in UTC the same backups fall on other days",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			backups: springForward,
			forget:  []string{"sat 23:30 CET", "sun 01:30 CET"},
			rotate:  "sat 23:30 CET",
		},
		{
			name:    "Berlin, summer time ends: both 02:30s are Sunday, and the second is the newer",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			loc:     berlin,
			backups: fallBack,
			forget:  []string{"sat 23:30 CEST", "sun 00:30 CEST", "sun 02:30 CEST"},
			rotate:  "sat 23:30 CEST",
		},
		{
			name:    "Berlin, summer time ends: in UTC the same backups fall on other days",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			backups: fallBack,
			forget:  []string{"sat 23:30 CEST", "sun 02:30 CEST", "sun 02:30 CET"},
			rotate:  "sat 23:30 CEST",
		},
		{
			name:    "Los Angeles: evening backups are the day before UTC's",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			loc:     losAngeles,
			backups: losAngelesEvening,
			forget:  []string{"mon 20:00"},
			rotate:  "mon 20:00",
		},
		{
			name:    "Los Angeles: in UTC the same backups are all one day",
			policy:  ports.RetentionPolicy{KeepDaily: 2},
			backups: losAngelesEvening,
			forget:  []string{"mon 20:00", "mon 22:00"},
			rotate:  "mon 20:00",
		},
		{
			name:   "Auckland: a backup after midnight is the day after UTC's",
			policy: ports.RetentionPolicy{KeepDaily: 2},
			loc:    auckland,
			backups: []ports.Backup{
				readyAt("mon 09:00", "2026-06-01 09:00+12:00"), // Sunday 21:00 UTC
				readyAt("mon 23:00", "2026-06-01 23:00+12:00"),
				readyAt("tue 01:00", "2026-06-02 01:00+12:00"), // Monday 13:00 UTC
			},
			forget: []string{"mon 09:00"},
			rotate: "mon 09:00",
		},
		{
			name:   "Auckland: the first hour of July is July, though it is June in UTC",
			policy: ports.RetentionPolicy{KeepMonthly: 2},
			loc:    auckland,
			backups: []ports.Backup{
				readyAt("jun 15", "2026-06-15 12:00+12:00"),
				readyAt("jun 30", "2026-06-30 20:00+12:00"),
				readyAt("jul 1 00:30", "2026-07-01 00:30+12:00"), // June 30 12:30 UTC
			},
			forget: []string{"jun 15"},
			rotate: "jun 15",
		},

		// Month and year ends.
		{
			name:   "January 31 and February 28 are their months' last days",
			policy: ports.RetentionPolicy{KeepMonthly: 3},
			backups: []ports.Backup{
				readyAt("jan 31 23:30", "2026-01-31 23:30Z"),
				readyAt("feb 1 00:30", "2026-02-01 00:30Z"),
				readyAt("feb 28 23:00", "2026-02-28 23:00Z"),
				readyAt("mar 1 01:00", "2026-03-01 01:00Z"),
			},
			forget: []string{"feb 1 00:30"},
			rotate: "feb 1 00:30",
		},
		{
			name:   "the leap day 2028-02-29 is a day of its own",
			policy: ports.RetentionPolicy{KeepDaily: 3},
			backups: []ports.Backup{
				readyAt("feb 27", "2028-02-27 12:00Z"),
				readyAt("feb 28", "2028-02-28 12:00Z"),
				readyAt("feb 29 early", "2028-02-29 03:00Z"),
				readyAt("feb 29 late", "2028-02-29 21:00Z"),
				readyAt("mar 1", "2028-03-01 12:00Z"),
			},
			forget: []string{"feb 27", "feb 29 early"},
			rotate: "feb 27",
		},
		{
			name:   "the leap day 2028-02-29 is the last day of February",
			policy: ports.RetentionPolicy{KeepMonthly: 2},
			backups: []ports.Backup{
				readyAt("feb 28", "2028-02-28 12:00Z"),
				readyAt("feb 29 23:59", "2028-02-29 23:59Z"),
				readyAt("mar 1 00:01", "2028-03-01 00:01Z"),
			},
			forget: []string{"feb 28"},
			rotate: "feb 28",
		},
		{
			name:    "December 31, 2026 and January 1, 2027 share ISO week 53 of 2026",
			policy:  ports.RetentionPolicy{KeepWeekly: 2},
			backups: yearEnd2026,
			forget:  []string{"mon dec 28", "thu dec 31"},
			rotate:  "mon dec 28",
		},
		{
			name:    "December 31, 2026 and January 1, 2027 are different months",
			policy:  ports.RetentionPolicy{KeepMonthly: 2},
			backups: yearEnd2026,
			forget:  []string{"mon dec 28", "fri jan 1"},
			rotate:  "mon dec 28",
		},
		{
			name:   "December 31, 2024 is in week 1 of 2025",
			policy: ports.RetentionPolicy{KeepWeekly: 2},
			backups: []ports.Backup{
				readyAt("fri dec 27", "2024-12-27 12:00Z"),
				readyAt("sun dec 29", "2024-12-29 12:00Z"), // the last day of 2024's week 52
				readyAt("tue dec 31", "2024-12-31 12:00Z"),
				readyAt("thu jan 2", "2025-01-02 12:00Z"),
			},
			forget: []string{"fri dec 27", "tue dec 31"},
			rotate: "fri dec 27",
		},
		{
			name:   "the same week number in two years is two weeks",
			policy: ports.RetentionPolicy{KeepWeekly: 2},
			backups: []ports.Backup{
				readyAt("2025 week 23 mon", "2025-06-02 12:00Z"),
				readyAt("2025 week 23 wed", "2025-06-04 12:00Z"),
				readyAt("2026 week 23 wed", "2026-06-03 12:00Z"),
			},
			forget: []string{"2025 week 23 mon"},
			rotate: "2025 week 23 mon",
		},
		{
			name:   "the same month in two years is two months",
			policy: ports.RetentionPolicy{KeepMonthly: 2},
			backups: []ports.Backup{
				readyAt("june 10, 2025", "2025-06-10 12:00Z"),
				readyAt("june 20, 2025", "2025-06-20 12:00Z"),
				readyAt("june 15, 2026", "2026-06-15 12:00Z"),
			},
			forget: []string{"june 10, 2025"},
			rotate: "june 10, 2025",
		},
	}
}

func TestForget(t *testing.T) {
	for _, c := range retentionCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for order, in := range inEveryOrder(c.backups) {
				before := slices.Clone(in)
				got := backupNames(backup.Forget(in, c.policy, c.loc, c.includeManual))
				if !slices.Equal(got, c.forget) {
					t.Errorf("%s: Forget = %q, want %q", order, got, c.forget)
				}
				if !reflect.DeepEqual(in, before) {
					t.Errorf("%s: Forget reordered or changed its input", order)
				}
			}
		})
	}
}

func TestRotationCandidate(t *testing.T) {
	for _, c := range retentionCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for order, in := range inEveryOrder(c.backups) {
				before := slices.Clone(in)
				b, ok := backup.RotationCandidate(in, c.policy, c.loc, c.includeManual)
				switch {
				case ok && b.Name != c.rotate:
					t.Errorf("%s: RotationCandidate = %q, want %q", order, b.Name, c.rotate)
				case !ok && c.rotate != "":
					t.Errorf("%s: RotationCandidate found none, want %q", order, c.rotate)
				case !ok && !reflect.DeepEqual(b, ports.Backup{}):
					t.Errorf("%s: RotationCandidate found none but returned %q", order, b.Name)
				}
				if !reflect.DeepEqual(in, before) {
					t.Errorf("%s: RotationCandidate reordered or changed its input", order)
				}
			}
		})
	}
}

func TestRetentionOfNoBackups(t *testing.T) {
	policy := ports.RetentionPolicy{KeepLast: 3, KeepDaily: 7}
	if got := backup.Forget(nil, policy, nil, true); len(got) != 0 {
		t.Errorf("Forget(nil) = %q, want nothing", backupNames(got))
	}
	if b, ok := backup.RotationCandidate(nil, policy, nil, true); ok {
		t.Errorf("RotationCandidate(nil) = %q, want none", b.Name)
	}
}

// TestRetentionProperties checks random sets against a second reading of the
// rules (retentionReasons) and the promises that hold for every set.
func TestRetentionProperties(t *testing.T) {
	zones := []*time.Location{
		nil, time.UTC,
		loadZone(t, "Europe/Berlin"),
		loadZone(t, "America/Los_Angeles"),
		loadZone(t, "Pacific/Auckland"),
		loadZone(t, "Asia/Kolkata"),     // half an hour off UTC
		loadZone(t, "America/St_Johns"), // half an hour off, with summer time
	}
	rng := rand.New(rand.NewPCG(2026, 10))
	for n := range 3000 {
		in := randomBackups(rng)
		policy := randomPolicy(rng)
		loc := zones[rng.IntN(len(zones))]
		includeManual := rng.IntN(2) == 0
		set := fmt.Sprintf("set %d (%d backups, %+v, %v, includeManual %t)", n, len(in), policy, loc, includeManual)
		before := slices.Clone(in)

		reasons, ruleKept := retentionReasons(in, policy, loc, includeManual)
		forgotten := backup.Forget(in, policy, loc, includeManual)
		byID := make(map[ports.BackupID]ports.Backup, len(in))
		for _, b := range in {
			byID[b.ID] = b
		}

		returned := make(map[ports.BackupID]bool)
		for i, b := range forgotten {
			if _, ok := byID[b.ID]; !ok || returned[b.ID] {
				t.Fatalf("%s: Forget returned %s, which is not in the set or returned twice", set, b.Name)
			}
			returned[b.ID] = true
			if reasons[b.ID] != "" {
				t.Fatalf("%s: Forget returned %s, which is %s", set, b.Name, reasons[b.ID])
			}
			if i > 0 && !createdBefore(forgotten[i-1], b) {
				t.Fatalf("%s: Forget returned %s before %s, not oldest first", set, forgotten[i-1].Name, b.Name)
			}
		}
		kept := 0
		for _, b := range in {
			switch {
			case reasons[b.ID] != "":
				kept++
			case !returned[b.ID]:
				t.Fatalf("%s: Forget kept %s, which no rule or protection keeps", set, b.Name)
			}
		}
		if len(forgotten)+kept != len(in) {
			t.Fatalf("%s: Forget returned %d and kept %d of %d backups", set, len(forgotten), kept, len(in))
		}
		if policy.IsZero() && len(forgotten) > 0 {
			t.Fatalf("%s: the zero policy let %d backups go", set, len(forgotten))
		}
		var rest []ports.Backup
		for _, b := range in {
			if !returned[b.ID] {
				rest = append(rest, b)
			}
		}
		if again := backup.Forget(rest, policy, loc, includeManual); len(again) > 0 {
			t.Fatalf("%s: Forget of what Forget kept returned %q", set, backupNames(again))
		}

		candidate, ok := backup.RotationCandidate(in, policy, loc, includeManual)
		want, wantOK := rotationReference(in, reasons)
		switch {
		case ok != wantOK || candidate.ID != want.ID:
			t.Fatalf("%s: RotationCandidate = %s, %t, want %s, %t", set, candidate.Name, ok, want.Name, wantOK)
		case ok && ruleKept[candidate.ID]:
			t.Fatalf("%s: RotationCandidate chose %s, which a rule keeps", set, candidate.Name)
		case ok && !slices.Contains([]string{"", "recent failure", "zero policy"}, reasons[candidate.ID]):
			t.Fatalf("%s: RotationCandidate chose %s, which is %s", set, candidate.Name, reasons[candidate.ID])
		}
		if !reflect.DeepEqual(in, before) {
			t.Fatalf("%s: the input changed", set)
		}
	}
}

// retentionReasons says, for every backup, why retention keeps it, or ""
// when Forget lets it go, and which backups a rule keeps. It reads the rules
// another way than the package does: walking the backups newest first, each
// rule keeps a backup whenever its bucket changes, until its count runs out.
func retentionReasons(in []ports.Backup, p ports.RetentionPolicy, loc *time.Location, includeManual bool) (reasons map[ports.BackupID]string, ruleKept map[ports.BackupID]bool) {
	if loc == nil {
		loc = time.UTC
	}
	newestFirst := slices.Clone(in)
	slices.SortFunc(newestFirst, func(x, y ports.Backup) int {
		switch {
		case createdBefore(y, x):
			return -1
		case createdBefore(x, y):
			return 1
		}
		return 0
	})
	var newestReady *ports.Backup
	for i, b := range newestFirst {
		if b.Status == ports.StatusReady && !b.Deleting {
			newestReady = &newestFirst[i]
			break
		}
	}

	type rule struct {
		left   int
		last   string
		bucket func(ports.Backup) string
	}
	rules := []*rule{
		{left: p.KeepLast, bucket: func(b ports.Backup) string { return b.ID.String() }},
		{left: p.KeepDaily, bucket: func(b ports.Backup) string { return b.CreatedAt.In(loc).Format("2006-01-02") }},
		{left: p.KeepWeekly, bucket: func(b ports.Backup) string {
			y, w := b.CreatedAt.In(loc).ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		}},
		{left: p.KeepMonthly, bucket: func(b ports.Backup) string { return b.CreatedAt.In(loc).Format("2006-01") }},
	}
	ruleKept = make(map[ports.BackupID]bool)
	for _, b := range newestFirst {
		if b.Status != ports.StatusReady || b.Deleting || (b.ScheduleID.IsZero() && !includeManual) {
			continue
		}
		for _, r := range rules {
			if r.left == 0 {
				continue
			}
			if k := r.bucket(b); k != r.last {
				ruleKept[b.ID] = true
				r.last = k
				if r.left > 0 {
					r.left--
				}
			}
		}
	}

	reasons = make(map[ports.BackupID]string, len(in))
	for _, b := range in {
		var why string
		switch {
		case b.Locked:
			why = "locked"
		case b.Status.Active():
			why = "active"
		case b.Deleting:
			why = "being deleted"
		case b.ScheduleID.IsZero() && !includeManual:
			why = "manual"
		case newestReady != nil && b.ID == newestReady.ID:
			why = "the newest ready backup"
		case p.IsZero():
			why = "zero policy"
		case ruleKept[b.ID]:
			why = "kept by a rule"
		case b.Status == ports.StatusFailed && (newestReady == nil || !createdBefore(b, *newestReady)):
			why = "recent failure"
		}
		reasons[b.ID] = why
	}
	return reasons, ruleKept
}

// rotationReference is RotationCandidate from the reasons: the oldest failed
// backup that nothing but its recency or the zero policy keeps, or else the
// oldest such ready backup.
func rotationReference(in []ports.Backup, reasons map[ports.BackupID]string) (ports.Backup, bool) {
	var failed, ready *ports.Backup
	for i, b := range in {
		if why := reasons[b.ID]; why != "" && why != "recent failure" && why != "zero policy" {
			continue
		}
		oldest := &ready
		if b.Status == ports.StatusFailed {
			oldest = &failed
		}
		if *oldest == nil || createdBefore(b, **oldest) {
			*oldest = &in[i]
		}
	}
	switch {
	case failed != nil:
		return *failed, true
	case ready != nil:
		return *ready, true
	}
	return ports.Backup{}, false
}

// createdBefore orders backups by creation, ties by ID.
func createdBefore(x, y ports.Backup) bool {
	if !x.CreatedAt.Equal(y.CreatedAt) {
		return x.CreatedAt.Before(y.CreatedAt)
	}
	return x.ID.String() < y.ID.String()
}

// randomBackups returns up to 30 backups of every kind, spread over a window of
// two days to seven months around the end of 2026 (two summer time changes,
// a year end with an ISO week 53), some made at the same instant. Sets differ
// in how many failed, so that rotation often has none to take first.
func randomBackups(rng *rand.Rand) []ports.Backup {
	start := time.Date(2026, time.October, 1, 0, 0, 0, 0, time.UTC)
	windows := []int{2, 14, 60, 210} // days
	window := windows[rng.IntN(len(windows))] * 24 * 60
	schedule := ports.NewScheduleID()
	failedIn20 := rng.IntN(4)
	in := make([]ports.Backup, rng.IntN(31))
	for i := range in {
		var u uuid.UUID
		binary.BigEndian.PutUint64(u[:8], rng.Uint64())
		binary.BigEndian.PutUint64(u[8:], rng.Uint64())
		b := ports.Backup{
			ID:         orPanic(ports.ParseBackupID(u.String())),
			Name:       fmt.Sprintf("backup %d", i),
			Status:     ports.StatusReady,
			CreatedAt:  start.Add(time.Duration(rng.IntN(window)) * time.Minute),
			ScheduleID: schedule,
			Locked:     rng.IntN(10) == 0,
			Deleting:   rng.IntN(10) == 0,
		}
		if i > 0 && rng.IntN(10) == 0 {
			b.CreatedAt = in[rng.IntN(i)].CreatedAt
		}
		switch r := rng.IntN(20); {
		case r < failedIn20:
			b.Status = ports.StatusFailed
		case r < failedIn20+1:
			b.Status = ports.StatusCreating
		case r < failedIn20+2:
			b.Status = ports.StatusRestoring
		}
		if rng.IntN(5) == 0 {
			b.ScheduleID = ports.ScheduleID{}
		}
		in[i] = b
	}
	return in
}

// randomPolicy returns the zero policy one time in eight, else counts of 0 to
// 4 with the odd unlimited one.
func randomPolicy(rng *rand.Rand) ports.RetentionPolicy {
	if rng.IntN(8) == 0 {
		return ports.RetentionPolicy{}
	}
	count := func() int {
		if rng.IntN(20) == 0 {
			return -1
		}
		return rng.IntN(5)
	}
	return ports.RetentionPolicy{KeepLast: count(), KeepDaily: count(), KeepWeekly: count(), KeepMonthly: count()}
}

// inEveryOrder yields the backups as given, reversed and shuffled (with a
// fixed seed), each under a name for failure messages.
func inEveryOrder(backups []ports.Backup) func(yield func(string, []ports.Backup) bool) {
	return func(yield func(string, []ports.Backup) bool) {
		if !yield("as given", slices.Clone(backups)) {
			return
		}
		reversed := slices.Clone(backups)
		slices.Reverse(reversed)
		if !yield("reversed", reversed) {
			return
		}
		rng := rand.New(rand.NewPCG(1, uint64(len(backups))))
		for i := range 3 {
			shuffled := slices.Clone(backups)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			if !yield(fmt.Sprintf("shuffled %d", i+1), shuffled) {
				return
			}
		}
	}
}

// retentionSchedule is the schedule that made the tables' scheduled backups.
var retentionSchedule = orPanic(ports.ParseScheduleID("0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e"))

// readyAt is a ready backup made by retentionSchedule at when, a time like
// "2026-06-01 03:00Z" or "2026-10-25 02:30+01:00". Its name identifies it in
// the tables, and its ID is derived from the name.
func readyAt(name, when string, opts ...func(*ports.Backup)) ports.Backup {
	t, err := time.Parse("2006-01-02 15:04Z07:00", when)
	if err != nil {
		panic(err)
	}
	b := ports.Backup{
		ID:         orPanic(ports.ParseBackupID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)).String())),
		Name:       name,
		Status:     ports.StatusReady,
		CreatedAt:  t,
		ScheduleID: retentionSchedule,
	}
	for _, opt := range opts {
		opt(&b)
	}
	return b
}

func failedAt(name, when string, opts ...func(*ports.Backup)) ports.Backup {
	return readyAt(name, when, append(opts, withStatus(ports.StatusFailed))...)
}

func creatingAt(name, when string, opts ...func(*ports.Backup)) ports.Backup {
	return readyAt(name, when, append(opts, withStatus(ports.StatusCreating))...)
}

func restoringAt(name, when string, opts ...func(*ports.Backup)) ports.Backup {
	return readyAt(name, when, append(opts, withStatus(ports.StatusRestoring))...)
}

func withStatus(s ports.Status) func(*ports.Backup) { return func(b *ports.Backup) { b.Status = s } }

func withID(id string) func(*ports.Backup) {
	return func(b *ports.Backup) { b.ID = orPanic(ports.ParseBackupID(id)) }
}

func asLocked(b *ports.Backup)   { b.Locked = true }
func asDeleting(b *ports.Backup) { b.Deleting = true }
func asManual(b *ports.Backup)   { b.ScheduleID = ports.ScheduleID{} }

func backupNames(backups []ports.Backup) []string {
	var names []string
	for _, b := range backups {
		names = append(names, b.Name)
	}
	return names
}

func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// orPanic returns v, for values the tables build from constants.
func orPanic[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

package backup

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Forget returns the backups that policy lets go, oldest first: what a
// schedule's retention deletes after a run. backups is the set retention looks
// at, usually every backup of the provision; it may come in any order and is
// not modified. Forget is pure, and equal inputs give equal outputs: backups
// created at the same instant are ordered by ID.
//
// The policy is read as restic's "forget --keep-last --keep-daily --keep-weekly
// --keep-monthly":
//
//   - KeepLast keeps the newest KeepLast backups.
//   - KeepDaily keeps the newest backup of each of the last KeepDaily calendar
//     days that have a backup. A day without one does not use up the count, so
//     a schedule that missed days still keeps KeepDaily days of history.
//   - KeepWeekly does the same for ISO weeks (Monday to Sunday, numbered as
//     time.Time.ISOWeek does: the last days of December can be week 1 of the
//     next year, the first days of January week 52 or 53 of the last).
//   - KeepMonthly does the same for calendar months.
//
// Each rule keeps only the newest backup of a bucket. Unlike restic since
// 0.16, a rule whose count is not used up does not also keep the oldest backup.
//
// A backup kept by any rule is kept. Days, weeks and months are those of loc,
// the schedule's time zone (nil means UTC), so that Monday's backup is the one
// the customer calls Monday, across daylight saving changes too. A negative
// count has no limit: every day (week, month, backup) keeps its newest, as
// restic's -1 does, so that a policy that slipped past validation keeps too
// much rather than too little. The zero policy has no rule and keeps
// everything: Forget returns nothing, and only rotation (RotationCandidate)
// makes room.
//
// Only ready backups that are not being deleted count for the rules: they are
// the copies a customer can restore. A failed backup is a copy of nothing and
// takes no day's place from a ready one. A backup being restored counts again
// once it is ready; until then the rules keep the next ones, which errs on
// keeping more. Locked backups count like any other: a locked backup that is
// the newest of its day is that day's backup. Manual backups (those with no
// ScheduleID) take part only when includeManual is set; otherwise they neither
// count nor go, so that a customer's own backup never pushes a scheduled one
// out of the rules.
//
// With a policy that is not zero, Forget also lets go every failed backup
// older than the newest ready backup: a later backup succeeded, so the failure
// is history. Failed backups newer than it (all of them, when no backup is
// ready) stay, so that the customer can still read why the latest runs
// failed; rotation takes them first when it needs room.
//
// Whatever the rules say, Forget never returns:
//
//   - a locked backup;
//   - a backup being created or restored, or already claimed by a delete;
//   - a manual backup, unless includeManual;
//   - the newest ready backup of the whole set (manual and locked ones
//     included; one being deleted is not a copy to rely on), so that a
//     restorable copy always survives.
func Forget(backups []ports.Backup, policy ports.RetentionPolicy, loc *time.Location, includeManual bool) []ports.Backup {
	if policy.IsZero() {
		return nil
	}
	r := assess(backups, policy, loc, includeManual)
	var gone []ports.Backup
	for i, b := range r.backups {
		if !r.eligible(i) || r.kept[i] {
			continue
		}
		// A failed backup goes once a later one succeeded (i is older than
		// r.newest, which is -1 when no ready backup exists).
		if b.Status == ports.StatusReady || i < r.newest {
			gone = append(gone, b)
		}
	}
	return gone
}

// RotationCandidate returns the backup to delete to make room when the
// provision is at its limit: the oldest failed backup, or else the oldest
// ready backup that retention does not keep; false when there is none, and the
// caller cannot make room. backups, policy, loc and includeManual are read as
// Forget reads them, and backups is not modified.
//
// A candidate is a ready or failed backup that is not locked, not being
// created, restored or deleted, scheduled (or manual, with includeManual), not
// the newest ready backup of the whole set, and not kept by a rule of policy.
// A failed backup goes first, whether or not a later one succeeded: it is a
// copy of nothing, so deleting it loses no data. Among ready backups the
// oldest goes, the one a customer is least likely to want back.
//
// With the zero policy no rule keeps anything, so the oldest eligible backup
// goes (a failed one first): the limit alone bounds the history. With any other policy rotation
// never cuts into what the policy keeps: when every eligible backup is kept,
// RotationCandidate returns false, and the provision's limit is too low for
// its policy.
func RotationCandidate(backups []ports.Backup, policy ports.RetentionPolicy, loc *time.Location, includeManual bool) (ports.Backup, bool) {
	r := assess(backups, policy, loc, includeManual)
	oldest := -1
	for i, b := range r.backups {
		if !r.eligible(i) || r.kept[i] {
			continue
		}
		if b.Status == ports.StatusFailed {
			return b, true
		}
		if oldest < 0 {
			oldest = i
		}
	}
	if oldest < 0 {
		return ports.Backup{}, false
	}
	return r.backups[oldest], true
}

// assessment is what retention decided of a set of backups.
type assessment struct {
	// backups is a copy of the set, oldest first (ties broken by ID), so an
	// index order is an age order.
	backups []ports.Backup
	// kept marks the backups a rule of the policy keeps.
	kept []bool
	// newest is the index of the newest ready backup not being deleted; -1 if
	// there is none.
	newest        int
	includeManual bool
}

func assess(backups []ports.Backup, policy ports.RetentionPolicy, loc *time.Location, includeManual bool) assessment {
	if loc == nil {
		loc = time.UTC
	}
	sorted := slices.Clone(backups)
	slices.SortFunc(sorted, olderFirst)
	a := assessment{backups: sorted, kept: make([]bool, len(sorted)), newest: -1, includeManual: includeManual}

	var counted []int // indexes of the backups the rules count, newest first
	for i := len(sorted) - 1; i >= 0; i-- {
		b := sorted[i]
		if !restorable(b) {
			continue
		}
		if a.newest < 0 {
			a.newest = i
		}
		if includeManual || !b.ScheduleID.IsZero() {
			counted = append(counted, i)
		}
	}

	local := func(i int) time.Time { return sorted[i].CreatedAt.In(loc) }
	a.keepNewest(counted, policy.KeepLast, func(i int) int { return i })
	a.keepNewest(counted, policy.KeepDaily, func(i int) int {
		y, m, d := local(i).Date()
		return (y*100+int(m))*100 + d
	})
	a.keepNewest(counted, policy.KeepWeekly, func(i int) int {
		y, w := local(i).ISOWeek()
		return y*100 + w
	})
	a.keepNewest(counted, policy.KeepMonthly, func(i int) int {
		y, m, _ := local(i).Date()
		return y*100 + int(m)
	})
	return a
}

// keepNewest applies one rule: it marks the newest backup of each of the n
// latest buckets (every bucket when n is negative). bucket maps a backup's
// index to its bucket, a number that grows with time (yyyymmdd for days);
// counted lists the backups that count, newest first. The latest buckets are
// those with the greatest numbers.
func (a *assessment) keepNewest(counted []int, n int, bucket func(i int) int) {
	if n == 0 {
		return
	}
	type pick struct{ bucket, i int }
	var picks []pick
	seen := make(map[int]bool)
	for _, i := range counted {
		if k := bucket(i); !seen[k] {
			seen[k] = true
			picks = append(picks, pick{k, i})
		}
	}
	slices.SortFunc(picks, func(x, y pick) int { return cmp.Compare(y.bucket, x.bucket) })
	if n > 0 && n < len(picks) {
		picks = picks[:n]
	}
	for _, p := range picks {
		a.kept[p.i] = true
	}
}

// eligible reports whether retention may delete the i-th backup at all: it is
// ready or failed, not locked, not claimed by a delete, scheduled unless
// manual backups are included, and not the newest ready backup.
func (a *assessment) eligible(i int) bool {
	b := a.backups[i]
	return (b.Status == ports.StatusReady || b.Status == ports.StatusFailed) &&
		!b.Locked && !b.Deleting &&
		(a.includeManual || !b.ScheduleID.IsZero()) &&
		i != a.newest
}

// restorable reports whether b is a copy a customer can restore.
func restorable(b ports.Backup) bool { return b.Status == ports.StatusReady && !b.Deleting }

// olderFirst orders backups by creation, ties by ID, so that every order of the
// same set sorts alike.
func olderFirst(x, y ports.Backup) int {
	if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
		return c
	}
	u, v := x.ID.UUID(), y.ID.UUID()
	return bytes.Compare(u[:], v[:])
}

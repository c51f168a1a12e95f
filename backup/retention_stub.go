// TEMPORARY: replaced by retention.go at merge

package backup

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Forget returns the backups the policy lets go: of those retention may touch
// (settled, not locked or being deleted, made by a schedule unless
// includeManual), every one no rule keeps. The newest ready backup is always
// kept, and the zero policy keeps everything.
func Forget(backups []ports.Backup, policy ports.RetentionPolicy, loc *time.Location, includeManual bool) []ports.Backup {
	if policy.IsZero() {
		return nil
	}
	cands := owned(backups, includeManual)
	keep := map[ports.BackupID]bool{}
	for i, b := range cands {
		if i < policy.KeepLast {
			keep[b.ID] = true
		}
	}
	for _, rule := range []struct {
		n      int
		bucket func(time.Time) string
	}{
		{policy.KeepDaily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{policy.KeepWeekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, w) }},
		{policy.KeepMonthly, func(t time.Time) string { return t.Format("2006-01") }},
	} {
		seen := map[string]bool{}
		for _, b := range cands {
			k := rule.bucket(b.CreatedAt.In(loc))
			if len(seen) < rule.n && !seen[k] {
				seen[k] = true
				keep[b.ID] = true
			}
		}
	}
	var forget []ports.Backup
	for _, b := range retainable(backups, includeManual) {
		if !keep[b.ID] {
			forget = append(forget, b)
		}
	}
	return forget
}

// RotationCandidate returns the oldest backup rotation may delete to make room:
// one retention may touch (see Forget), and not the newest ready backup.
func RotationCandidate(backups []ports.Backup, _ ports.RetentionPolicy, _ *time.Location, includeManual bool) (ports.Backup, bool) {
	cands := retainable(backups, includeManual)
	if len(cands) == 0 {
		return ports.Backup{}, false
	}
	return cands[len(cands)-1], true
}

// owned returns, newest first, the settled backups retention counts: the
// schedule's own, and with includeManual the users' too.
func owned(backups []ports.Backup, includeManual bool) []ports.Backup {
	list := slices.Clone(backups)
	slices.SortStableFunc(list, func(a, b ports.Backup) int { return cmp.Compare(b.CreatedAt.UnixNano(), a.CreatedAt.UnixNano()) })
	return slices.DeleteFunc(list, func(b ports.Backup) bool {
		return b.Status.Active() || b.Deleting || (b.ScheduleID.IsZero() && !includeManual)
	})
}

// retainable returns, newest first, the backups retention and rotation may
// delete: owned, unlocked, and not the provision's newest ready one.
func retainable(backups []ports.Backup, includeManual bool) []ports.Backup {
	var newestReady ports.BackupID
	var newest time.Time
	for _, b := range backups {
		if b.Status == ports.StatusReady && (newestReady.IsZero() || b.CreatedAt.After(newest)) {
			newestReady, newest = b.ID, b.CreatedAt
		}
	}
	return slices.DeleteFunc(owned(backups, includeManual), func(b ports.Backup) bool {
		return b.ID == newestReady || b.Locked
	})
}

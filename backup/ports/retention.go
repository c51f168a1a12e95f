package ports

// RetentionPolicy says which of a schedule's backups to keep, as restic's
// "forget --keep-*" does: the newest KeepLast backups, and the newest backup of
// each of the last KeepDaily days, KeepWeekly ISO weeks and KeepMonthly months
// that have one, in the schedule's time zone. A backup kept by any rule is kept.
// The zero policy keeps everything: only the provision's limit then makes room,
// by rotation.
type RetentionPolicy struct {
	KeepLast    int
	KeepDaily   int
	KeepWeekly  int
	KeepMonthly int
}

// IsZero reports whether the policy has no rule (keeps everything).
func (p RetentionPolicy) IsZero() bool { return p == RetentionPolicy{} }

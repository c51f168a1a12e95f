package postgres

// The repository's read queries, so that the plan test EXPLAINs exactly what the
// repository runs.
const (
	ListByProvisionSQL  = listByProvisionSQL
	CountByProvisionSQL = countByProvisionSQL
	HasActiveSQL        = hasActiveSQL
	ListStaleSQL        = listStaleSQL
)

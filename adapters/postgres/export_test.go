package postgres

// The repository's read queries in the default layout, so that the plan test
// EXPLAINs exactly what the repository runs.
var (
	defaultQueries      = newRepoQueries(Layout{}.tables())
	ListByProvisionSQL  = defaultQueries.listByProvision
	ListByOrderSQL      = defaultQueries.listByOrder
	CountByProvisionSQL = defaultQueries.countByProvision
	HasActiveSQL        = defaultQueries.hasActive
	ListStaleSQL        = defaultQueries.listStale
	FindByAssetSQL      = defaultQueries.findByAsset
	MissingSQL          = defaultQueries.missing
	FindSQL             = defaultQueries.find
)

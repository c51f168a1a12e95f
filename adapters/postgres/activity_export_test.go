package postgres

// The activity log's read queries in the default layout, for the plan test.
var (
	defaultActivityQueries = newActivityQueries(Layout{}.tables())
	ListActivitySQL        = defaultActivityQueries.list
	ActivitySinceSQL       = defaultActivityQueries.since
	ActivitySinceOrderSQL  = defaultActivityQueries.sinceOrder
)

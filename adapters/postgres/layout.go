package postgres

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/jackc/pgx/v5"
)

// Layout says where savepoint's tables live and what they refer to. The zero
// Layout is the one earlier versions created: savepoint's tables in the first
// schema on search_path, with foreign keys to the host's orders and provisions
// tables found there. Every replica, and Migrate, must be given the same Layout.
type Layout struct {
	// Schema is the PostgreSQL schema that holds savepoint's own tables (backups,
	// backup_assets, backup_fences, backup_schedules, backup_schedule_runs,
	// activity, webhook_cursors, savepoint_migrations), so that they cannot clash with the host's; Migrate
	// creates it if missing. It is a name, not SQL: it is
	// quoted wherever it is used, so "Savepoint" and "savepoint" are different
	// schemas. Empty means the first schema on search_path, with unqualified names.
	Schema string
	// Orders and Provisions are the host's tables that the foreign keys of backups
	// and schedules refer to, written as in a REFERENCES clause: an unquoted name folds to lower
	// case, and a schema may qualify it (host.orders, "Shop"."Orders"). Each needs a
	// uuid primary key named id. Empty means orders and provisions, found through
	// search_path. Only Migrate reads them.
	Orders     string
	Provisions string
	// NoForeignKeys creates no foreign keys to the host's tables, for hosts whose
	// orders and provisions are not uuid-keyed tables in this database. Deleting an
	// order then deletes none of its backups: the service's order-deletion call and
	// its orphan sweep clean up instead. It applies when the tables are created; a
	// database migrated with foreign keys keeps them.
	NoForeignKeys bool
}

// Default names of the host tables the foreign keys refer to.
const (
	defaultOrders     = "orders"
	defaultProvisions = "provisions"
)

// tables are savepoint's own tables in a Layout, as SQL ready to be spliced into
// a statement. With no schema the names stay bare, so that the statements are
// byte for byte those of earlier versions.
type tables struct {
	Backups      string
	Assets       string
	Fences       string
	Schedules    string
	ScheduleRuns string
	Activity     string
	Migrations   string

	// WebhookCursors holds the webhook dispatcher's place per endpoint.
	WebhookCursors string
}

func (l Layout) tables() tables {
	name := func(table string) string {
		if l.Schema == "" {
			return table
		}
		return pgx.Identifier{l.Schema, table}.Sanitize()
	}
	return tables{
		Backups:      name("backups"),
		Assets:       name("backup_assets"),
		Fences:       name("backup_fences"),
		Schedules:    name("backup_schedules"),
		ScheduleRuns: name("backup_schedule_runs"),
		Activity:     name("activity"),
		Migrations:   name("savepoint_migrations"),

		WebhookCursors: name("webhook_cursors"),
	}
}

// hostTables returns the Orders and Provisions names with their defaults.
func (l Layout) hostTables() (orders, provisions string) {
	orders, provisions = l.Orders, l.Provisions
	if orders == "" {
		orders = defaultOrders
	}
	if provisions == "" {
		provisions = defaultProvisions
	}
	return orders, provisions
}

// render executes a statement written as a text/template over data (the layout's
// table names, and for migrations what they depend on).
func render(name, text string, data any) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("postgres: parsing %s: %w", name, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("postgres: rendering %s: %w", name, err)
	}
	return b.String(), nil
}

// mustRender renders the package's own runtime statements, which use nothing but
// table names: an error is a mistake in this package, which every test run hits.
func mustRender(text string, t tables) string {
	s, err := render("statement", text, t)
	if err != nil {
		panic(err)
	}
	return s
}

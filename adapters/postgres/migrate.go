package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The migration sets, applied in this order. Each is versioned on its own, so a
// database set up with MigrateStandalone can later be maintained with Migrate
// alone (for example once the host platform owns the tables).
const (
	setHost    = "host"    // minimal orders, provisions, assets, user_permissions
	setBackups = "backups" // savepoint's own tables and their invariants
)

//go:embed migrations/*/*.sql
var migrationFiles embed.FS

// A migration is a text/template over migrationData, rendered when it is applied.
type migration struct {
	set     string
	version int
	name    string // file name, recorded for people reading the table
	sql     string
}

// migrationData is what the migrations are rendered with.
type migrationData struct {
	tables
	// Orders and Provisions are the host tables the foreign keys refer to, as
	// PostgreSQL would print them (quoted only where needed).
	Orders, Provisions string
	// ForeignKeys is false for Layout.NoForeignKeys.
	ForeignKeys bool
	// AssetsForeignKey: an assets table that version 1 of the backups set could
	// refer to is visible (its reference is dropped again by version 2).
	AssetsForeignKey bool
	// Standalone: the host set is recorded, so the assets table is the one it
	// created, and savepoint's to move.
	Standalone bool
}

// Migrate brings savepoint's tables up to date in layout.Schema (by default the
// first schema on search_path), creating the schema if needed. Unless
// layout.NoForeignKeys is set, the database must already hold the host platform's
// orders and provisions tables (layout.Orders and layout.Provisions), each keyed
// by a uuid column id; hosts without them use MigrateStandalone. The host's own
// assets table, if it has one, is never touched: savepoint records its archives
// in its own backup_assets table.
//
// Every replica may call it at start-up: the migrations run in one transaction
// under an advisory lock keyed by the schema, so concurrent callers wait for each
// other and the later ones find nothing left to do, while separate schemas
// migrate independently. On error nothing is applied.
//
// Steps, if any, migrate tables that are not savepoint's, serialised with its
// own migrations; see MigrateStep. An error of a step leaves savepoint's own
// migrations applied.
func Migrate(ctx context.Context, db DB, layout Layout, steps ...MigrateStep) error {
	return migrate(ctx, db, layout, steps, setBackups)
}

// MigrateStandalone is Migrate for a database without a host platform: it first
// creates minimal orders, provisions, assets and user_permissions tables in the
// first schema on search_path (where Catalog uses them), then savepoint's tables
// in layout.Schema. It is versioned, idempotent and safe to run concurrently,
// like Migrate, and runs steps as Migrate does.
func MigrateStandalone(ctx context.Context, db DB, layout Layout, steps ...MigrateStep) error {
	return migrate(ctx, db, layout, steps, setHost, setBackups)
}

// MigrateStep migrates tables that are not savepoint's own (a job queue's, for
// example) whenever savepoint's are, so that a host brings its whole schema up
// to date with one call at start-up. tx holds savepoint's migration lock.
//
// Migrate and MigrateStandalone run their steps in order once their own
// migrations have committed, in one more transaction that first takes the same
// advisory lock: the steps of replicas migrating at once run one replica at a
// time, and find savepoint's tables (and Layout.Schema) created. A step that
// fails makes Migrate return its error with what the steps did in tx rolled
// back; savepoint's own migrations stay applied, and the next call retries the
// steps alone. So a step must be idempotent, as savepoint's migrations are.
//
// The steps get a transaction of their own, rather than savepoint's, because
// some migrations cannot share one: a step may commit work on other
// connections while tx holds the lock (a migration that adds an enum value and
// then uses it must commit in between), and what savepoint's migrations
// created must then already be visible to those connections. Such a step needs
// a connection of the pool besides the one tx holds.
type MigrateStep func(ctx context.Context, tx pgx.Tx) error

func migrate(ctx context.Context, db DB, layout Layout, steps []MigrateStep, sets ...string) error {
	var pending []migration
	for _, set := range sets {
		ms, err := loadMigrations(set)
		if err != nil {
			return err
		}
		pending = append(pending, ms...)
	}

	tx, err := begin(ctx, db)
	if err != nil {
		return dbError("migrate: begin", err)
	}
	defer rollback(tx)
	applied, err := prepareMigrations(ctx, tx, layout)
	if err != nil {
		return err
	}
	var data *migrationData // read from the database once something is to be applied
	for _, m := range pending {
		if m.version <= applied[m.set] {
			continue
		}
		if data == nil {
			if data, err = readMigrationData(ctx, tx, layout); err != nil {
				return err
			}
		}
		data.Standalone = applied[setHost] > 0
		if err := applyMigration(ctx, tx, m, *data, !slices.Contains(sets, setHost)); err != nil {
			return err
		}
		applied[m.set] = m.version
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("migrate: commit", err)
	}
	return runSteps(ctx, db, layout, steps)
}

// runSteps runs the MigrateSteps in a transaction that holds the migration lock.
func runSteps(ctx context.Context, db DB, layout Layout, steps []MigrateStep) error {
	if len(steps) == 0 {
		return nil
	}
	tx, err := begin(ctx, db)
	if err != nil {
		return dbError("migrate steps: begin", err)
	}
	defer rollback(tx)
	if err := lockMigrations(ctx, tx, layout); err != nil {
		return err
	}
	for i, step := range steps {
		if step == nil {
			return fmt.Errorf("postgres: migrate: step %d of %d is nil", i+1, len(steps))
		}
		if err := step(ctx, tx); err != nil {
			return dbError(fmt.Sprintf("migrate: step %d of %d", i+1, len(steps)), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("migrate steps: commit", err)
	}
	return nil
}

// lockMigrations takes the migration lock for the rest of tx.
func lockMigrations(ctx context.Context, tx pgx.Tx, layout Layout) error {
	// Keyed by the schema that holds savepoint_migrations, so that separate schemas
	// (one per tenant, or per test) migrate independently; held until commit. With
	// no Layout.Schema the key is what earlier versions used, so that replicas of
	// both wait for each other during a rolling upgrade.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.migrate:' || coalesce($1, current_schema(), ''), 0))`,
		nullString(layout.Schema)); err != nil {
		return dbError("migrate: lock", err)
	}
	return nil
}

// prepareMigrations takes the migration lock, creates the schema and the
// migrations table if needed, and returns the highest version applied per set.
func prepareMigrations(ctx context.Context, tx pgx.Tx, layout Layout) (map[string]int, error) {
	if err := lockMigrations(ctx, tx, layout); err != nil {
		return nil, err
	}
	if layout.Schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{layout.Schema}.Sanitize()); err != nil {
			return nil, dbError("migrate: create schema "+layout.Schema, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+layout.tables().Migrations+` (
		set_name   text NOT NULL,
		version    integer NOT NULL,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (set_name, version)
	)`); err != nil {
		return nil, dbError("migrate: create savepoint_migrations", err)
	}

	rows, err := tx.Query(ctx, `SELECT set_name, max(version) FROM `+layout.tables().Migrations+` GROUP BY set_name`)
	if err != nil {
		return nil, dbError("migrate: read savepoint_migrations", err)
	}
	applied := map[string]int{} // set → highest applied version
	for rows.Next() {
		var set string
		var version int
		if err := rows.Scan(&set, &version); err != nil {
			rows.Close()
			return nil, dbError("migrate: read savepoint_migrations", err)
		}
		applied[set] = version
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("migrate: read savepoint_migrations", err)
	}
	return applied, nil
}

// readMigrationData resolves the layout's host tables the way PostgreSQL parses
// a REFERENCES clause, and looks for an assets table version 1 could refer to.
func readMigrationData(ctx context.Context, tx pgx.Tx, layout Layout) (*migrationData, error) {
	data := &migrationData{tables: layout.tables(), ForeignKeys: !layout.NoForeignKeys}
	if layout.NoForeignKeys {
		return data, nil
	}
	orders, provisions := layout.hostTables()
	for _, host := range []struct {
		field, name string
		out         *string
	}{{"Orders", orders, &data.Orders}, {"Provisions", provisions, &data.Provisions}} {
		// parse_ident refuses anything but a (qualified) name, and quote_ident
		// quotes only what needs it, so the default names come out bare.
		err := tx.QueryRow(ctx, `SELECT array_to_string(ARRAY(
			SELECT quote_ident(part) FROM unnest(parse_ident($1)) WITH ORDINALITY AS p(part, n) ORDER BY n), '.')`,
			host.name).Scan(host.out)
		if err != nil {
			return nil, dbError(fmt.Sprintf("migrate: Layout.%s %q is not a table name", host.field, host.name), err)
		}
	}
	err := tx.QueryRow(ctx, `SELECT EXISTS (
		SELECT 1 FROM pg_constraint c
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		WHERE c.conrelid = to_regclass('assets') AND c.contype IN ('p', 'u')
			AND cardinality(c.conkey) = 1 AND a.attname = 'id' AND a.atttypid = 'uuid'::regtype)`).
		Scan(&data.AssetsForeignKey)
	if err != nil {
		return nil, dbError("migrate: looking for an assets table", err)
	}
	return data, nil
}

// applyMigration renders m, runs it and records it. hostless says that the host
// set is not being applied, so that a missing table is the host's to create.
func applyMigration(ctx context.Context, tx pgx.Tx, m migration, data migrationData, hostless bool) error {
	sql, err := render(m.set+"/"+m.name, m.sql, data)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		err = dbError(fmt.Sprintf("migrate: apply %s/%s", m.set, m.name), err)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == codeUndefinedTable && m.set == setBackups && hostless {
			err = fmt.Errorf("%w (the backups table refers to the host's orders and provisions tables: name yours in Layout.Orders and Layout.Provisions, set Layout.NoForeignKeys, or use MigrateStandalone without a host platform)", err)
		}
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+data.Migrations+` (set_name, version, name) VALUES ($1, $2, $3)`, m.set, m.version, m.name); err != nil {
		return dbError("migrate: record "+m.name, err)
	}
	return nil
}

// loadMigrations returns the set's migrations in version order. Files are named
// NNNN_description.sql; versions must be unique within a set.
func loadMigrations(set string) ([]migration, error) {
	dir := path.Join("migrations", set)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: reading embedded %s: %w", dir, err)
	}
	var ms []migration
	for _, e := range entries {
		version, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(version)
		if !ok || err != nil || n <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("postgres: migrate: embedded file %s/%s is not named NNNN_description.sql", dir, e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("postgres: migrate: reading embedded %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{set: set, version: n, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: migrate: %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

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

	"github.com/jackc/pgx/v5/pgconn"
)

// The migration sets, applied in this order. Each is versioned on its own, so a
// database set up with MigrateStandalone can later be maintained with Migrate
// alone (for example once the host platform owns the tables).
const (
	setHost    = "host"    // minimal orders, provisions, assets, user_permissions
	setBackups = "backups" // the backups table and its invariants
)

//go:embed migrations/*/*.sql
var migrationFiles embed.FS

type migration struct {
	set     string
	version int
	name    string // file name, recorded for people reading the table
	sql     string
}

// Migrate brings the backups schema up to date in the current schema (the first
// one on search_path). The database must already hold the host platform's orders,
// provisions and assets tables, each keyed by a uuid column id; hosts without them
// use MigrateStandalone.
//
// Every replica may call it at start-up: the migrations run in one transaction
// under an advisory lock, so concurrent callers wait for each other and the later
// ones find nothing left to do. On error nothing is applied.
func Migrate(ctx context.Context, db DB) error {
	return migrate(ctx, db, setBackups)
}

// MigrateStandalone is Migrate for a database without a host platform: it first
// creates minimal orders, provisions, assets and user_permissions tables (used by
// Catalog and Assets), then the backups schema. It is versioned, idempotent and
// safe to run concurrently, like Migrate.
func MigrateStandalone(ctx context.Context, db DB) error {
	return migrate(ctx, db, setHost, setBackups)
}

func migrate(ctx context.Context, db DB, sets ...string) error {
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

	// Keyed by schema, so that separate schemas (one per tenant, or per test)
	// migrate independently; held until commit.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('savepoint.migrate:' || coalesce(current_schema(), ''), 0))`); err != nil {
		return dbError("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS savepoint_migrations (
		set_name   text NOT NULL,
		version    integer NOT NULL,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (set_name, version)
	)`); err != nil {
		return dbError("migrate: create savepoint_migrations", err)
	}

	applied := map[string]int{} // set → highest applied version
	rows, err := tx.Query(ctx, `SELECT set_name, max(version) FROM savepoint_migrations GROUP BY set_name`)
	if err != nil {
		return dbError("migrate: read savepoint_migrations", err)
	}
	for rows.Next() {
		var set string
		var version int
		if err := rows.Scan(&set, &version); err != nil {
			rows.Close()
			return dbError("migrate: read savepoint_migrations", err)
		}
		applied[set] = version
	}
	if err := rows.Err(); err != nil {
		return dbError("migrate: read savepoint_migrations", err)
	}

	for _, m := range pending {
		if m.version <= applied[m.set] {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			err = dbError(fmt.Sprintf("migrate: apply %s/%s", m.set, m.name), err)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == codeUndefinedTable && m.set == setBackups && !slices.Contains(sets, setHost) {
				err = fmt.Errorf("%w (the backups table refers to the host's orders, provisions and assets tables; without them use MigrateStandalone)", err)
			}
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO savepoint_migrations (set_name, version, name) VALUES ($1, $2, $3)`, m.set, m.version, m.name); err != nil {
			return dbError("migrate: record "+m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError("migrate: commit", err)
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

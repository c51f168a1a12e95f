package spriver

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrateStep returns a migration step that brings River's tables in
// opts.Schema up to date, for the postgres adapter's Migrate and
// MigrateStandalone (whose MigrateStep type it converts to):
//
//	err := postgres.Migrate(ctx, pool, layout, spriver.MigrateStep(pool, opts))
//
// They run it after savepoint's own migrations, holding their advisory lock in
// tx, so that replicas starting at once migrate River's tables one at a time:
// River's migrator takes no lock of its own. A host that does not run
// schedules passes no step and gets no River tables.
//
// River's migrations run on other connections of pool, each version in a
// transaction of its own, not in tx: River's version 4 adds a value to an
// enum type that version 6 uses, which PostgreSQL refuses before the value is
// committed, so River's migrator applies its versions one commit at a time
// (and deprecates its MigrateTx, which would put them all in tx). Each version
// is recorded with its own commit, so a step cut short resumes where it
// stopped. pool therefore needs a connection to spare besides tx's.
func MigrateStep(pool *pgxpool.Pool, opts Options) func(ctx context.Context, tx pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		if pool == nil {
			return errors.New("spriver: migrate: nil pool")
		}
		if err := opts.Validate(); err != nil {
			return err
		}
		opts = opts.withDefaults()
		if pool.Config().MaxConns < 2 {
			return fmt.Errorf("spriver: migrate: the pool has %d connection, which the migration lock holds; River's migrations need another", pool.Config().MaxConns)
		}
		if opts.Schema != "" {
			// On pool rather than in tx, where River's migrations could not see it.
			if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{opts.Schema}.Sanitize()); err != nil {
				return fmt.Errorf("spriver: migrate: creating schema %s: %w", opts.Schema, err)
			}
		}
		migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: opts.Schema, Logger: opts.Logger})
		if err != nil {
			return fmt.Errorf("spriver: migrate: %w", err)
		}
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("spriver: migrate: River's tables: %w", err)
		}
		return nil
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// DB is the part of a pgx connection the adapter uses. *pgxpool.Pool and *Pool
// satisfy it, and so does *pgx.Conn for code that uses one connection from one
// goroutine.
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SQLSTATE codes the adapter reacts to.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeUndefinedTable      = "42P01"
)

// begin starts a read-committed transaction. The level is stated because the
// invariants depend on it: a statement that runs after taking a lock must see what
// the previous holder committed, which repeatable read or serializable (possible
// server defaults) would not show.
func begin(ctx context.Context, db DB) (pgx.Tx, error) {
	return db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
}

// violates reports whether err is a violation of the named constraint (or unique
// index) with the given SQLSTATE. The name matters: a duplicate primary key is
// also 23505, and must not be mistaken for an operation in progress.
func violates(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code && pgErr.ConstraintName == constraint
}

// dbError wraps a failure of the database with the operation that hit it.
func dbError(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w: %w", op, ports.ErrDatabase, err)
}

// rollback ends a transaction that was not committed. Its error is dropped: the
// caller already returns the error that made it give up, and after a commit the
// rollback is a no-op.
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// The ports records use zero values for "unset"; the tables use NULL.

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullInt64(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func stringOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func int64Of(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

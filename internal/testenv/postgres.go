package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPostgresURL is the test database used when SAVEPOINT_TEST_DATABASE_URL is
// unset: the local server's `test` database.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// postgresMaxConns bounds each test's pool. Tests run in parallel against one
// server (max_connections is 100 by default), while the concurrency tests still
// need several connections in flight at once.
const postgresMaxConns = 16

// PostgresBaseURL returns the test database's connection string:
// SAVEPOINT_TEST_DATABASE_URL, or DefaultPostgresURL.
func PostgresBaseURL() string {
	if u := os.Getenv("SAVEPOINT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// PostgresURL creates a fresh, empty schema in the test database and returns a
// connection string whose sessions use it (search_path), so that tests can run in
// parallel without seeing each other's tables. The schema and everything in it
// are dropped when the test ends. A server that cannot be reached makes the test
// Unavailable.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := PostgresBaseURL()
	schema := schemaName(tb)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		Unavailable(tb, "PostgreSQL at %s (SAVEPOINT_TEST_DATABASE_URL): %v", redact(base), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("creating test schema %s: %v", schema, err)
	}
	tb.Cleanup(func() { dropSchema(tb, base, schema) })

	withSchema, err := withSearchPath(base, schema)
	if err != nil {
		tb.Fatalf("SAVEPOINT_TEST_DATABASE_URL: %v", err)
	}
	return withSchema
}

// Postgres returns a connection pool on a fresh schema (see PostgresURL). The pool
// is closed, and the schema dropped, when the test ends.
func Postgres(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	connString := PostgresURL(tb)
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		tb.Fatalf("parsing test database URL: %v", err)
	}
	cfg.MaxConns = postgresMaxConns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("opening test pool: %v", err)
	}
	// Registered after the schema's cleanup, so it runs first: the schema is
	// dropped once nothing uses it.
	tb.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		tb.Fatalf("connecting to test schema: %v", err)
	}
	return pool
}

func dropSchema(tb testing.TB, base, schema string) {
	tb.Helper()
	// The test's own context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Errorf("dropping test schema %s: %v", schema, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		tb.Errorf("dropping test schema %s: %v", schema, err)
	}
}

// schemaName is unique per call and starts with the test's name, so a schema left
// behind by a killed test run can be traced to its test.
func schemaName(tb testing.TB) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(tb.Name()) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // crypto/rand.Read never returns an error
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(suffix))
	return b.String()
}

// withSearchPath adds search_path to a connection string in either of the forms
// pgx accepts (URL or key=value); pgx sends unknown keys as run-time parameters.
func withSearchPath(connString, schema string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", redact(connString), err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return connString + " search_path=" + schema, nil
}

// redact hides a password in a connection string before it reaches test output.
func redact(connString string) string {
	if !strings.Contains(connString, "://") {
		password := regexp.MustCompile(`password=('(?:[^'\\]|\\.)*'|\S+)`)
		return password.ReplaceAllString(connString, "password=xxxxx")
	}
	u, err := url.Parse(connString)
	if err != nil || u.User == nil {
		return connString
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

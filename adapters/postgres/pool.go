package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
)

// Config says how Open reaches the database and prepares its schema.
type Config struct {
	// URL is a pgx connection string (postgres://user@host/db?... or key=value
	// pairs). Pool settings such as pool_max_conns go here too.
	URL string
	// Standalone creates the minimal host tables as well (MigrateStandalone), for
	// a deployment without a host platform. When false, Open runs Migrate against
	// the host's own orders and provisions tables.
	Standalone bool
	// Layout says where savepoint's tables live and what they refer to; the zero
	// Layout is the first schema on search_path, referring to orders and
	// provisions there. Package gives it to the Repository and Assets as well.
	Layout Layout
	// SkipMigrations leaves the schema alone, for hosts that migrate in a separate
	// deployment step.
	SkipMigrations bool
	// TracerProvider receives a span per statement (see QueryTracer), a child
	// of the caller's span. Nil means otel's global provider.
	TracerProvider trace.TracerProvider
}

// Pool is a pgx connection pool with the lifecycle methods samber/do calls on
// shutdown and in health checks. It satisfies DB.
type Pool struct {
	*pgxpool.Pool
}

// Open connects to cfg.URL, checks the connection and migrates the schema as cfg
// says. The caller closes the pool with Shutdown (or Close).
func Open(ctx context.Context, cfg Config) (*Pool, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: open: no connection URL")
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's message never contains the password.
		return nil, fmt.Errorf("postgres: open: parsing the connection URL: %w", err)
	}
	pcfg.ConnConfig.Tracer = NewQueryTracer(cfg.TracerProvider)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, dbError("open", err)
	}
	p := &Pool{Pool: pool}
	if err := p.Ping(ctx); err != nil {
		pool.Close()
		return nil, dbError("open: connecting", err)
	}
	if !cfg.SkipMigrations {
		migrate := Migrate
		if cfg.Standalone {
			migrate = MigrateStandalone
		}
		if err := migrate(ctx, p, cfg.Layout); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return p, nil
}

// HealthCheck pings the database.
func (p *Pool) HealthCheck(ctx context.Context) error {
	if err := p.Ping(ctx); err != nil {
		return dbError("health check", err)
	}
	return nil
}

// Shutdown closes the pool, waiting for connections in use to be returned until
// ctx ends; it then returns ctx's error and the pool finishes closing in the
// background.
func (p *Pool) Shutdown(ctx context.Context) error {
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("postgres: shutdown: connections still in use: %w", context.Cause(ctx))
	}
}

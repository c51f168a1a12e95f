// Command server is savepoint's standalone example server: the backup API, the
// dashboard, and every piece behind them wired together with samber/do.
//
// With no configuration it runs entirely in this process: an in-memory repository,
// archives in a local directory, and the real FileIO sidecar on a loopback port
// serving a sample game world under -dir. Flags (or environment variables) switch
// in the real pieces: -database-url (PostgreSQL; migrations run at start), -s3-*
// (any S3-compatible storage), -sidecar-addr (a sidecar in the game pod), and
// WEBHOOK_URL (or -webhook-url-file) with -webhook-secret-file sends every
// backup event, signed, to an endpoint of the platform's.
//
//	go run ./examples/server            # then follow the printed instructions
//	go run ./examples/server -h         # every flag
//
// SIGTERM or SIGINT shut it down gracefully: the HTTP server stops, running
// backups and restores get -shutdown-timeout to finish and are otherwise recorded
// as interrupted, then storage and the database are closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/samber/do/v2"

	spriver "github.com/savepoint-dev/savepoint/adapters/river"
	"github.com/savepoint-dev/savepoint/adapters/s3"
	"github.com/savepoint-dev/savepoint/backup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "savepoint server:", err)
		}
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx ends, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stderr)
	toks := newTokens(&cfg)

	var s3cfg s3.Config
	if cfg.S3Bucket != "" {
		if s3cfg, err = s3Config(cfg, log); err != nil {
			return err
		}
	}
	tel, err := newTelemetry(cfg, log)
	if err != nil {
		return err
	}
	injector := newInjector(cfg, s3cfg, tel, log)
	do.ProvideValue(injector, toks)
	do.ProvideValue[readyCheck](injector, injector.HealthCheckWithContext)
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if report := injector.ShutdownWithContext(sctx); report != nil && !report.Succeed {
			return fmt.Errorf("shutdown: %s", report.Error())
		}
		log.Info("shut down cleanly")
		return nil
	}

	cat, err := do.Invoke[catalog](injector)
	if err != nil {
		return errors.Join(err, shutdown())
	}
	if err := seedDemo(ctx, cat, seedFor(cfg)); err != nil {
		return errors.Join(fmt.Errorf("seeding the demo: %w", err), shutdown())
	}
	web, err := do.Invoke[*webServer](injector)
	if err != nil {
		return errors.Join(err, shutdown())
	}
	svc, err := do.Invoke[*backup.Service](injector)
	if err != nil {
		return errors.Join(err, shutdown())
	}

	recoveryCtx, stopRecovery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecovery()
	go svc.RunRecovery(recoveryCtx)
	if cfg.DatabaseURL == "" {
		go runSchedules(recoveryCtx, svc, cfg.ScheduleTick, log)
	} else if _, err := do.Invoke[*spriver.Runner](injector); err != nil {
		return errors.Join(fmt.Errorf("starting the schedules: %w", err), shutdown())
	}

	if err := startWebhooks(injector, cfg); err != nil {
		return errors.Join(err, shutdown())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- web.Serve() }()
	log.Info("savepoint example server listening", "url", web.URL(), "mode", cfg.mode())
	printBanner(stdout, web.URL(), cfg)
	if err := writeDemoEnv(cfg, web.URL()); err != nil {
		log.Warn("could not write demo.env", "err", err)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-serveErr:
		log.Error("HTTP server failed", "err", err)
	}
	stopRecovery()
	return errors.Join(err, shutdown())
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// demoExports are the shell variables the README's curl walkthrough uses.
func demoExports(url string, cfg config) string {
	o := demoOrders(1)[0]
	return fmt.Sprintf("export SAVEPOINT=%s TOKEN=%s\nexport BACKUPS=$SAVEPOINT/api/v1/orders/%s/provisions/%s/backups\n",
		url, cfg.DemoToken, o.OrderID, o.ProvisionID)
}

// writeDemoEnv saves demoExports as <dir>/demo.env, so a second shell can
// `source var/demo.env`. Owner-only: it holds the token.
func writeDemoEnv(cfg config, url string) error {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.Dir, "demo.env"), []byte(demoExports(url, cfg)), 0o600)
}

// printBanner tells a person how to use the demo: the token, the dashboard, and
// the IDs the README's curl walkthrough needs. A token given by -demo-token or
// SAVEPOINT_DEMO_TOKEN is not printed (whoever started the server knows it, and
// this output often ends up in a shared log); demo.env holds it either way.
func printBanner(w io.Writer, url string, cfg config) {
	token, link := cfg.DemoToken, url+"/#token="+cfg.DemoToken
	if cfg.demoTokenGiven {
		token, link = "the one given by -demo-token or SAVEPOINT_DEMO_TOKEN", url+"/#token=<token>"
	}
	fmt.Fprintf(w, "\nsavepoint example server (%s)\n\n  Dashboard:  %s\n  API token:  %s\n\n"+
		"For the README's curl walkthrough, in another shell: source %s\n",
		cfg.mode(), link, token, filepath.Join(cfg.Dir, "demo.env"))
	if !cfg.demoTokenGiven {
		fmt.Fprintf(w, "\n%s\n", demoExports(url, cfg))
	}
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// platformEndpointID names the WEBHOOK_URL endpoint for good: its place in
// the activity log is kept under it, so a restarted server, or one given a new
// URL, carries on where the last delivery stopped.
const platformEndpointID = "platform"

// webhookOptions are the dispatcher's options for cfg: the defaults, with
// -webhook-allow-private opening loopback, private addresses and http:// (a
// receiver on one's own machine has no certificate).
func webhookOptions(cfg config, log *slog.Logger) webhook.Options {
	return webhook.Options{
		AllowHTTP: cfg.WebhookAllowPrivate, AllowPrivateTargets: cfg.WebhookAllowPrivate,
		Logger: log.With("component", "webhooks"),
	}
}

// finishWebhook reads the webhook's URL (from WEBHOOK_URL or
// -webhook-url-file) and secret, and checks the URL. No error repeats the URL,
// which may carry a token.
func (c *config) finishWebhook() []error {
	if c.WebhookURLFile != "" {
		if c.WebhookURL != "" {
			return []error{errors.New("WEBHOOK_URL and -webhook-url-file both given: one URL, please")}
		}
		b, err := os.ReadFile(c.WebhookURLFile)
		if err != nil {
			return []error{fmt.Errorf("reading the webhook URL: %w", err)}
		}
		if c.WebhookURL = string(bytes.TrimSpace(b)); c.WebhookURL == "" {
			return []error{fmt.Errorf("-webhook-url-file %s is empty", c.WebhookURLFile)}
		}
	}
	if c.WebhookURL == "" {
		if c.WebhookSecretFile != "" {
			return []error{errors.New("-webhook-secret-file given without a webhook URL (WEBHOOK_URL or -webhook-url-file)")}
		}
		return nil
	}
	var errs []error
	if err := webhookOptions(*c, slog.Default()).ValidateURL(c.WebhookURL); err != nil {
		errs = append(errs, fmt.Errorf("the webhook URL: %w", err))
	}
	if c.WebhookSecretFile == "" {
		return append(errs, errors.New("a webhook URL needs -webhook-secret-file, holding the secret deliveries are signed with"))
	}
	b, err := os.ReadFile(c.WebhookSecretFile)
	if err != nil {
		return append(errs, fmt.Errorf("reading the webhook secret: %w", err))
	}
	if c.WebhookSecret = bytes.TrimSpace(b); len(c.WebhookSecret) == 0 {
		errs = append(errs, fmt.Errorf("-webhook-secret-file %s is empty", c.WebhookSecretFile))
	}
	return errs
}

// provideWebhooks adds the dispatcher of the WEBHOOK_URL endpoint to the
// injector, on the activity log and the webhook cursors of the repository the
// server runs on (in memory, or PostgreSQL, where every replica shares them).
func provideWebhooks(i do.Injector, cfg config, log *slog.Logger) {
	if cfg.WebhookURL == "" {
		return
	}
	do.ProvideValue[ports.WebhookEndpoints](i, webhook.Static(ports.WebhookEndpoint{
		ID: platformEndpointID, URL: cfg.WebhookURL, Secret: cfg.WebhookSecret,
	}))
	webhook.Package(webhookOptions(cfg, log))(i)
}

// startWebhooks starts the dispatcher, if there is an endpoint, before the
// server takes requests, so that their events are delivered.
func startWebhooks(i do.Injector, cfg config) error {
	if cfg.WebhookURL == "" {
		return nil
	}
	if _, err := do.Invoke[*webhook.Dispatcher](i); err != nil {
		return fmt.Errorf("starting the webhooks: %w", err)
	}
	return nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebhookConfig(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(secretFile, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("the environment sets the endpoint, and the secret is read from its file, trimmed", func(t *testing.T) {
		env := map[string]string{"WEBHOOK_URL": "https://hooks.example.com/savepoint", "WEBHOOK_SECRET_FILE": secretFile}
		c, err := parseConfig([]string{"-dir", dir}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.WebhookURL != env["WEBHOOK_URL"] || string(c.WebhookSecret) != "s3cret" || c.WebhookAllowPrivate {
			t.Errorf("config %q %q %v", c.WebhookURL, c.WebhookSecret, c.WebhookAllowPrivate)
		}
	})

	t.Run("-webhook-allow-private admits a loopback http:// receiver", func(t *testing.T) {
		c, err := parseConfig([]string{"-dir", dir, "-webhook-url", "http://127.0.0.1:9000/hook", "-webhook-secret-file", secretFile,
			"-webhook-allow-private"}, func(string) string { return "" })
		if err != nil || !c.WebhookAllowPrivate {
			t.Errorf("parseConfig: %v, allow private %v", err, c.WebhookAllowPrivate)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a URL without a secret is refused", []string{"-webhook-url", "https://hooks.example.com/"}, "-webhook-secret-file"},
		{"a secret without a URL is refused", []string{"-webhook-secret-file", secretFile}, "without -webhook-url"},
		{"an empty secret is refused", []string{"-webhook-url", "https://hooks.example.com/", "-webhook-secret-file", emptyFile}, "is empty"},
		{"a missing secret file is refused", []string{"-webhook-url", "https://hooks.example.com/", "-webhook-secret-file", filepath.Join(dir, "none")}, "webhook secret"},
		{"http:// is refused without -webhook-allow-private", []string{"-webhook-url", "http://hooks.example.com/", "-webhook-secret-file", secretFile}, "https"},
		{"a loopback receiver is refused without -webhook-allow-private", []string{"-webhook-url", "https://127.0.0.1/", "-webhook-secret-file", secretFile}, "loopback"},
		{"the metadata address is refused without -webhook-allow-private", []string{"-webhook-url", "https://169.254.169.254/", "-webhook-secret-file", secretFile}, "link-local"},
		{"a URL with a password is refused, and the error does not repeat it", []string{"-webhook-url", "https://u:hunter2@hooks.example.com/", "-webhook-secret-file", secretFile}, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(append([]string{"-dir", dir}, tc.args...), func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseConfig: %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats a secret: %v", err)
			}
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// webhookURLFile writes url to a file of the test's and returns its path, for
// -webhook-url-file.
func webhookURLFile(t *testing.T, url string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "webhook-url")
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

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
	noEnv := func(string) string { return "" }

	t.Run("the environment sets the endpoint, and the secret is read from its file, trimmed", func(t *testing.T) {
		env := map[string]string{"WEBHOOK_URL": "https://hooks.example.com/savepoint?token=t0k", "WEBHOOK_SECRET_FILE": secretFile}
		c, err := parseConfig([]string{"-dir", dir}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.WebhookURL != env["WEBHOOK_URL"] || string(c.WebhookSecret) != "s3cret" || c.WebhookAllowPrivate {
			t.Errorf("config %q %q %v", c.WebhookURL, c.WebhookSecret, c.WebhookAllowPrivate)
		}
	})

	t.Run("-webhook-url-file sets the endpoint, trimmed, and -webhook-allow-private admits a loopback http:// receiver", func(t *testing.T) {
		c, err := parseConfig([]string{"-dir", dir, "-webhook-url-file", webhookURLFile(t, "  http://127.0.0.1:9000/hook"),
			"-webhook-secret-file", secretFile, "-webhook-allow-private"}, noEnv)
		if err != nil || !c.WebhookAllowPrivate || c.WebhookURL != "http://127.0.0.1:9000/hook" {
			t.Errorf("parseConfig: %v, URL %q, allow private %v", err, c.WebhookURL, c.WebhookAllowPrivate)
		}
	})

	t.Run("WEBHOOK_URL_FILE names the file too", func(t *testing.T) {
		env := map[string]string{"WEBHOOK_URL_FILE": webhookURLFile(t, "https://hooks.example.com/f"), "WEBHOOK_SECRET_FILE": secretFile}
		c, err := parseConfig([]string{"-dir", dir}, func(k string) string { return env[k] })
		if err != nil || c.WebhookURL != "https://hooks.example.com/f" {
			t.Errorf("parseConfig: %v, URL %q", err, c.WebhookURL)
		}
	})

	t.Run("the URL is no flag, since flags show in ps", func(t *testing.T) {
		_, err := parseConfig([]string{"-dir", dir, "-webhook-url", "https://hooks.example.com/?token=t0k", "-webhook-secret-file", secretFile}, noEnv)
		if err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("parseConfig with -webhook-url: %v, want the flag undefined", err)
		}
	})

	for _, tc := range []struct {
		name string
		url  string // WEBHOOK_URL
		args []string
		want string
	}{
		{"a URL without a secret is refused", "https://hooks.example.com/", nil, "-webhook-secret-file"},
		{"a secret without a URL is refused", "", []string{"-webhook-secret-file", secretFile}, "without a webhook URL"},
		{"an empty secret is refused", "https://hooks.example.com/", []string{"-webhook-secret-file", emptyFile}, "is empty"},
		{"a missing secret file is refused", "https://hooks.example.com/", []string{"-webhook-secret-file", filepath.Join(dir, "none")}, "webhook secret"},
		{"WEBHOOK_URL and -webhook-url-file together are refused", "https://hooks.example.com/",
			[]string{"-webhook-url-file", webhookURLFile(t, "https://other.example.com/"), "-webhook-secret-file", secretFile}, "both given"},
		{"an empty URL file is refused", "", []string{"-webhook-url-file", emptyFile, "-webhook-secret-file", secretFile}, "is empty"},
		{"a missing URL file is refused", "", []string{"-webhook-url-file", filepath.Join(dir, "none"), "-webhook-secret-file", secretFile}, "webhook URL"},
		{"http:// is refused without -webhook-allow-private", "http://hooks.example.com/", []string{"-webhook-secret-file", secretFile}, "https"},
		{"a loopback receiver is refused without -webhook-allow-private", "https://127.0.0.1/", []string{"-webhook-secret-file", secretFile}, "loopback"},
		{"the metadata address is refused without -webhook-allow-private", "https://169.254.169.254/", []string{"-webhook-secret-file", secretFile}, "link-local"},
		{"a URL with a password is refused, and the error does not repeat it", "https://u:hunter2@hooks.example.com/", []string{"-webhook-secret-file", secretFile}, "password"},
		{"a URL file's refused URL is not repeated either", "", []string{"-webhook-url-file", webhookURLFile(t, "http://hooks.example.com/?token=hunter2"),
			"-webhook-secret-file", secretFile}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(append([]string{"-dir", dir}, tc.args...), func(k string) string {
				if k == "WEBHOOK_URL" {
					return tc.url
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseConfig: %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats a secret: %v", err)
			}
		})
	}
}

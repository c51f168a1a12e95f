package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	noEnv := func(string) string { return "" }

	t.Run("the read timeouts default to 10s for headers, 1m for a request and 2m idle", func(t *testing.T) {
		c, err := parseConfig(nil, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if c.ReadHeaderTimeout != 10*time.Second || c.ReadTimeout != time.Minute || c.IdleTimeout != 2*time.Minute {
			t.Errorf("timeouts %v %v %v", c.ReadHeaderTimeout, c.ReadTimeout, c.IdleTimeout)
		}
	})

	t.Run("flags and the environment set the read timeouts", func(t *testing.T) {
		env := map[string]string{"SAVEPOINT_IDLE_TIMEOUT": "7s"}
		c, err := parseConfig([]string{"-read-header-timeout", "1s", "-read-timeout", "2s"}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if c.ReadHeaderTimeout != time.Second || c.ReadTimeout != 2*time.Second || c.IdleTimeout != 7*time.Second {
			t.Errorf("timeouts %v %v %v", c.ReadHeaderTimeout, c.ReadTimeout, c.IdleTimeout)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a zero header timeout is refused, since it would mean none", []string{"-read-header-timeout", "0s"}, "-read-header-timeout"},
		{"a negative read timeout is refused", []string{"-read-timeout", "-1s"}, "-read-timeout"},
		{"two users with one token are refused", []string{"-demo-token", "same", "-other-token", "same"}, "same token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}

	t.Run("creates fail without a pause only when asked, by flag or environment", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			env  string
			want bool
		}{{nil, "", false}, {[]string{"-fail-without-quiesce"}, "", true}, {nil, "true", true}, {[]string{"-fail-without-quiesce=false"}, "true", false}} {
			c, err := parseConfig(tc.args, func(k string) string {
				if k == "SAVEPOINT_FAIL_WITHOUT_QUIESCE" {
					return tc.env
				}
				return ""
			})
			if err != nil || c.FailWithoutQuiesce != tc.want {
				t.Errorf("args %q, environment %q: FailWithoutQuiesce %v (%v), want %v", tc.args, tc.env, c.FailWithoutQuiesce, err, tc.want)
			}
		}
	})

	t.Run("a given demo token is remembered as given; a generated one is not", func(t *testing.T) {
		given, err := parseConfig([]string{"-demo-token", "t0ken"}, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		generated, err := parseConfig(nil, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		newTokens(&generated)
		if !given.demoTokenGiven || generated.demoTokenGiven || generated.DemoToken == "" {
			t.Errorf("given %v, generated %v (%q)", given.demoTokenGiven, generated.demoTokenGiven, generated.DemoToken)
		}
	})
}

func TestBanner(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		showsToken bool
	}{
		{"prints a generated token, which nobody knows otherwise", nil, true},
		{"does not print a token given by flag", []string{"-demo-token", "s3cr3t-demo-token"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(append(tc.args, "-dir", t.TempDir()), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			newTokens(&cfg)
			var out strings.Builder
			printBanner(&out, "http://127.0.0.1:1", cfg)
			if got := strings.Contains(out.String(), cfg.DemoToken); got != tc.showsToken {
				t.Errorf("the banner shows the token: %v, want %v\n%s", got, tc.showsToken, out.String())
			}
		})
	}
}

package webhook_test

import (
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestValidateURL(t *testing.T) {
	t.Parallel()
	strict, lax := webhook.Options{}, webhook.Options{AllowHTTP: true, AllowPrivateTargets: true}
	for _, tc := range []struct {
		url           string
		strict, loose bool // accepted without and with the Allow options
	}{
		{"https://hooks.example.com/savepoint", true, true},
		{"https://hooks.example.com:8443/savepoint?token=abc", true, true},
		{"https://93.184.215.14/hook", true, true},
		{"http://hooks.example.com/savepoint", false, true},
		{"ftp://hooks.example.com/savepoint", false, false},
		{"hooks.example.com/savepoint", false, false},
		{"https:///savepoint", false, false},
		{"https://user:hunter2@hooks.example.com/", false, false},
		{"https://user@hooks.example.com/", false, false},
		{"https://127.0.0.1/hook", false, true},
		{"https://[::1]/hook", false, true},
		{"https://[::ffff:127.0.0.1]/hook", false, true},
		{"https://169.254.169.254/latest/meta-data/", false, true},
		{"https://10.1.2.3/hook", false, true},
		{"https://172.16.5.4/hook", false, true},
		{"https://192.168.0.10/hook", false, true},
		{"https://100.64.1.1/hook", false, true},
		{"https://[fd00::1]/hook", false, true},
		{"https://[fe80::1]/hook", false, true},
		{"https://0.0.0.0/hook", false, true},
		{"https://224.0.0.251/hook", false, true},
		{"https://localhost/hook", true, true}, // a name: checked when dialled
	} {
		for _, o := range []struct {
			name   string
			opts   webhook.Options
			accept bool
		}{{"strict", strict, tc.strict}, {"with the Allow options", lax, tc.loose}} {
			err := o.opts.ValidateURL(tc.url)
			if o.accept && err != nil {
				t.Errorf("%s: ValidateURL(%q) = %v, want accepted", o.name, tc.url, err)
			}
			if !o.accept && !errors.Is(err, webhook.ErrTargetRefused) {
				t.Errorf("%s: ValidateURL(%q) = %v, want ErrTargetRefused", o.name, tc.url, err)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the URL's password: %v", err)
			}
		}
	}
}

// TestPrivateTargetsRefusedWhenDialled: without AllowPrivateTargets, a name
// that resolves to loopback and loopback literals (IPv4 and [::1]) reach no
// receiver, and the refusal is recorded; with it the same receiver is
// delivered to.
func TestPrivateTargetsRefusedWhenDialled(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	_, port, err := net.SplitHostPort(rcv.Addr())
	must(t, err)
	urls := map[string]string{
		"localhost": "http://localhost:" + port + "/hooks/localhost",
		"v4":        rcv.Endpoint("v4").URL,
	}
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		v6 := httptest.NewUnstartedServer(rcv)
		v6.Listener.Close()
		v6.Listener = ln
		v6.Start()
		t.Cleanup(v6.Close)
		urls["v6"] = v6.URL + "/hooks/v6"
	} else {
		t.Logf("no IPv6 loopback here (%v): [::1] is checked by URL and by TestDialControlRefusesInternalAddresses only", err)
		urls["v6"] = "http://[::1]:" + port + "/hooks/v6"
	}
	log := &memLog{}
	backupEvents(log, ports.NewOrderID(), "ssrf")
	var eps []ports.WebhookEndpoint
	for id, u := range urls {
		ep := rcv.Endpoint(id)
		ep.URL = u
		eps = append(eps, ep)
	}
	cursors := newMemCursors()
	opts := testOptions()
	opts.AllowPrivateTargets = false
	startDispatcher(t, log, webhook.Static(eps...), cursors, opts)
	for id := range urls {
		waitFor(t, "the refusal of "+id+" recorded", func() bool {
			c, err := cursors.Cursor(t.Context(), id)
			return err == nil && c.Attempts >= 2
		})
		c, _ := cursors.Cursor(t.Context(), id)
		if !strings.Contains(c.LastError, "target refused") || !strings.Contains(c.LastError, "loopback") || c.Delivered != 0 {
			t.Errorf("endpoint %s: cursor %+v, want a loopback refusal", id, c)
		}
	}
	if requests := len(rcv.Arrivals()); requests != 0 {
		t.Errorf("the receiver on loopback got %d requests without AllowPrivateTargets", requests)
	}

	// The same endpoints, allowed: the refusal was the check, not the network.
	lax := testOptions()
	startDispatcher(t, log, webhook.Static(eps...), newMemCursors(), lax)
	rcv.WaitAccepted(7, waitTimeout)
}

// TestHTTPSRequired: an http:// endpoint is refused without AllowHTTP, and
// nothing is sent.
func TestHTTPSRequired(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	log := &memLog{}
	backupEvents(log, ports.NewOrderID(), "plain")
	cursors := newMemCursors()
	opts := testOptions()
	opts.AllowHTTP = false
	startDispatcher(t, log, webhook.Static(rcv.Endpoint("ep")), cursors, opts)
	waitFor(t, "the refusal recorded", func() bool {
		c, err := cursors.Cursor(t.Context(), "ep")
		return err == nil && c.Attempts >= 1 && strings.Contains(c.LastError, "AllowHTTP")
	})
	if requests := len(rcv.Arrivals()); requests != 0 {
		t.Errorf("an http:// endpoint got %d requests without AllowHTTP", requests)
	}
}

// TestDeliversOverHTTPS: an https:// receiver whose certificate the roots
// vouch for is delivered to without AllowHTTP.
func TestDeliversOverHTTPS(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	srv := httptest.NewTLSServer(rcv)
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	log := &memLog{}
	want := backupEvents(log, ports.NewOrderID(), "tls")
	opts := testOptions()
	opts.AllowHTTP, opts.RootCAs = false, roots
	ep := rcv.Endpoint("ep")
	ep.URL = srv.URL + "/hooks/ep"
	startDispatcher(t, log, webhook.Static(ep), newMemCursors(), opts)
	wantIDs(t, "over https", rcv.WaitAccepted(len(want), waitTimeout), want)
}

package hardening_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// The fixed sentences 5xx responses carry (adapters/http's error table).
const (
	internalDetail = "An internal error occurred. Quote the instance ID when reporting it."
	storageDetail  = "Backup storage could not be reached; try again later."
)

var instanceRE = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// wantOpaque fails unless rep is a 5xx problem that says nothing but the fixed
// sentence and an instance ID: exactly the fields type, title, status, detail,
// code and instance, no word of the cause in the body or the headers. It
// returns the instance.
func wantOpaque(t testing.TB, rep reply, status int, code sphttp.Code, detail string, secrets []string) string {
	t.Helper()
	p := wantProblem(t, rep, status, code)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(rep.Body, &fields)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"code", "detail", "instance", "status", "title", "type"}; !slices.Equal(keys, want) {
		t.Errorf("the problem has fields %v, want exactly %v: %s", keys, want, rep.Body)
	}
	if p.Detail != detail {
		t.Errorf("detail %q, want the fixed %q", p.Detail, detail)
	}
	if !instanceRE.MatchString(p.Instance) {
		t.Errorf("instance %q is not a urn:uuid", p.Instance)
	}
	var headers strings.Builder
	for k, vs := range rep.Header {
		headers.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
	}
	for _, s := range secrets {
		if strings.Contains(string(rep.Body), s) || strings.Contains(headers.String(), s) {
			t.Errorf("the %d response reveals %q:\n%s%s", status, s, headers.String(), rep.Body)
		}
	}
	return p.Instance
}

// internals are words of causes that must never reach a client: SQL and its
// errors, hosts and ports, paths, Go error texts.
func internals(dbURL string, extra ...string) []string {
	out := []string{"SQLSTATE", "42P01", "relation", "does not exist", "pgx", "postgres", "select", "SELECT",
		"backups_hidden", "127.0.0.1", "localhost", "dial", "connection refused", "EOF", "goroutine", ".go",
		"/tmp", "/work", "/home", "tar.gz"}
	if u, err := url.Parse(dbURL); err == nil {
		out = append(out, u.Query().Get("search_path"), u.Host)
	}
	return append(out, extra...)
}

// loggedWith waits until the process's output holds a line with instance (the
// output reaches the test through a pipe, a moment after the response) and
// returns that line.
func loggedWith(t testing.TB, p *testenv.Process, instance string) string {
	t.Helper()
	var found string
	testenv.WaitFor(t, 10*time.Second, "a log line with "+instance, nil, func() bool {
		for line := range strings.Lines(p.Output()) {
			if strings.Contains(line, instance) {
				found = line
				return true
			}
		}
		return false
	})
	return found
}

// TestServerErrorsRevealNothing makes the real-mode server fail for reasons a
// client must not learn — its database table gone, its object storage down, a
// body cut short — and checks every 5xx carries only the fixed sentence and an
// instance ID, while the log line with that instance ID holds the cause. A
// failed backup's error is likewise a fixed reason. Once the fault is gone the
// server answers normally.
func TestServerErrorsRevealNothing(t *testing.T) {
	t.Parallel()
	env := startRealMode(t, 64<<10)
	u := newUsers(t)
	srv := e2e.StartServer(t, env.options(e2e.ServerOptions{Token: u.Owner}))
	c := newClient(srv)
	order, provision := demoOrder(1)
	b := readyBackup(t, c, u.Owner, order, provision, "before the faults")
	s3Host := strings.TrimPrefix(strings.TrimPrefix(env.S3.Endpoint, "http://"), "https://")
	hidden := internals(env.DatabaseURL, s3Host, env.S3.Bucket, env.S3.AccessKey, env.Sidecar.Addr, env.Sidecar.DataDir)

	t.Run("a database error is a 500 with only an instance ID, and the log has the cause", func(t *testing.T) {
		execSQL(t, env.DatabaseURL, `ALTER TABLE backups RENAME TO backups_hidden`)
		restored := false
		restore := func() {
			if !restored {
				execSQL(t, env.DatabaseURL, `ALTER TABLE backups_hidden RENAME TO backups`)
				restored = true
			}
		}
		t.Cleanup(restore)
		for _, r := range []request{
			requestList(order, provision, u.Owner),
			{Method: http.MethodGet, Path: backupPath(order, provision, b.ID), Token: u.Owner},
			{Method: http.MethodPost, Path: backupsPath(order, provision), Token: u.Owner,
				ContentType: "application/json", Body: []byte(`{"name":"while the table is gone"}`)},
			{Method: http.MethodPost, Path: reprovisionPath(order), Token: u.Owner},
		} {
			instance := wantOpaque(t, c.do(t, r), http.StatusInternalServerError, sphttp.CodeInternal, internalDetail, hidden)
			if line := loggedWith(t, srv.Proc, instance); !strings.Contains(line, "does not exist") {
				t.Errorf("%s %s: the log line of %s lacks the cause: %q", r.Method, r.Path, instance, line)
			}
		}
		restore()
		if rep := c.do(t, requestList(order, provision, u.Owner)); rep.Status != http.StatusOK {
			t.Errorf("with the table back, list answers %d %s", rep.Status, rep.Body)
		}
	})

	t.Run("a body cut short of its Content-Length reveals nothing", func(t *testing.T) {
		cutShortBody(t, srv, backupsPath(order, provision), u.Owner, hidden)
	})

	t.Run("storage that is down is a 502 with only an instance ID, and a failed backup's error says nothing more", func(t *testing.T) {
		if !env.S3.Restartable() {
			testenv.Unavailable(t, "an external S3 server cannot be stopped")
		}
		if err := env.S3.Stop(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := env.S3.Start(); err != nil {
				t.Fatal(err)
			}
		}()
		instance := wantOpaque(t, c.do(t, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: u.Owner}),
			http.StatusBadGateway, sphttp.CodeUpstreamUnavailable, storageDetail, hidden)
		loggedWith(t, srv.Proc, instance)

		created := c.do(t, request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: u.Owner})
		if created.Status != http.StatusAccepted {
			t.Fatalf("create while storage is down: %d %s", created.Status, created.Body)
		}
		var v sphttp.BackupView
		_ = json.Unmarshal(created.Body, &v)
		failed := find(waitIdle(t, c, u.Owner, order, provision), v.ID)
		if failed == nil || failed.Status != "failed" || failed.Error == nil {
			t.Fatalf("the backup made while storage was down: %+v", failed)
		}
		for _, s := range hidden {
			if strings.Contains(*failed.Error, s) {
				t.Errorf("the failed backup's error %q reveals %q", *failed.Error, s)
			}
		}
		t.Logf("a backup made while storage was down failed with %q", *failed.Error)
	})

	t.Run("with storage back, the download works again", func(t *testing.T) {
		rep := c.do(t, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: u.Owner})
		if rep.Status != http.StatusOK || int64(len(rep.Body)) != *b.SizeBytes {
			t.Errorf("download: %d, %d bytes", rep.Status, len(rep.Body))
		}
	})
}

// cutShortBody sends a create whose body ends before its Content-Length and
// checks the answer is an opaque 5xx or a plain invalid_input.
func cutShortBody(t *testing.T, srv *e2e.Server, path, token string, hidden []string) {
	conn := dial(t, srv)
	io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+
		token+"\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"name\":")
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	rep := reply{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if rep.Status >= 500 {
		// huma reports the short read as a 500; the client's fault, so a 400
		// would be right (reported), but the answer must be opaque either way.
		wantOpaque(t, rep, http.StatusInternalServerError, sphttp.CodeInternal, internalDetail, hidden)
		t.Logf("a truncated body answers %d", rep.Status)
	} else {
		wantProblem(t, rep, http.StatusBadRequest, sphttp.CodeInvalidInput)
	}
}

// TestSecretsStayOutOfLogs runs real-mode servers through a backup's whole life
// and through failures — unknown tokens, a token in the URL, a sidecar that
// refuses a wrong secret, S3 refusing a wrong secret key, S3 down, a database
// error — then searches the complete output of both servers and of the sidecar
// for every token, the sidecar's secret and the S3 access and secret keys (the
// right ones and the wrong ones). It also checks that the secrets are not in any
// process's command line (they are passed in the environment), and that no API
// response carries one.
func TestSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	env := startRealMode(t, 64<<10)
	u := newUsers(t)
	opts := e2e.ServerOptions{Token: u.Owner, AdminToken: u.Viewer, Args: u.args()}
	r := &leakRun{t: t, env: env, u: u, srv: e2e.StartServer(t, env.options(opts))}
	r.c = newClient(r.srv)
	r.order, r.provision = demoOrder(1)

	// A second replica on the same database whose sidecar secret and S3 secret
	// key are wrong, so both are presented and refused.
	wrongSidecar, wrongS3 := *env.Sidecar, *env.S3
	wrongSidecar.Secret, wrongS3.SecretKey = secret(t, 16), secret(t, 20)
	badOpts := opts
	badOpts.Sidecar, badOpts.S3, badOpts.DatabaseURL = &wrongSidecar, &wrongS3, env.DatabaseURL
	r.bad = e2e.StartServer(t, badOpts)
	r.cb = newClient(r.bad)
	r.unknown = secret(t, 16)

	b := r.roundTrip()
	r.failingCredentials(b)
	refused := r.wrongSecrets(b)
	r.storageAndDatabaseFailures(b)
	r.tidy()

	// The secrets travel by environment: ps shows none of them. (The demo
	// tokens and the S3 access key ID are flags of e2e.StartServer; an access
	// key ID identifies, it does not authenticate.)
	argSecrets := map[string]string{"the sidecar secret": env.Sidecar.Secret, "a wrong sidecar secret": wrongSidecar.Secret,
		"the S3 secret key": env.S3.SecretKey, "a wrong S3 secret key": wrongS3.SecretKey}
	for _, p := range r.processes() {
		if found := leaks(cmdline(t, p.Pid()), argSecrets); len(found) > 0 {
			t.Errorf("the command line of %s shows %v", p.Name, found)
		}
	}
	secrets := map[string]string{
		"the owner's token": u.Owner, "the other user's token": u.Other, "the support user's token": u.Viewer,
		"an unknown token": r.unknown, "the sidecar secret": env.Sidecar.Secret,
		"a wrong sidecar secret": wrongSidecar.Secret, "the S3 secret key": env.S3.SecretKey,
		"a wrong S3 secret key": wrongS3.SecretKey, "the S3 access key": env.S3.AccessKey,
	}
	r.searchOutputs(secrets, refused)
}

// leakRun is TestSecretsStayOutOfLogs's world: a server, a replica with wrong
// secrets, their clients, and every API response they got.
type leakRun struct {
	t                *testing.T
	env              realMode
	u                users
	srv, bad         *e2e.Server
	c, cb            *client
	order, provision string
	unknown          string
	responses        strings.Builder
}

// call sends r through c and keeps the response for the final search.
func (r *leakRun) call(c *client, req request) reply {
	r.t.Helper()
	rep := c.do(r.t, req)
	r.responses.Write(rep.Body)
	for k, vs := range rep.Header {
		r.responses.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
	}
	return rep
}

func (r *leakRun) expect(rep reply, status int) {
	r.t.Helper()
	if rep.Status != status {
		r.t.Fatalf("status %d, want %d: %s", rep.Status, status, truncate(rep.Body))
	}
}

// roundTrip is the happy path: create, download, restore.
func (r *leakRun) roundTrip() sphttp.BackupView {
	b := readyBackup(r.t, r.c, r.u.Owner, r.order, r.provision, "secrets round trip")
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: r.u.Owner}), http.StatusOK)
	r.expect(r.call(r.c, request{Method: http.MethodPost, Path: backupPath(r.order, r.provision, b.ID) + "/restore", Token: r.u.Owner}), http.StatusAccepted)
	waitIdle(r.t, r.c, r.u.Owner, r.order, r.provision)
	return b
}

// failingCredentials sends credentials that fail, and one where it does not belong.
func (r *leakRun) failingCredentials(b sphttp.BackupView) {
	o, p, u := r.order, r.provision, r.u
	r.expect(r.call(r.c, requestList(o, p, r.unknown)), http.StatusUnauthorized)
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: backupsPath(o, p), Auth: "Basic " + u.Owner}), http.StatusUnauthorized)
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: backupsPath(o, p) + "?access_token=" + u.Owner}), http.StatusUnauthorized)
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: backupsPath(o, p), Token: u.Other}), http.StatusForbidden)
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: u.Viewer}), http.StatusNotFound)
	r.expect(r.call(r.c, request{Method: http.MethodPost, Path: reprovisionPath(o), Token: r.unknown}), http.StatusUnauthorized)
}

// wrongSecrets uses the replica with wrong secrets: the sidecar refuses its
// create, S3 its download. It returns the refused create's ID.
func (r *leakRun) wrongSecrets(b sphttp.BackupView) string {
	rep := r.call(r.cb, request{Method: http.MethodPost, Path: backupsPath(r.order, r.provision), Token: r.u.Owner})
	r.expect(rep, http.StatusAccepted)
	var refused sphttp.BackupView
	_ = json.Unmarshal(rep.Body, &refused)
	if v := find(waitIdle(r.t, r.cb, r.u.Owner, r.order, r.provision), refused.ID); v == nil || v.Status != "failed" {
		r.t.Fatalf("a create through a wrong sidecar secret: %+v", v)
	}
	r.expect(r.call(r.cb, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: r.u.Owner}), http.StatusBadGateway)
	return refused.ID
}

// storageAndDatabaseFailures stops storage, then hides a table.
func (r *leakRun) storageAndDatabaseFailures(b sphttp.BackupView) {
	t, env := r.t, r.env
	if env.S3.Restartable() {
		if err := env.S3.Stop(); err != nil {
			t.Fatal(err)
		}
		r.expect(r.call(r.c, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: r.u.Owner}), http.StatusBadGateway)
		r.expect(r.call(r.c, request{Method: http.MethodPost, Path: backupsPath(r.order, r.provision), Token: r.u.Owner}), http.StatusAccepted)
		waitIdle(t, r.c, r.u.Owner, r.order, r.provision)
		if err := env.S3.Start(); err != nil {
			t.Fatal(err)
		}
	}
	execSQL(t, env.DatabaseURL, `ALTER TABLE backup_assets RENAME TO assets_hidden`)
	r.expect(r.call(r.c, request{Method: http.MethodGet, Path: assetPath(*b.AssetID), Token: r.u.Owner}), http.StatusInternalServerError)
	execSQL(t, env.DatabaseURL, `ALTER TABLE assets_hidden RENAME TO backup_assets`)
}

// tidy deletes every backup through the good server.
func (r *leakRun) tidy() {
	for _, v := range waitIdle(r.t, r.c, r.u.Owner, r.order, r.provision) {
		r.expect(r.call(r.c, request{Method: http.MethodDelete, Path: backupPath(r.order, r.provision, v.ID), Token: r.u.Owner}), http.StatusNoContent)
	}
}

func (r *leakRun) processes() []*testenv.Process {
	return []*testenv.Process{r.srv.Proc, r.bad.Proc, r.env.Sidecar.Proc}
}

// searchOutputs stops every process gracefully, so that shutdown's logging is
// searched too, then looks for the secrets in all that was logged and answered,
// and checks the failures were logged at all (else the search proves nothing).
func (r *leakRun) searchOutputs(secrets map[string]string, refused string) {
	t := r.t
	for _, p := range r.processes() {
		if err := p.Terminate(30 * time.Second); err != nil {
			t.Errorf("stopping %s: %v", p.Name, err)
		}
	}
	outputs := map[string]string{"the server": r.srv.Proc.Output(), "the replica with wrong secrets": r.bad.Proc.Output(),
		"the sidecar": r.env.Sidecar.Proc.Output(), "the API's responses": r.responses.String()}
	for name, out := range outputs {
		if found := leaks(out, secrets); len(found) > 0 {
			slices.Sort(found)
			t.Errorf("the output of %s holds %v", name, found)
		}
	}
	for _, want := range []struct{ who, what string }{
		{"the server", `"status":500`},
		{"the server", `"status":502`},
		{"the replica with wrong secrets", `"status":502`},
		{"the replica with wrong secrets", refused},
		{"the sidecar", "Unauthenticated"},
	} {
		if !strings.Contains(outputs[want.who], want.what) {
			t.Errorf("the output of %s does not mention %s, so the failures were not all logged", want.who, want.what)
		}
	}
}

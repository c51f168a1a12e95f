package hardening_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
	"github.com/savepoint-dev/savepoint/internal/gamedata"
	"github.com/savepoint-dev/savepoint/internal/testenv"
)

// The example server's seeded IDs (examples/server/demo.go): the demo user's
// orders count up from 1; the second user (-other-token) owns one order of its own.
const (
	otherOrder     = "00000000-0000-4000-8101-000000000001"
	otherProvision = "00000000-0000-4000-8102-000000000001"
)

// demoOrder returns the k-th (1-based) demo order and its game-server provision.
func demoOrder(k int) (order, provision string) {
	return fmt.Sprintf("00000000-0000-4000-8001-%012x", k), fmt.Sprintf("00000000-0000-4000-8002-%012x", k)
}

// users are the example server's three tokens; every test makes its own.
type users struct{ Owner, Other, Viewer string }

func newUsers(t *testing.T) users {
	return users{Owner: secret(t, 16), Other: secret(t, 16), Viewer: secret(t, 16)}
}

// args are the flags that give the server the second user; the support user's
// token goes through ServerOptions.AdminToken.
func (u users) args() []string { return []string{"-other-token", u.Other} }

func secret(t testing.TB, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// smallWorld writes a small generated game world to dir: backups of it take
// milliseconds, so the tests spend their time on HTTP, not on gzip.
func smallWorld(t testing.TB, dir string, size int64) {
	t.Helper()
	if _, err := gamedata.Generate(context.Background(), dir, gamedata.Options{Size: size, Seed: 3}); err != nil {
		t.Fatalf("generating the game world: %v", err)
	}
}

// startZeroConfig starts the example server with everything in its process, over
// a small pre-seeded world (the server only seeds its 4 MiB sample into an empty
// data directory).
func startZeroConfig(t *testing.T, opts e2e.ServerOptions) *e2e.Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	smallWorld(t, filepath.Join(opts.Dir, "data"), 64<<10)
	return e2e.StartServer(t, opts)
}

// realMode is the real pieces a real-mode server runs on.
type realMode struct {
	DatabaseURL string
	S3          *testenv.S3Server
	Sidecar     *e2e.Sidecar
}

// startRealMode starts versitygw and the sidecar binary over a fresh world of
// size bytes, on a fresh PostgreSQL schema.
func startRealMode(t *testing.T, size int64) realMode {
	t.Helper()
	db := testenv.PostgresURL(t)
	store := testenv.S3(t, testenv.S3Options{})
	dataDir := filepath.Join(t.TempDir(), "data")
	smallWorld(t, dataDir, size)
	return realMode{DatabaseURL: db, S3: store, Sidecar: e2e.StartSidecar(t, dataDir)}
}

// options fills in the real pieces.
func (m realMode) options(opts e2e.ServerOptions) e2e.ServerOptions {
	opts.DatabaseURL, opts.S3, opts.Sidecar = m.DatabaseURL, m.S3, m.Sidecar
	return opts
}

// execSQL runs a statement in the server's schema (the URL carries search_path).
func execSQL(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// reply is an HTTP answer read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem is the problem+json body every error carries.
type problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail"`
	Instance string            `json:"instance"`
	Code     string            `json:"code"`
	Errors   []json.RawMessage `json:"errors"`
}

func (r reply) problem() (problem, bool) {
	var p problem
	err := json.Unmarshal(r.Body, &p)
	return p, err == nil && p.Code != ""
}

// client sends requests with exact control of headers and body, which
// e2e.Client (JSON bodies only) does not give.
type client struct {
	base string
	http *http.Client
}

func newClient(srv *e2e.Server) *client {
	return &client{base: srv.URL, http: &http.Client{Timeout: time.Minute,
		// Redirects are answers to check, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// request is one call: a method, a path (sent as given, escapes included), an
// optional bearer token or Authorization header, and a raw body.
type request struct {
	Method      string
	Path        string
	Token       string // "Bearer <Token>" unless Auth is set
	Auth        string // the whole Authorization header
	ContentType string
	Body        []byte
	Header      http.Header
}

func (c *client) do(t testing.TB, r request) reply {
	t.Helper()
	rep, err := c.try(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	return rep
}

func (c *client) try(r request) (reply, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, c.base+r.Path, body)
	if err != nil {
		return reply{}, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	switch {
	case r.Auth != "":
		req.Header.Set("Authorization", r.Auth)
	case r.Token != "":
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// wantProblem fails unless rep is a problem+json with the status and code, in
// the shape every error of the API has.
func wantProblem(t testing.TB, rep reply, status int, code sphttp.Code) problem {
	t.Helper()
	if rep.Status != status {
		t.Errorf("status %d, want %d (%s): %s", rep.Status, status, code, truncate(rep.Body))
		return problem{}
	}
	p, ok := rep.problem()
	if !ok {
		t.Errorf("status %d without a problem body: %s", rep.Status, truncate(rep.Body))
		return p
	}
	if ct := rep.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if p.Code != string(code) || p.Status != status || p.Type != "urn:savepoint:problem:"+string(code) {
		t.Errorf("problem code %q status %d type %q, want %q %d", p.Code, p.Status, p.Type, code, status)
	}
	return p
}

func truncate(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// The routes of the API, by path.
func backupsPath(order, provision string) string { return e2e.BackupsPath(order, provision) }

func backupPath(order, provision, id string) string { return backupsPath(order, provision) + "/" + id }

func assetPath(id string) string { return "/api/v1/assets/" + id }

func schedulePath(order, provision string) string {
	return "/api/v1/orders/" + order + "/provisions/" + provision + "/schedule"
}

func reprovisionPath(order string) string { return "/api/v1/orders/" + order + "/reprovision" }

// waitIdle polls the order's backups as token until none is creating or
// restoring, and returns them.
func waitIdle(t testing.TB, c *client, token, order, provision string) []sphttp.BackupView {
	t.Helper()
	var list sphttp.BackupList
	idle := func() bool {
		rep := c.do(t, request{Method: http.MethodGet, Path: backupsPath(order, provision), Token: token})
		if rep.Status != http.StatusOK {
			t.Fatalf("listing backups: %d %s", rep.Status, rep.Body)
		}
		list = sphttp.BackupList{}
		if err := json.Unmarshal(rep.Body, &list); err != nil {
			t.Fatal(err)
		}
		for _, b := range list.Backups {
			if b.Status == "creating" || b.Status == "restoring" {
				return false
			}
		}
		return true
	}
	testenv.WaitFor(t, time.Minute, "the order's operations to settle", nil, idle)
	return list.Backups
}

// readyBackup creates a backup as token and waits until it is ready.
func readyBackup(t testing.TB, c *client, token, order, provision, name string) sphttp.BackupView {
	t.Helper()
	waitIdle(t, c, token, order, provision)
	body, _ := json.Marshal(map[string]string{"name": name})
	rep := c.do(t, request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: token,
		ContentType: "application/json", Body: body})
	if rep.Status != http.StatusAccepted {
		t.Fatalf("creating a backup: %d %s", rep.Status, rep.Body)
	}
	var v sphttp.BackupView
	if err := json.Unmarshal(rep.Body, &v); err != nil {
		t.Fatal(err)
	}
	for _, b := range waitIdle(t, c, token, order, provision) {
		if b.ID == v.ID {
			if b.Status != "ready" {
				t.Fatalf("backup %s", e2e.Describe(b))
			}
			return b
		}
	}
	t.Fatalf("backup %s vanished", v.ID)
	return v
}

// leaks lists which of the secrets occur in text: whole, or as a 12-character
// piece of their start or end (a truncated secret still leaks).
func leaks(text string, secrets map[string]string) []string {
	var found []string
	for name, s := range secrets {
		pieces := []string{s}
		if len(s) > 24 {
			pieces = append(pieces, s[:12], s[len(s)-12:])
		}
		for _, p := range pieces {
			if strings.Contains(text, p) {
				found = append(found, name)
				break
			}
		}
	}
	return found
}

// cmdline is what ps shows of a process: its arguments.
func cmdline(t testing.TB, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		testenv.Unavailable(t, "reading a process's command line: %v", err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

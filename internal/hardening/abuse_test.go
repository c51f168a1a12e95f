package hardening_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// hostileCreate is a create request no honest client sends, and the status that
// refuses it.
type hostileCreate struct {
	name        string
	contentType string
	body        []byte
	chunked     bool // hide the length, so the limit must hold while reading
	status      int
}

func nameBody(s string) []byte {
	b, _ := json.Marshal(map[string]string{"name": s})
	return b
}

func excludesBody(n int) []byte {
	patterns := make([]string, n)
	for i := range patterns {
		patterns[i] = "cache/" + strings.Repeat("x", 100)
	}
	b, _ := json.Marshal(map[string]any{"excludes": patterns})
	return b
}

// hostileCreateBodies are TestHostileCreateBodies's requests.
func hostileCreateBodies() []hostileCreate {
	const jsonType = "application/json"
	return []hostileCreate{
		// The limit leaves room for the largest valid set of exclude patterns
		// (256 of 256 characters), under 140 KiB.
		{"a body over 140 KiB is refused as too large", jsonType, nameBody(strings.Repeat("a", 140<<10)), false, 413},
		{"a body over 140 KiB sent chunked is refused as too large", jsonType, nameBody(strings.Repeat("a", 140<<10)), true, 413},
		{"a megabyte of JSON whitespace is refused as too large", jsonType, append(bytes.Repeat([]byte(" "), 1<<20), "{}"...), true, 413},
		{"a name of 10,000 characters is refused, and not echoed", jsonType, nameBody(strings.Repeat("x", 10000)), false, 422},
		{"a name of 101 characters is refused", jsonType, nameBody(strings.Repeat("é", 101)), false, 422},
		{"malformed JSON is refused", jsonType, []byte(`{bad`), false, 400},
		{"truncated JSON is refused", jsonType, []byte(`{"name":`), false, 400},
		{"two JSON values are refused", jsonType, []byte(`{"name":"a"}{"name":"b"}`), false, 400},
		{"a JSON array is refused", jsonType, []byte(`["name"]`), false, 422},
		{"a name that is a number is refused", jsonType, []byte(`{"name":42}`), false, 422},
		{"a name that is an object is refused", jsonType, []byte(`{"name":{"$gt":""}}`), false, 422},
		{"an unknown field is refused", jsonType, []byte(`{"nmae":"typo"}`), false, 422},
		{"an unknown field beside the name is refused", jsonType, []byte(`{"name":"ok","admin":true}`), false, 422},
		{"text/plain is refused", "text/plain", nameBody("plain"), false, 415},
		{"a form is refused", "application/x-www-form-urlencoded", []byte(`name=form`), false, 415},
		{"XML is refused", "application/xml", []byte(`<name>xml</name>`), false, 415},
		{"a NUL in the name is refused", jsonType, nameBody("world\x00.dat"), false, 422},
		{"a newline in the name is refused", jsonType, nameBody("line one\nline two"), false, 422},
		{"a terminal escape in the name is refused", jsonType, nameBody("\x1b[2J\x1b[31mred"), false, 422},
		{"a right-to-left override in the name is refused", jsonType, nameBody("invoice\u202egpj.exe"), false, 422},
		{"a zero-width space in the name is refused", jsonType, nameBody("ad\u200bmin"), false, 422},
		{"a lone zero-width joiner is refused", jsonType, nameBody("\u200d"), false, 422},
		// encoding/json would quietly replace these bytes with U+FFFD.
		{"invalid UTF-8 in the name is refused, not stored with replacement characters", jsonType, []byte("{\"name\":\"save\xff\xfe\"}"), false, 422},
	}
}

// TestHostileCreateBodies sends create requests no honest client sends:
// oversized, malformed, mistyped, with unknown fields, and with names meant to
// break a page, a terminal or a file name. Each is refused with a problem+json
// invalid_input, never a 5xx, and no backup is created.
func TestHostileCreateBodies(t *testing.T) {
	t.Parallel()
	u := newUsers(t)
	srv := startZeroConfig(t, e2e.ServerOptions{Token: u.Owner})
	c := newClient(srv)
	order, provision := demoOrder(1)

	for _, tc := range hostileCreateBodies() {
		t.Run(tc.name, func(t *testing.T) {
			before := waitIdle(t, c, u.Owner, order, provision)
			req := request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: u.Owner,
				ContentType: tc.contentType, Body: tc.body}
			rep := c.doChunked(t, req, tc.chunked)
			wantProblem(t, rep, tc.status, sphttp.CodeInvalidInput)
			if len(rep.Body) > 2<<10 {
				t.Errorf("the refusal is %d bytes long: it echoes the request", len(rep.Body))
			}
			if diff := diffBackups(before, waitIdle(t, c, u.Owner, order, provision)); diff != "" {
				t.Errorf("a refused create changed the backups: %s", diff)
			}
		})
	}

	t.Run("a thousand exclude patterns are refused, and not echoed", func(t *testing.T) {
		before := waitIdle(t, c, u.Owner, order, provision)
		rep := c.do(t, request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: u.Owner,
			ContentType: "application/json", Body: excludesBody(1000)})
		wantProblem(t, rep, http.StatusUnprocessableEntity, sphttp.CodeInvalidExcludes)
		if len(rep.Body) > 2<<10 {
			t.Errorf("the refusal is %d bytes long: it echoes the request", len(rep.Body))
		}
		if diff := diffBackups(before, waitIdle(t, c, u.Owner, order, provision)); diff != "" {
			t.Errorf("a refused create changed the backups: %s", diff)
		}
	})

	// The control: the same route takes a name at the limit, so the refusals
	// above are the input's doing.
	t.Run("a name of 100 characters with an emoji sequence is accepted", func(t *testing.T) {
		waitIdle(t, c, u.Owner, order, provision)
		want := strings.Repeat("é", 97) + "👩‍💻"
		rep := c.do(t, request{Method: http.MethodPost, Path: backupsPath(order, provision), Token: u.Owner,
			ContentType: "application/json", Body: nameBody(want)})
		var v sphttp.BackupView
		if rep.Status != http.StatusAccepted || json.Unmarshal(rep.Body, &v) != nil || v.Name != want {
			t.Fatalf("%d %s", rep.Status, truncate(rep.Body))
		}
		if b := find(waitIdle(t, c, u.Owner, order, provision), v.ID); b == nil || b.Status != "ready" || b.Name != want {
			t.Errorf("the backup: %+v", b)
		}
	})
}

// doChunked is do with the body's length hidden when chunked is set: a body
// of unknown length goes out with Transfer-Encoding: chunked.
func (c *client) doChunked(t testing.TB, r request, chunked bool) reply {
	t.Helper()
	if !chunked {
		return c.do(t, r)
	}
	req, err := http.NewRequest(r.Method, c.base+r.Path, io.MultiReader(bytes.NewReader(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Content-Type", r.ContentType)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// demoSidecar1 is the demo's first order's sidecar provision.
const demoSidecar1 = "00000000-0000-4000-8003-000000000001"

// idTarget is a set of requests naming something by a hostile or wrong ID, each
// tried with every method its route has, and the answer they must all get.
type idTarget struct {
	name  string
	paths []request // method and path; the owner's token unless set
	want  outcome
}

// onBackup is every route of the backup at order, provision and id.
func onBackup(order, provision, id string) []request {
	p := backupPath(order, provision, id)
	return []request{{Method: http.MethodGet, Path: p}, {Method: http.MethodDelete, Path: p},
		{Method: http.MethodPost, Path: p + "/restore"}, {Method: http.MethodPut, Path: p + "/lock"},
		{Method: http.MethodDelete, Path: p + "/lock"}}
}

// hostileIDTargets are TestHostileIDs's requests: malformed IDs in each place of
// a path (invalid input), and well-formed IDs of the wrong thing (not found).
// b1 is a backup of the owner's first demo order.
func hostileIDTargets(u users, b1 string) []idTarget {
	order1, prov1 := demoOrder(1)
	order2, prov2 := demoOrder(2)
	missing := "0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e"
	nilID := "00000000-0000-0000-0000-000000000000"
	invalid := outcome{http.StatusUnprocessableEntity, sphttp.CodeInvalidInput}
	bad := []struct{ name, id string }{
		{"a word", "not-a-uuid"},
		{"a number", "1"},
		{"36 characters that are not hex", strings.Repeat("z", 36)},
		{"a UUID in braces", "{" + b1 + "}"},
		{"a UUID as a URN", "urn:uuid:" + b1},
		{"a UUID without dashes", strings.ReplaceAll(b1, "-", "")},
		{"a UUID with a trailing NUL", b1 + "%00"},
		{"an encoded path traversal", "..%2f..%2f..%2fetc%2fpasswd"},
		{"an encoded backslash traversal", "..%5c..%5cwindows"},
		{"an encoded traversal to another order", "..%2f..%2f..%2f..%2f" + order2},
		{"a SQL fragment", "1'%20OR%20'1'%3D'1"},
	}
	var targets []idTarget
	for _, bad := range bad {
		targets = append(targets,
			idTarget{"a backup ID that is " + bad.name, onBackup(order1, prov1, bad.id), invalid},
			idTarget{"an order ID that is " + bad.name, append(onBackup(bad.id, prov1, b1),
				request{Method: http.MethodGet, Path: backupsPath(bad.id, prov1)},
				request{Method: http.MethodPost, Path: reprovisionPath(bad.id)}), invalid},
			idTarget{"a provision ID that is " + bad.name, append(onBackup(order1, bad.id, b1),
				request{Method: http.MethodGet, Path: backupsPath(order1, bad.id)}), invalid},
			idTarget{"an asset ID that is " + bad.name, []request{{Method: http.MethodGet, Path: assetPath(bad.id)}}, invalid},
		)
	}
	if upper := strings.ToUpper(b1); upper != b1 { // one resource has one URL
		targets = append(targets, idTarget{"a backup ID in upper case", onBackup(order1, prov1, upper), invalid})
	}
	others := onBackup(otherOrder, otherProvision, b1)
	for i := range others {
		others[i].Token = u.Other
	}
	return append(targets,
		idTarget{"a backup of order 1 asked for under order 2", onBackup(order2, prov2, b1), notFound},
		idTarget{"a backup of order 1 under order 1 and order 2's provision", onBackup(order1, prov2, b1), notFound},
		idTarget{"order 1's provision under order 2", append(onBackup(order2, prov1, b1),
			request{Method: http.MethodGet, Path: backupsPath(order2, prov1)}), notFound},
		idTarget{"the sidecar's provision instead of the game server's", onBackup(order1, demoSidecar1, b1), notFound},
		idTarget{"another user's backup under that user's own order", others, notFound},
		idTarget{"a backup that does not exist", onBackup(order1, prov1, missing), notFound},
		idTarget{"the nil UUID as a backup", onBackup(order1, prov1, nilID), notFound},
		idTarget{"an order that does not exist", append(onBackup(missing, prov1, b1),
			request{Method: http.MethodPost, Path: reprovisionPath(missing)}), notFound},
		idTarget{"a backup's ID as an asset ID", []request{{Method: http.MethodGet, Path: assetPath(b1)}}, notFound},
		idTarget{"an asset that does not exist", []request{{Method: http.MethodGet, Path: assetPath(missing)}}, notFound},
	)
}

// TestHostileIDs sends well-formed requests with IDs that are malformed, point
// elsewhere, or try to climb out of the path. A malformed ID is 422
// invalid_input, an ID of something that is not under the path's order and
// provision is 404 not_found, exactly as for one that does not exist, and
// nothing is changed.
func TestHostileIDs(t *testing.T) {
	t.Parallel()
	u := newUsers(t)
	srv := startZeroConfig(t, e2e.ServerOptions{Token: u.Owner, Args: append(u.args(), "-demo-orders", "2")})
	c := newClient(srv)
	order1, prov1 := demoOrder(1)
	b1 := readyBackup(t, c, u.Owner, order1, prov1, "order one's")

	for _, tg := range hostileIDTargets(u, b1.ID) {
		t.Run(fmt.Sprintf("%s answers %d %s", tg.name, tg.want.status, tg.want.code), func(t *testing.T) {
			before := waitIdle(t, c, u.Owner, order1, prov1)
			for _, r := range tg.paths {
				if r.Token == "" {
					r.Token = u.Owner
				}
				rep := c.do(t, r)
				if rep.Status != tg.want.status {
					t.Errorf("%s %s: %d, want %d: %s", r.Method, r.Path, rep.Status, tg.want.status, truncate(rep.Body))
					continue
				}
				wantProblem(t, rep, tg.want.status, tg.want.code)
			}
			if diff := diffBackups(before, waitIdle(t, c, u.Owner, order1, prov1)); diff != "" {
				t.Errorf("the requests changed order 1's backups: %s", diff)
			}
		})
	}

	// Listing is the one route that does not check the provision is the
	// primary game server (CreateBackup does), so under the sidecar's provision
	// it answers an empty list; what matters is that it shows no backup that is
	// not the provision's.
	t.Run("listing under the sidecar's provision shows none of the game server's backups", func(t *testing.T) {
		rep := c.do(t, requestList(order1, demoSidecar1, u.Owner))
		var l sphttp.BackupList
		switch {
		case rep.Status == http.StatusNotFound:
			wantProblem(t, rep, rep.Status, sphttp.CodeNotFound)
		case rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &l) != nil || len(l.Backups) != 0:
			t.Errorf("%d %s, want 404 or an empty list", rep.Status, truncate(rep.Body))
		}
	})

	// An unencoded ../ never reaches a handler: the router answers with a
	// redirect to the cleaned path, which names no backup route.
	t.Run("an unencoded path traversal is redirected, never served", func(t *testing.T) {
		for _, p := range []string{
			backupsPath(order1, prov1) + "/../../../../../etc/passwd",
			"/api/v1/assets/../../../" + strings.TrimPrefix(backupPath(order1, prov1, b1.ID), "/api/v1/"),
		} {
			rep := rawRequest(t, srv, "GET "+p+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+u.Owner+"\r\nConnection: close\r\n\r\n")
			if rep.Status >= 200 && rep.Status < 300 || rep.Status >= 500 {
				t.Errorf("GET %s: %d %s", p, rep.Status, truncate(rep.Body))
			}
			if strings.Contains(string(rep.Body), "root:") || strings.Contains(string(rep.Body), b1.Name) {
				t.Errorf("GET %s served content: %s", p, truncate(rep.Body))
			}
		}
	})
}

// rawRequest writes text to a fresh connection as is (no client cleans or
// encodes the path) and reads the answer.
func rawRequest(t testing.TB, srv *e2e.Server, text string) reply {
	t.Helper()
	conn := dial(t, srv)
	defer conn.Close()
	if _, err := io.WriteString(conn, text); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func dial(t testing.TB, srv *e2e.Server) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// The server's read timeouts in TestSlowClients, short so the test is quick.
const (
	testReadHeaderTimeout = time.Second
	testReadTimeout       = 2 * time.Second
)

// TestSlowClients holds connections open the way slowloris attacks do. The
// server cuts off a client that sends its headers too slowly (or not at all)
// after -read-header-timeout, and one that trickles its body after the body
// read timeout, and keeps answering everyone else meanwhile.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	u := newUsers(t)
	srv := startZeroConfig(t, e2e.ServerOptions{Token: u.Owner, Args: []string{
		"-read-header-timeout", testReadHeaderTimeout.String(), "-read-timeout", testReadTimeout.String()}})
	c := newClient(srv)
	order, provision := demoOrder(1)
	request := "POST " + backupsPath(order, provision) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + u.Owner +
		"\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"

	t.Run("a connection that sends nothing is closed after the header timeout", func(t *testing.T) {
		conn := dial(t, srv)
		start := time.Now()
		closed := waitClosed(t, conn, 10*time.Second)
		checkCutOff(t, time.Since(start), testReadHeaderTimeout, closed)
	})

	t.Run("headers sent a byte at a time are cut off after the header timeout", func(t *testing.T) {
		conn := dial(t, srv)
		start := time.Now()
		sent, err := trickle(conn, []byte(request), 50*time.Millisecond)
		if err == nil {
			t.Fatalf("the server read all %d bytes of headers sent over %v", sent, time.Since(start))
		}
		closed := waitClosed(t, conn, 10*time.Second)
		checkCutOff(t, time.Since(start), testReadHeaderTimeout, closed)
		t.Logf("cut off after %d of %d header bytes, %v", sent, len(request), time.Since(start).Round(time.Millisecond))
	})

	t.Run("a body trickled a byte at a time is cut off", func(t *testing.T) {
		before := waitIdle(t, c, u.Owner, order, provision)
		conn := dial(t, srv)
		if _, err := io.WriteString(conn, request); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		body := []byte(`{"name":"trickled, one byte at a time!"}`)
		go trickle(conn, body, 200*time.Millisecond) // ends when the connection does
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("no answer to the trickled body after %v: %v", elapsed, err)
		}
		b, _ := io.ReadAll(resp.Body)
		rep := reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
		// huma bounds the body's read at 5 s (its default BodyReadTimeout),
		// which replaces the server's -read-timeout for bodies.
		wantProblem(t, rep, http.StatusRequestTimeout, sphttp.CodeInvalidInput)
		if elapsed > 8*time.Second {
			t.Errorf("answered only after %v", elapsed)
		}
		if diff := diffBackups(before, waitIdle(t, c, u.Owner, order, provision)); diff != "" {
			t.Errorf("the cut-off request created a backup: %s", diff)
		}
		t.Logf("a trickled body was answered %d after %v", rep.Status, elapsed.Round(time.Millisecond))
	})

	t.Run("the server answers others while 50 slow clients hold connections", func(t *testing.T) {
		first := time.Now()
		for range 50 {
			conn := dial(t, srv)
			if _, err := io.WriteString(conn, request[:10]); err != nil {
				t.Fatal(err)
			}
		}
		rep := c.do(t, requestList(order, provision, u.Owner))
		// Served before the stalled connections' header timeout freed them.
		if rep.Status != http.StatusOK || time.Since(first) >= testReadHeaderTimeout {
			t.Errorf("a list beside 50 stalled connections: %d, %v after the first stalled", rep.Status, time.Since(first))
		}
	})
}

func requestList(order, provision, token string) request {
	return request{Method: http.MethodGet, Path: backupsPath(order, provision), Token: token}
}

// trickle writes b one byte per interval until done or the connection fails,
// and returns how many bytes went out.
func trickle(conn net.Conn, b []byte, interval time.Duration) (int, error) {
	for i := range b {
		if _, err := conn.Write(b[i : i+1]); err != nil {
			return i, err
		}
		time.Sleep(interval) // the attack's pace, not synchronisation
	}
	return len(b), nil
}

// waitClosed reads until the server closes the connection (or sends an answer
// and then closes it) and reports whether it did within limit.
func waitClosed(t testing.TB, conn net.Conn, limit time.Duration) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func checkCutOff(t *testing.T, elapsed, timeout time.Duration, closed bool) {
	t.Helper()
	switch {
	case !closed:
		t.Errorf("the connection is still open after %v", elapsed)
	case elapsed < timeout*9/10:
		t.Errorf("closed after %v, before the %v timeout", elapsed, timeout)
	case elapsed > timeout+3*time.Second:
		t.Errorf("closed only after %v, for a %v timeout", elapsed, timeout)
	}
}

// TestHugeHeaders sends headers beyond the server's 64 KiB limit: refused with
// 431 before any handler (or authentication) runs, and the server keeps serving.
func TestHugeHeaders(t *testing.T) {
	t.Parallel()
	u := newUsers(t)
	srv := startZeroConfig(t, e2e.ServerOptions{Token: u.Owner})
	c := newClient(srv)
	order, provision := demoOrder(1)
	many := http.Header{}
	for i := range 2000 {
		many.Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("f", 100))
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		token  string
	}{
		{"one header of a megabyte", http.Header{"X-Big": {strings.Repeat("a", 1<<20)}}, u.Owner},
		{"two thousand headers", many, u.Owner},
		{"a bearer token of 200 KiB", nil, strings.Repeat("t", 200<<10)},
	} {
		t.Run(tc.name+" is refused with 431", func(t *testing.T) {
			req := requestList(order, provision, tc.token)
			req.Header = tc.header
			if rep := c.do(t, req); rep.Status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status %d, want 431: %s", rep.Status, truncate(rep.Body))
			}
		})
	}
	t.Run("a 40 KiB bad token is an ordinary 401", func(t *testing.T) {
		rep := c.do(t, requestList(order, provision, strings.Repeat("t", 40<<10)))
		wantProblem(t, rep, http.StatusUnauthorized, sphttp.CodeUnauthenticated)
	})
	t.Run("the server still answers", func(t *testing.T) {
		if rep := c.do(t, requestList(order, provision, u.Owner)); rep.Status != http.StatusOK {
			t.Errorf("list: %d %s", rep.Status, rep.Body)
		}
	})
}

package hardening_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/internal/e2e"
)

// caller is one column of the matrix: how a request authenticates.
type caller struct {
	name string
	auth func(users) string // the Authorization header; "" sends none
}

var callers = []caller{
	{"the owner", func(u users) string { return "Bearer " + u.Owner }},
	{"another user", func(u users) string { return "Bearer " + u.Other }},
	{"a ViewAllOrders user", func(u users) string { return "Bearer " + u.Viewer }},
	{"no credentials", func(users) string { return "" }},
	{"an unknown token", func(u users) string { return "Bearer " + u.Owner + "0" }},
	{"a non-bearer scheme", func(u users) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Owner+":"))
	}},
}

// outcome is what one caller gets from one route.
type outcome struct {
	status int
	code   sphttp.Code // "" for a success
}

var (
	unauthenticated = outcome{http.StatusUnauthorized, sphttp.CodeUnauthenticated}
	forbidden       = outcome{http.StatusForbidden, sphttp.CodeForbidden}
	notFound        = outcome{http.StatusNotFound, sphttp.CodeNotFound}
)

// fixture is what a route acts on: the demo order and one ready backup of it.
type fixture struct {
	order, provision string
	backup           sphttp.BackupView
}

// route is one row of the matrix.
type route struct {
	name string
	// op is the route's operation ID in the API's OpenAPI document; "" for the
	// example server's own endpoints.
	op  string
	req func(f fixture) request
	// ownBackup: the route consumes its backup (delete), so each call gets a
	// fresh one rather than the shared one.
	ownBackup bool
	// ownSchedule: the route consumes the provision's schedule (delete), so
	// each call first sets it again.
	ownSchedule bool
	// want is the outcome per caller, in the order of callers.
	want []outcome
	// accepted checks the effect of a successful call; before and after are the
	// order's backups around it, settled.
	accepted func(t *testing.T, f fixture, rep reply, before, after []sphttp.BackupView)
}

// TestAuthorizationMatrix calls every route of the API and the example server's
// reprovision endpoint as each kind of caller, against the real example server
// process, and checks the status, the code, and that a refused request changed
// nothing and revealed nothing of the backup.
//
// The rules it pins down: the owner may do everything; a ViewAllOrders user may
// do what the owner may through the backup routes (the "owner or ViewAllOrders"
// check on every service call), but not download (downloads are the order
// owner's unless the host lets staff, which the example host does not, and anyone
// else gets 404 so that asset IDs cannot be probed) and not reprovision (the example host lets
// only the owner rebuild a server); another user gets 403 on the order's routes
// and 404 on its asset; a request without valid bearer credentials gets 401
// with a WWW-Authenticate challenge before anything else is looked at.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	routes := matrixRoutes()

	for _, mode := range []struct {
		name string
		real bool
	}{{"zero-config", false}, {"real mode", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			u := newUsers(t)
			opts := e2e.ServerOptions{Token: u.Owner, AdminToken: u.Viewer, Args: u.args()}
			var srv *e2e.Server
			if mode.real {
				srv = e2e.StartServer(t, startRealMode(t, 64<<10).options(opts))
			} else {
				srv = startZeroConfig(t, opts)
			}
			runMatrix(t, newClient(srv), u, routes)
			demoEndpoint(t, newClient(srv), u)
		})
	}
}

// matrixRoutes are the rows of the matrix: every route of the API and the
// example server's reprovision endpoint.
func matrixRoutes() []route {
	ok := func(status int) outcome { return outcome{status: status} }
	return []route{
		{name: "list backups", op: "list-backups", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: backupsPath(f.order, f.provision)}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, rep reply, _, _ []sphttp.BackupView) {
				var l sphttp.BackupList
				if json.Unmarshal(rep.Body, &l) != nil || !slices.ContainsFunc(l.Backups, func(b sphttp.BackupView) bool { return b.ID == f.backup.ID }) {
					t.Errorf("the list lacks the order's backup: %s", truncate(rep.Body))
				}
			}},
		{name: "create a backup", op: "create-backup", req: func(f fixture) request {
			return request{Method: http.MethodPost, Path: backupsPath(f.order, f.provision),
				ContentType: "application/json", Body: []byte(`{"name":"made by the matrix"}`)}
		}, want: []outcome{ok(202), forbidden, ok(202), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, rep reply, before, after []sphttp.BackupView) {
				var v sphttp.BackupView
				_ = json.Unmarshal(rep.Body, &v)
				i := slices.IndexFunc(after, func(b sphttp.BackupView) bool { return b.ID == v.ID })
				if len(after) != len(before)+1 || i < 0 || after[i].Status != "ready" {
					t.Errorf("after an accepted create: %d backups (was %d), new one %q", len(after), len(before), v.ID)
				}
			}},
		{name: "get a backup", op: "get-backup", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: backupPath(f.order, f.provision, f.backup.ID)}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, rep reply, _, _ []sphttp.BackupView) {
				var v sphttp.BackupView
				if json.Unmarshal(rep.Body, &v) != nil || v.ID != f.backup.ID {
					t.Errorf("got %s, want backup %s", truncate(rep.Body), f.backup.ID)
				}
			}},
		{name: "delete a backup", op: "delete-backup", ownBackup: true, req: func(f fixture) request {
			return request{Method: http.MethodDelete, Path: backupPath(f.order, f.provision, f.backup.ID)}
		}, want: []outcome{ok(204), forbidden, ok(204), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, _ reply, _, after []sphttp.BackupView) {
				if slices.ContainsFunc(after, func(b sphttp.BackupView) bool { return b.ID == f.backup.ID }) {
					t.Errorf("backup %s is still listed after an accepted delete", f.backup.ID)
				}
			}},
		{name: "restore a backup", op: "restore-backup", req: func(f fixture) request {
			return request{Method: http.MethodPost, Path: backupPath(f.order, f.provision, f.backup.ID) + "/restore"}
		}, want: []outcome{ok(202), forbidden, ok(202), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, _ reply, before, after []sphttp.BackupView) {
				was, now := find(before, f.backup.ID), find(after, f.backup.ID)
				if now == nil || now.Status != "ready" || now.LastRestoredAt == nil || now.Error != nil ||
					(was.LastRestoredAt != nil && !now.LastRestoredAt.After(*was.LastRestoredAt)) {
					t.Errorf("after an accepted restore the backup is %+v", now)
				}
			}},
		// Lock, then unlock, the shared backup: the owner's unlock finds it locked
		// by the calls before, and the matrix leaves it as it found it.
		{name: "lock a backup", op: "lock-backup", req: func(f fixture) request {
			return request{Method: http.MethodPut, Path: backupPath(f.order, f.provision, f.backup.ID) + "/lock"}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: lockedAfter(true)},
		{name: "unlock a backup", op: "unlock-backup", req: func(f fixture) request {
			return request{Method: http.MethodDelete, Path: backupPath(f.order, f.provision, f.backup.ID) + "/lock"}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: lockedAfter(false)},
		{name: "download a backup", op: "download-asset", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: assetPath(*f.backup.AssetID)}
		}, want: []outcome{ok(200), notFound, notFound, unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, rep reply, _, _ []sphttp.BackupView) {
				sum := sha256.Sum256(rep.Body)
				if int64(len(rep.Body)) != *f.backup.SizeBytes || hex.EncodeToString(sum[:]) != *f.backup.SHA256 {
					t.Errorf("downloaded %d bytes that do not match the backup (%d bytes, sha256 %s)",
						len(rep.Body), *f.backup.SizeBytes, *f.backup.SHA256)
				}
			}},
		{name: "get the schedule", op: "get-schedule", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: schedulePath(f.order, f.provision)}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, _ fixture, rep reply, _, _ []sphttp.BackupView) {
				var v sphttp.ScheduleView
				if json.Unmarshal(rep.Body, &v) != nil || v.Cron != matrixCron {
					t.Errorf("get-schedule answered %s", truncate(rep.Body))
				}
			}},
		{name: "set the schedule", op: "put-schedule", req: func(f fixture) request {
			return request{Method: http.MethodPut, Path: schedulePath(f.order, f.provision),
				ContentType: "application/json", Body: []byte(`{"cron":"` + matrixCron + `","enabled":false}`)}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, _ fixture, rep reply, _, _ []sphttp.BackupView) {
				var v sphttp.ScheduleView
				if json.Unmarshal(rep.Body, &v) != nil || v.Cron != matrixCron || v.Enabled || v.NextRunAt != nil {
					t.Errorf("put-schedule answered %s", truncate(rep.Body))
				}
			}},
		{name: "list the schedule's runs", op: "list-schedule-runs", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: schedulePath(f.order, f.provision) + "/runs"}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, _ fixture, rep reply, _, _ []sphttp.BackupView) {
				var l sphttp.ScheduleRunList
				if json.Unmarshal(rep.Body, &l) != nil || l.Runs == nil {
					t.Errorf("list-schedule-runs answered %s", truncate(rep.Body))
				}
			}},
		{name: "delete the schedule", op: "delete-schedule", ownSchedule: true, req: func(f fixture) request {
			return request{Method: http.MethodDelete, Path: schedulePath(f.order, f.provision)}
		}, want: []outcome{ok(204), forbidden, ok(204), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(*testing.T, fixture, reply, []sphttp.BackupView, []sphttp.BackupView) {}},
		{name: "list the order's activity", op: "list-activity", req: func(f fixture) request {
			return request{Method: http.MethodGet, Path: "/api/v1/orders/" + f.order + "/activity?limit=200"}
		}, want: []outcome{ok(200), forbidden, ok(200), unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, f fixture, rep reply, _, _ []sphttp.BackupView) {
				var l sphttp.ActivityList
				if json.Unmarshal(rep.Body, &l) != nil {
					t.Fatalf("list-activity answered %s", truncate(rep.Body))
				}
				ready := false
				for _, a := range l.Items {
					if a.OrderID != f.order {
						t.Errorf("list-activity of order %s lists an event of order %s", f.order, a.OrderID)
					}
					ready = ready || (a.Type == "backup.ready" && a.BackupID != nil && *a.BackupID == f.backup.ID)
				}
				if !ready {
					t.Errorf("list-activity has no backup.ready event of the fixture's backup %s: %s", f.backup.ID, truncate(rep.Body))
				}
			}},
		{name: "reprovision the server", req: func(f fixture) request {
			return request{Method: http.MethodPost, Path: reprovisionPath(f.order)}
		}, want: []outcome{ok(202), forbidden, forbidden, unauthenticated, unauthenticated, unauthenticated},
			accepted: func(t *testing.T, _ fixture, rep reply, _, _ []sphttp.BackupView) {
				if !strings.Contains(string(rep.Body), "reprovisioning") {
					t.Errorf("reprovision answered %s", truncate(rep.Body))
				}
			}},
	}
}

// matrixCron is the schedule the matrix sets (paused, so it never runs).
const matrixCron = "0 4 * * *"

// setSchedule gives the provision the matrix's paused schedule, as the owner.
func setSchedule(t *testing.T, c *client, u users, order, provision string) {
	t.Helper()
	rep := c.do(t, request{Method: http.MethodPut, Path: schedulePath(order, provision), Token: u.Owner,
		ContentType: "application/json", Body: []byte(`{"cron":"` + matrixCron + `","enabled":false}`)})
	if rep.Status != http.StatusOK {
		t.Fatalf("setting the schedule: %d %s", rep.Status, truncate(rep.Body))
	}
}

// TestAuthorizationMatrixCoversEveryOperation: every operation the API
// registers is a row of the matrix, so a new route cannot skip it.
func TestAuthorizationMatrixCoversEveryOperation(t *testing.T) {
	doc, err := sphttp.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, r := range matrixRoutes() {
		covered[r.op] = true
	}
	for path, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op != nil && !covered[op.OperationID] {
				t.Errorf("operation %s (%s) is not in the authorization matrix", op.OperationID, path)
			}
		}
	}
}

func runMatrix(t *testing.T, c *client, u users, routes []route) {
	order, provision := demoOrder(1)
	shared := readyBackup(t, c, u.Owner, order, provision, "shared by the matrix")
	setSchedule(t, c, u, order, provision)
	for _, r := range routes {
		if len(r.want) != len(callers) {
			t.Fatalf("route %q has %d outcomes for %d callers", r.name, len(r.want), len(callers))
		}
		for i, who := range callers {
			want := r.want[i]
			name := fmt.Sprintf("%s as %s answers %d", r.name, who.name, want.status)
			if want.code != "" {
				name += " " + string(want.code)
			}
			t.Run(name, func(t *testing.T) {
				f := fixture{order: order, provision: provision, backup: shared}
				if r.ownBackup {
					f.backup = readyBackup(t, c, u.Owner, order, provision, "for "+r.name+" as "+who.name)
				}
				if r.ownSchedule {
					setSchedule(t, c, u, order, provision)
				}
				before := waitIdle(t, c, u.Owner, order, provision)
				req := r.req(f)
				req.Auth = who.auth(u)
				rep := c.do(t, req)
				after := waitIdle(t, c, u.Owner, order, provision)

				if want.code == "" {
					if rep.Status != want.status {
						t.Fatalf("status %d, want %d: %s", rep.Status, want.status, truncate(rep.Body))
					}
					r.accepted(t, f, rep, before, after)
					return
				}
				wantProblem(t, rep, want.status, want.code)
				if want.status == http.StatusUnauthorized && !strings.HasPrefix(rep.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("a 401 without a Bearer challenge: WWW-Authenticate %q", rep.Header.Get("WWW-Authenticate"))
				}
				for _, s := range []string{f.backup.ID, f.backup.Name, *f.backup.AssetID} {
					if strings.Contains(string(rep.Body), s) {
						t.Errorf("the refusal reveals %q: %s", s, rep.Body)
					}
				}
				if diff := diffBackups(before, after); diff != "" {
					t.Errorf("a refused request changed the order's backups: %s", diff)
				}
				if r.ownBackup { // tidy up, so the provision stays under its limit
					c.do(t, request{Method: http.MethodDelete, Path: backupPath(order, provision, f.backup.ID), Token: u.Owner})
				}
			})
		}
	}
}

// demoEndpoint checks the example server's GET /api/v1/demo, which tells the
// dashboard which orders to show: each user sees their own.
func demoEndpoint(t *testing.T, c *client, u users) {
	t.Run("the demo endpoint names each user's own orders", func(t *testing.T) {
		order1, _ := demoOrder(1)
		for _, tc := range []struct {
			token, order string
		}{{u.Owner, order1}, {u.Other, otherOrder}} {
			rep := c.do(t, request{Method: http.MethodGet, Path: "/api/v1/demo", Token: tc.token})
			var d struct {
				OrderID string `json:"order_id"`
				Orders  []struct {
					OrderID string `json:"order_id"`
				} `json:"orders"`
			}
			if rep.Status != http.StatusOK || json.Unmarshal(rep.Body, &d) != nil || d.OrderID != tc.order ||
				len(d.Orders) != 1 || d.Orders[0].OrderID != tc.order {
				t.Errorf("demo: %d %s, want order %s only", rep.Status, truncate(rep.Body), tc.order)
			}
		}
		wantProblem(t, c.do(t, request{Method: http.MethodGet, Path: "/api/v1/demo"}), http.StatusUnauthorized, sphttp.CodeUnauthenticated)
	})
}

// lockedAfter checks an accepted lock-backup or unlock-backup: it answers the
// backup with the lock as asked, and the backup is so stored.
func lockedAfter(want bool) func(t *testing.T, f fixture, rep reply, before, after []sphttp.BackupView) {
	return func(t *testing.T, f fixture, rep reply, _, after []sphttp.BackupView) {
		var v sphttp.BackupView
		if json.Unmarshal(rep.Body, &v) != nil || v.ID != f.backup.ID || v.Locked != want {
			t.Errorf("answered %s, want backup %s with locked %t", truncate(rep.Body), f.backup.ID, want)
		}
		if now := find(after, f.backup.ID); now == nil || now.Locked != want {
			t.Errorf("after the call the backup is %+v, want locked %t", now, want)
		}
	}
}

func find(list []sphttp.BackupView, id string) *sphttp.BackupView {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

// diffBackups describes how two settled lists differ in what a user could
// notice: which backups exist, their status, error, last restore and lock.
func diffBackups(before, after []sphttp.BackupView) string {
	key := func(l []sphttp.BackupView) []string {
		var out []string
		for _, b := range l {
			restored := ""
			if b.LastRestoredAt != nil {
				restored = b.LastRestoredAt.String()
			}
			out = append(out, fmt.Sprintf("%s %s %q %s locked=%t", b.ID, b.Status, e2e.ErrorText(b), restored, b.Locked))
		}
		slices.Sort(out)
		return out
	}
	b, a := key(before), key(after)
	if slices.Equal(b, a) {
		return ""
	}
	return fmt.Sprintf("before %v, after %v", b, a)
}

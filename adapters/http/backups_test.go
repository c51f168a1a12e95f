package http_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

func TestBackupLifecycleOverHTTP(t *testing.T) {
	w := newWorld(t)
	release := w.sidecar.holdCreates()

	created := w.create("Before the update")
	if created.Status != "creating" || created.Name != "Before the update" || created.AssetID != nil ||
		created.SizeBytes != nil || created.SHA256 != nil || created.CompletedAt != nil || created.Error != nil {
		t.Fatalf("a new backup should be creating with nothing known yet: %+v", created)
	}
	if time.Since(created.CreatedAt) > time.Minute || created.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %v should be now, in UTC", created.CreatedAt)
	}

	release()
	ready := w.waitFor(w.order, w.prov, created.ID, "ready")
	sum := sha256.Sum256(w.sidecar.archive)
	if ready.AssetID == nil || ready.SizeBytes == nil || *ready.SizeBytes != int64(len(w.sidecar.archive)) ||
		ready.SHA256 == nil || *ready.SHA256 != hex.EncodeToString(sum[:]) || ready.CompletedAt == nil {
		t.Fatalf("a ready backup should have its asset, size, checksum and completion time: %+v", ready)
	}

	list := w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)
	if list.Code != http.StatusOK {
		t.Fatalf("list: %d %s", list.Code, list.Body)
	}
	if got := decode[sphttp.BackupList](t, list).Backups; len(got) != 1 || got[0].ID != created.ID {
		t.Fatalf("list should hold the one backup, got %+v", got)
	}

	dl := w.call(http.MethodGet, "/api/v1/assets/"+*ready.AssetID, aliceToken, nil)
	if dl.Code != http.StatusOK || !bytes.Equal(dl.Body.Bytes(), w.sidecar.archive) {
		t.Fatalf("download: status %d, %d bytes; want the archive's %d bytes", dl.Code, dl.Body.Len(), len(w.sidecar.archive))
	}
	if etag := dl.Header().Get("ETag"); etag != `"`+*ready.SHA256+`"` {
		t.Errorf("ETag %s, want the quoted sha256", etag)
	}

	restore := w.call(http.MethodPost, backupURL(w.order, w.prov, mustBackupID(t, created.ID))+"/restore", aliceToken, nil)
	if restore.Code != http.StatusAccepted || decode[sphttp.BackupView](t, restore).Status != "restoring" {
		t.Fatalf("restore: %d %s", restore.Code, restore.Body)
	}
	restored := w.waitFor(w.order, w.prov, created.ID, "ready")
	if restored.LastRestoredAt == nil || restored.Error != nil {
		t.Fatalf("after a restore last_restored_at should be set and error null: %+v", restored)
	}

	del := w.call(http.MethodDelete, backupURL(w.order, w.prov, mustBackupID(t, created.ID)), aliceToken, nil)
	if del.Code != http.StatusNoContent || del.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", del.Code, del.Body)
	}
	problem(t, w.call(http.MethodGet, backupURL(w.order, w.prov, mustBackupID(t, created.ID)), aliceToken, nil),
		http.StatusNotFound, sphttp.CodeNotFound)
	problem(t, w.call(http.MethodGet, "/api/v1/assets/"+*ready.AssetID, aliceToken, nil),
		http.StatusNotFound, sphttp.CodeNotFound)
}

func TestBackupViewWireFormat(t *testing.T) {
	w := newWorld(t)
	release := w.sidecar.holdCreates()
	defer release()

	rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	t.Run("every field is present, unknown ones as null", func(t *testing.T) {
		for _, k := range []string{"id", "name", "status", "asset_id", "size_bytes", "created_at", "completed_at",
			"error", "sha256", "last_restored_at", "skipped_count", "skipped", "progress", "locked", "schedule_id",
			"excludes", "quiesce", "warnings"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("field %q missing from %s", k, rec.Body)
			}
		}
		for _, k := range []string{"asset_id", "size_bytes", "completed_at", "error", "sha256", "last_restored_at", "schedule_id", "quiesce"} {
			if raw[k] != nil {
				t.Errorf("%s = %v, want null while creating", k, raw[k])
			}
		}
		if raw["locked"] != false {
			t.Errorf("locked = %v, want false for a new backup", raw["locked"])
		}
		if len(raw) != 18 {
			t.Errorf("unexpected fields in %s", rec.Body)
		}
		if raw["skipped_count"] != 0.0 || fmt.Sprint(raw["skipped"]) != "[]" {
			t.Errorf("skipped_count %v, skipped %v: want 0 and an empty list, never null", raw["skipped_count"], raw["skipped"])
		}
		if fmt.Sprint(raw["excludes"]) != "[]" || fmt.Sprint(raw["warnings"]) != "[]" {
			t.Errorf("excludes %v, warnings %v: want empty lists, never null", raw["excludes"], raw["warnings"])
		}
	})
	t.Run("times are RFC 3339 in UTC", func(t *testing.T) {
		s, _ := raw["created_at"].(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
			t.Errorf("created_at %q is not RFC 3339 UTC: %v", s, err)
		}
	})
	t.Run("a backup without a name gets the default one", func(t *testing.T) {
		if name, _ := raw["name"].(string); !regexp.MustCompile(`^Backup \d{4}-\d\d-\d\d \d\d:\d\d UTC$`).MatchString(name) {
			t.Errorf("name %q, want Backup YYYY-MM-DD HH:MM UTC", name)
		}
	})
	t.Run("responses carry no $schema field", func(t *testing.T) {
		if _, ok := raw["$schema"]; ok {
			t.Errorf("unexpected $schema in %s", rec.Body)
		}
	})
}

func TestBackupViewListsSkippedFiles(t *testing.T) {
	w := newWorld(t)
	w.sidecar.skipped = []ports.SkippedFile{
		{Path: "world/session.lock", Reason: "permission denied"},
		{Path: "console.sock", Reason: "a socket"},
	}
	rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil)
	created := decode[sphttp.BackupView](t, rec)
	v := w.waitFor(w.order, w.prov, created.ID, "ready")
	if v.Status != "ready" || v.SkippedCount != 2 || len(v.Skipped) != 2 ||
		v.Skipped[0] != (sphttp.SkippedView{Path: "world/session.lock", Reason: "permission denied"}) ||
		v.Skipped[1] != (sphttp.SkippedView{Path: "console.sock", Reason: "a socket"}) {
		t.Fatalf("the ready backup says %+v", v)
	}
}

func TestBackupViewShowsProgress(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	// Seeded rather than created, so that no job's heartbeats race the test's.
	b := ports.Backup{ID: ports.NewBackupID(), OrderID: w.order, ProvisionID: w.prov, Name: "big world",
		Status: ports.StatusCreating, CreatedAt: time.Now()}
	must(t, w.repo.Create(ctx, b, 1000))
	berlin := time.FixedZone("CET", 3600)
	started := time.Date(2026, 3, 14, 10, 26, 53, 0, berlin)
	must(t, w.repo.Heartbeat(ctx, b.ID, ports.StatusCreating, time.Now(),
		&ports.Progress{DoneBytes: 1 << 30, TotalBytes: 3 << 30, StartedAt: started}))

	want := `{"done_bytes":1073741824,"total_bytes":3221225472,"started_at":"2026-03-14T09:26:53Z"}`
	rec := w.call(http.MethodGet, backupURL(w.order, w.prov, b.ID), aliceToken, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	var got struct{ Progress json.RawMessage }
	must(t, json.Unmarshal(rec.Body.Bytes(), &got))
	if string(got.Progress) != want {
		t.Errorf("get: progress %s, want %s", got.Progress, want)
	}

	list := decode[sphttp.BackupList](t, w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil))
	if len(list.Backups) != 1 || list.Backups[0].Progress == nil ||
		*list.Backups[0].Progress != (sphttp.ProgressView{DoneBytes: 1 << 30, TotalBytes: 3 << 30, StartedAt: started.UTC()}) {
		t.Errorf("list: %+v, want the backup with its progress", list.Backups)
	}
}

func TestBackupViewProgressIsNullWhenNothingRuns(t *testing.T) {
	w := newWorld(t)
	ready := w.seedReady(w.order, w.prov, w.alice, "done")
	for _, path := range []string{backupURL(w.order, w.prov, ready.ID), backupsURL(w.order, w.prov)} {
		rec := w.call(http.MethodGet, path, aliceToken, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"progress":null`) || strings.Contains(rec.Body.String(), `"done_bytes"`) {
			t.Errorf("GET %s: %s, want progress present and null", path, rec.Body)
		}
	}
}

func TestNewBackupViewProgress(t *testing.T) {
	started := time.Date(2026, 3, 14, 10, 26, 53, 0, time.FixedZone("CET", 3600))
	v := sphttp.NewBackupView(ports.Backup{Status: ports.StatusCreating,
		Progress: &ports.Progress{DoneBytes: 1 << 30, TotalBytes: 3 << 30, StartedAt: started}})
	raw, err := json.Marshal(v)
	must(t, err)
	var got struct{ Progress json.RawMessage }
	must(t, json.Unmarshal(raw, &got))
	if want := `{"done_bytes":1073741824,"total_bytes":3221225472,"started_at":"2026-03-14T09:26:53Z"}`; string(got.Progress) != want {
		t.Errorf("progress %s, want %s", got.Progress, want)
	}

	unknown := sphttp.NewBackupView(ports.Backup{Status: ports.StatusRestoring,
		Progress: &ports.Progress{DoneBytes: 5, StartedAt: started}})
	if unknown.Progress == nil || *unknown.Progress != (sphttp.ProgressView{DoneBytes: 5, StartedAt: started.UTC()}) {
		t.Errorf("progress %+v, want done 5 and total 0 (not measured yet) as they are", unknown.Progress)
	}
	if v := sphttp.NewBackupView(ports.Backup{Status: ports.StatusReady}); v.Progress != nil {
		t.Errorf("progress %+v without an operation, want nil", v.Progress)
	}
}

// TestSchemaLimitsAreTheDomains pins the limits struct tags must spell out as
// literals to the constants the domain enforces.
func TestSchemaLimitsAreTheDomains(t *testing.T) {
	for _, tc := range []struct {
		typ        reflect.Type
		field, tag string
		want       int
	}{
		{reflect.TypeFor[sphttp.CreateBackupRequest](), "Name", "maxLength", backup.MaxNameLength},
		{reflect.TypeFor[sphttp.BackupView](), "Skipped", "maxItems", ports.MaxSkippedListed},
	} {
		f, _ := tc.typ.FieldByName(tc.field)
		if got := f.Tag.Get(tc.tag); got != strconv.Itoa(tc.want) {
			t.Errorf("%s.%s %s:%q, want %d", tc.typ.Name(), tc.field, tc.tag, got, tc.want)
		}
	}
}

func TestListBackups(t *testing.T) {
	w := newWorld(t)
	t.Run("an order without backups lists an empty array, not null", func(t *testing.T) {
		rec := w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"backups":[],"limit":10}` {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	older := w.seedReady(w.order, w.prov, w.alice, "older")
	time.Sleep(2 * time.Millisecond)
	newer := w.seedReady(w.order, w.prov, w.alice, "newer")
	w.seedReady(w.otherOrder, w.otherProv, w.alice, "elsewhere")

	t.Run("the owner sees the provision's backups, newest first", func(t *testing.T) {
		rec := w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)
		got := decode[sphttp.BackupList](t, rec).Backups
		if len(got) != 2 || got[0].ID != newer.ID.String() || got[1].ID != older.ID.String() {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a user with ViewAllOrders sees another user's backups", func(t *testing.T) {
		rec := w.call(http.MethodGet, backupsURL(w.order, w.prov), adminToken, nil)
		if rec.Code != http.StatusOK || len(decode[sphttp.BackupList](t, rec).Backups) != 2 {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a user with ViewAllOrders may get one backup too", func(t *testing.T) {
		rec := w.call(http.MethodGet, backupURL(w.order, w.prov, newer.ID), adminToken, nil)
		if rec.Code != http.StatusOK || decode[sphttp.BackupView](t, rec).Name != "newer" {
			t.Fatalf("got %d %s", rec.Code, rec.Body)
		}
	})
}

// TestErrorTable drives every row of the error table that the service can reach
// through the API, with the status and code a client sees.
// errorCase is one request TestErrorTable sends, and the problem it must get.
type errorCase struct {
	name    string
	method  string
	path    string
	token   string
	body    any
	headers []string
	status  int
	code    sphttp.Code
	detail  string // a substring the detail must contain
}

// errorCases are TestErrorTable's requests against w, whose alice owns b.
func errorCases(w *world, b ports.Backup) []errorCase {
	unknownOrder, unknownProv, unknownBackup := ports.NewOrderID(), ports.NewProvisionID(), ports.NewBackupID()
	name101 := strings.Repeat("n", 101)
	return []errorCase{
		{name: "a request without credentials is unauthenticated", method: http.MethodGet,
			path: backupsURL(w.order, w.prov), status: 401, code: sphttp.CodeUnauthenticated, detail: "no credentials"},
		{name: "an unknown token is unauthenticated", method: http.MethodGet, path: backupsURL(w.order, w.prov),
			token: "stolen", status: 401, code: sphttp.CodeUnauthenticated, detail: "invalid"},
		{name: "an Authorization header that is not a bearer token is unauthenticated", method: http.MethodGet,
			path: backupsURL(w.order, w.prov), headers: []string{"Authorization: Basic YWxpY2U6c2VjcmV0"},
			status: 401, code: sphttp.CodeUnauthenticated, detail: "invalid"},
		{name: "authentication comes before input validation", method: http.MethodGet,
			path: "/api/v1/orders/nope/provisions/nope/backups", status: 401, code: sphttp.CodeUnauthenticated},
		{name: "another user's order is forbidden", method: http.MethodGet, path: backupsURL(w.order, w.prov),
			token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "creating a backup of another user's order is forbidden", method: http.MethodPost,
			path: backupsURL(w.order, w.prov), token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "restoring another user's backup is forbidden", method: http.MethodPost,
			path: backupURL(w.order, w.prov, b.ID) + "/restore", token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "deleting another user's backup is forbidden", method: http.MethodDelete,
			path: backupURL(w.order, w.prov, b.ID), token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "locking another user's backup is forbidden", method: http.MethodPut,
			path: backupURL(w.order, w.prov, b.ID) + "/lock", token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "unlocking another user's backup is forbidden", method: http.MethodDelete,
			path: backupURL(w.order, w.prov, b.ID) + "/lock", token: bobToken, status: 403, code: sphttp.CodeForbidden},
		{name: "locking a backup under another order is not found", method: http.MethodPut,
			path: backupURL(w.otherOrder, w.otherProv, b.ID) + "/lock", token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "locking an unknown backup is not found", method: http.MethodPut,
			path: backupURL(w.order, w.prov, unknownBackup) + "/lock", token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a malformed backup ID on the lock is invalid input", method: http.MethodPut,
			path: backupsURL(w.order, w.prov) + "/not-a-uuid/lock", token: aliceToken, status: 422, code: sphttp.CodeInvalidInput},
		{name: "locking without credentials is unauthenticated", method: http.MethodPut,
			path: backupURL(w.order, w.prov, b.ID) + "/lock", status: 401, code: sphttp.CodeUnauthenticated},
		{name: "an unknown order is not found", method: http.MethodGet, path: backupsURL(unknownOrder, w.prov),
			token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "an unknown provision is not found", method: http.MethodGet, path: backupsURL(w.order, unknownProv),
			token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a provision of another order is not found", method: http.MethodGet,
			path: backupsURL(w.order, w.otherProv), token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a provision that is not the primary deployment cannot be backed up", method: http.MethodPost,
			path: backupsURL(w.order, w.secondaryProv), token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "an unknown backup is not found", method: http.MethodGet, path: backupURL(w.order, w.prov, unknownBackup),
			token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a backup under another order is not found", method: http.MethodGet,
			path: backupURL(w.otherOrder, w.otherProv, b.ID), token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a backup under another provision of its order is not found", method: http.MethodGet,
			path: backupURL(w.order, w.secondaryProv, b.ID), token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "restoring a backup under another order is not found", method: http.MethodPost,
			path: backupURL(w.otherOrder, w.otherProv, b.ID) + "/restore", token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "deleting a backup under another provision is not found", method: http.MethodDelete,
			path: backupURL(w.order, w.secondaryProv, b.ID), token: aliceToken, status: 404, code: sphttp.CodeNotFound},
		{name: "a malformed order ID is invalid input", method: http.MethodGet,
			path: "/api/v1/orders/not-a-uuid/provisions/" + w.prov.String() + "/backups", token: aliceToken,
			status: 422, code: sphttp.CodeInvalidInput, detail: "validation failed"},
		{name: "a backup ID without hyphens is invalid input", method: http.MethodGet,
			path: backupsURL(w.order, w.prov) + "/" + strings.ReplaceAll(b.ID.String(), "-", ""), token: aliceToken,
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "an upper-case backup ID is invalid input: one backup has one URL", method: http.MethodGet,
			path: backupsURL(w.order, w.prov) + "/" + strings.ToUpper(b.ID.String()), token: aliceToken,
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "an upper-case order ID is invalid input", method: http.MethodGet,
			path:  "/api/v1/orders/" + strings.ToUpper(w.order.String()) + "/provisions/" + w.prov.String() + "/backups",
			token: aliceToken, status: 422, code: sphttp.CodeInvalidInput},
		{name: "a urn:uuid backup ID is invalid input", method: http.MethodDelete,
			path: backupsURL(w.order, w.prov) + "/urn:uuid:" + b.ID.String(), token: aliceToken,
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "a 101-character name is invalid input", method: http.MethodPost, path: backupsURL(w.order, w.prov),
			token: aliceToken, body: map[string]string{"name": name101}, status: 422, code: sphttp.CodeInvalidInput},
		{name: "a name with control characters is invalid input", method: http.MethodPost,
			path: backupsURL(w.order, w.prov), token: aliceToken, body: map[string]string{"name": "bad\x07name"},
			status: 422, code: sphttp.CodeInvalidInput, detail: "not printable"},
		{name: "a name of bytes that are not UTF-8 is invalid input, not a name with replacement characters",
			method: http.MethodPost, path: backupsURL(w.order, w.prov), token: aliceToken,
			body: strings.NewReader("{\"name\":\"ok\xff\xfe\"}"), headers: []string{"Content-Type: application/json"},
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "a name that is not a string is invalid input", method: http.MethodPost,
			path: backupsURL(w.order, w.prov), token: aliceToken, body: map[string]any{"name": 42},
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "an unknown field in the body is invalid input", method: http.MethodPost,
			path: backupsURL(w.order, w.prov), token: aliceToken, body: map[string]string{"nmae": "typo"},
			status: 422, code: sphttp.CodeInvalidInput},
		{name: "a body that is not JSON is invalid input", method: http.MethodPost, path: backupsURL(w.order, w.prov),
			token: aliceToken, body: strings.NewReader(`{"name":`), headers: []string{"Content-Type: application/json"},
			status: 400, code: sphttp.CodeInvalidInput},
		{name: "a body larger than any valid one is invalid input", method: http.MethodPost, path: backupsURL(w.order, w.prov),
			token: aliceToken, body: strings.NewReader(`{"name":"` + strings.Repeat(" ", 200<<10) + `x"}`),
			headers: []string{"Content-Type: application/json"}, status: 413, code: sphttp.CodeInvalidInput},
		{name: "an order without a sidecar cannot be backed up", method: http.MethodPost,
			path: backupsURL(w.bare, w.bareProv), token: aliceToken, status: 422, code: sphttp.CodeNoSidecar},
	}
}

func TestErrorTable(t *testing.T) {
	w := newWorld(t)
	b := w.seedReady(w.order, w.prov, w.alice, "mine")
	for _, tc := range errorCases(w, b) {
		t.Run(tc.name, func(t *testing.T) {
			rec := w.call(tc.method, tc.path, tc.token, tc.body, tc.headers...)
			p := problem(t, rec, tc.status, tc.code)
			if !strings.Contains(strings.ToLower(p.Detail), tc.detail) {
				t.Errorf("detail %q should mention %q", p.Detail, tc.detail)
			}
			if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("a 401 should challenge for a bearer token, got WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tc.code == sphttp.CodeInvalidInput && tc.status == 422 && tc.detail == "validation failed" {
				if len(p.Errors) == 0 || p.Errors[0].Location != "path.order_id" {
					t.Errorf("the problem should point at path.order_id: %s", rec.Body)
				}
			}
		})
	}
	t.Run("refused requests change nothing", func(t *testing.T) {
		list, err := w.repo.ListByProvision(t.Context(), w.prov)
		if err != nil || len(list) != 1 || list[0].ID != b.ID || list[0].Status != ports.StatusReady {
			t.Fatalf("the provision should still hold just the seeded ready backup: %+v, %v", list, err)
		}
	})
}

func TestLimitReached(t *testing.T) {
	w := newWorld(t)
	for i := range 10 {
		w.seedReady(w.order, w.prov, w.alice, "backup "+string(rune('a'+i)))
	}
	problem(t, w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil), http.StatusConflict, sphttp.CodeLimitReached)

	t.Run("deleting one makes room again", func(t *testing.T) {
		list := decode[sphttp.BackupList](t, w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)).Backups
		if len(list) != 10 {
			t.Fatalf("want 10 backups, have %d", len(list))
		}
		if rec := w.call(http.MethodDelete, backupURL(w.order, w.prov, mustBackupID(t, list[0].ID)), aliceToken, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		if rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil); rec.Code != http.StatusAccepted {
			t.Fatalf("create after delete: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestOperationsInProgress(t *testing.T) {
	t.Run("creating while a restore runs is operation_in_progress", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "to restore")
		release := w.sidecar.holdRestores()
		defer release()
		if rec := w.call(http.MethodPost, backupURL(w.order, w.prov, b.ID)+"/restore", aliceToken, nil); rec.Code != http.StatusAccepted {
			t.Fatalf("restore: %d %s", rec.Code, rec.Body)
		}
		problem(t, w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil), http.StatusConflict, sphttp.CodeOperationInProgress)
	})
	t.Run("creating while a create runs is operation_in_progress", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		defer release()
		w.create("first")
		problem(t, w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil), http.StatusConflict, sphttp.CodeOperationInProgress)
	})
	t.Run("restoring another backup while a create runs is operation_in_progress", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "ready one")
		release := w.sidecar.holdCreates()
		defer release()
		w.create("running")
		problem(t, w.call(http.MethodPost, backupURL(w.order, w.prov, b.ID)+"/restore", aliceToken, nil),
			http.StatusConflict, sphttp.CodeOperationInProgress)
	})
	t.Run("restoring a creating backup is status_conflict", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		defer release()
		v := w.create("unfinished")
		problem(t, w.call(http.MethodPost, backupURL(w.order, w.prov, mustBackupID(t, v.ID))+"/restore", aliceToken, nil),
			http.StatusConflict, sphttp.CodeStatusConflict)
	})
	t.Run("deleting a creating backup is status_conflict", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		defer release()
		v := w.create("unfinished")
		problem(t, w.call(http.MethodDelete, backupURL(w.order, w.prov, mustBackupID(t, v.ID)), aliceToken, nil),
			http.StatusConflict, sphttp.CodeStatusConflict)
	})
	t.Run("deleting a restoring backup is status_conflict", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "being restored")
		release := w.sidecar.holdRestores()
		defer release()
		if rec := w.call(http.MethodPost, backupURL(w.order, w.prov, b.ID)+"/restore", aliceToken, nil); rec.Code != http.StatusAccepted {
			t.Fatalf("restore: %d %s", rec.Code, rec.Body)
		}
		problem(t, w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), aliceToken, nil),
			http.StatusConflict, sphttp.CodeStatusConflict)
	})
	t.Run("another order of the same user is not blocked", func(t *testing.T) {
		w := newWorld(t)
		release := w.sidecar.holdCreates()
		defer release()
		w.create("running")
		if rec := w.call(http.MethodPost, backupsURL(w.otherOrder, w.otherProv), aliceToken, nil); rec.Code != http.StatusAccepted {
			t.Fatalf("create on another order: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestInfrastructureFailures(t *testing.T) {
	t.Run("a storage failure while deleting is 502 upstream_unavailable, and a retry finishes", func(t *testing.T) {
		w := newWorld(t)
		b := w.seedReady(w.order, w.prov, w.alice, "stuck")
		w.objects.fail(nil, errDatabaseDown)
		rec := w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), aliceToken, nil)
		p := problem(t, rec, http.StatusBadGateway, sphttp.CodeUpstreamUnavailable)
		if strings.Contains(rec.Body.String(), "10.1.2.3") || p.Instance == "" {
			t.Errorf("the cause must stay in the logs, and the problem carry an instance: %s", rec.Body)
		}
		w.objects.fail(nil, nil)
		if rec := w.call(http.MethodDelete, backupURL(w.order, w.prov, b.ID), aliceToken, nil); rec.Code != http.StatusNoContent {
			t.Fatalf("retried delete: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("an unexpected error is 500 internal with nothing internal in the body, logged once", func(t *testing.T) {
		w := newWorld(t)
		w.catalog.mu.Lock()
		w.catalog.failGet = errDatabaseDown
		w.catalog.mu.Unlock()
		rec := w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil)
		p := problem(t, rec, http.StatusInternalServerError, sphttp.CodeInternal)
		for _, secret := range []string{"10.1.2.3", "secret-host-name", "database", "connection refused", "loading order"} {
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("the body leaks %q: %s", secret, rec.Body)
			}
		}
		if !strings.HasPrefix(p.Instance, "urn:uuid:") {
			t.Errorf("instance %q should identify the occurrence", p.Instance)
		}
		logs := w.logs.String()
		id := strings.TrimPrefix(p.Instance, "urn:uuid:")
		if strings.Count(logs, id) != 1 || !strings.Contains(logs, "secret-host-name") {
			t.Errorf("the cause should be logged once with the instance %s; logs:\n%s", id, logs)
		}
	})
	t.Run("a service that is shutting down answers 503 unavailable", func(t *testing.T) {
		w := newWorld(t)
		must(t, w.svc.Shutdown(t.Context()))
		problem(t, w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil),
			http.StatusServiceUnavailable, sphttp.CodeUnavailable)
	})
}

func mustBackupID(t *testing.T, s string) ports.BackupID {
	t.Helper()
	id, err := ports.ParseBackupID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

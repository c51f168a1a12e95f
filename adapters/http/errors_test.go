package http_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/danielgtaylor/huma/v2/humatest"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestProblemFor checks every row of the error table, including those the
// service cannot be made to return through the routes (ErrCluster is only ever
// recorded on a backup, never returned to a request).
func TestProblemFor(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   sphttp.Code
	}{
		{sphttp.ErrNoCredentials, 401, sphttp.CodeUnauthenticated},
		{sphttp.ErrBadCredentials, 401, sphttp.CodeUnauthenticated},
		{backup.ErrUnauthorized, 403, sphttp.CodeForbidden},
		{backup.ErrOrderNotFound, 404, sphttp.CodeNotFound},
		{backup.ErrProvisionNotFound, 404, sphttp.CodeNotFound},
		{backup.ErrBackupNotFound, 404, sphttp.CodeNotFound},
		{backup.ErrAssetNotFound, 404, sphttp.CodeNotFound},
		{backup.ErrInvalidName, 422, sphttp.CodeInvalidInput},
		{backup.ErrInvalidSchedule, 422, sphttp.CodeInvalidSchedule},
		{backup.ErrScheduleNotFound, 404, sphttp.CodeScheduleNotFound},
		{backup.ErrSchedulesUnavailable, 501, sphttp.CodeSchedulesUnavailable},
		{backup.ErrNoSidecar, 422, sphttp.CodeNoSidecar},
		{backup.ErrOperationInProgress, 409, sphttp.CodeOperationInProgress},
		{backup.ErrBackupInProgress, 409, sphttp.CodeBackupInProgress},
		{backup.ErrStatusConflict, 409, sphttp.CodeStatusConflict},
		{backup.ErrBackupLocked, 409, sphttp.CodeBackupLocked},
		{backup.ErrLimitReached, 409, sphttp.CodeLimitReached},
		{backup.ErrInvalidRange, 416, sphttp.CodeRangeNotSatisfiable},
		{backup.ErrShuttingDown, 503, sphttp.CodeUnavailable},
		{backup.ErrStorage, 502, sphttp.CodeUpstreamUnavailable},
		{backup.ErrCluster, 502, sphttp.CodeUpstreamUnavailable},
		{backup.ErrDatabase, 500, sphttp.CodeInternal},
		{errors.New("something nobody expected"), 500, sphttp.CodeInternal},
		{context.DeadlineExceeded, 500, sphttp.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v is %d %s", tc.err, tc.status, tc.code), func(t *testing.T) {
			// Errors arrive wrapped, with adapter text that must not reach clients.
			wrapped := fmt.Errorf("loading row from db-7.internal: %w", tc.err)
			p := sphttp.ProblemFor(wrapped)
			if p.Status != tc.status || p.Code != tc.code || p.GetStatus() != tc.status {
				t.Fatalf("got %d %s, want %d %s", p.Status, p.Code, tc.status, tc.code)
			}
			if p.Title == "" || p.Detail == "" || p.Type != "urn:savepoint:problem:"+string(tc.code) {
				t.Errorf("incomplete problem %+v", p)
			}
			if strings.Contains(p.Detail, "db-7.internal") {
				t.Errorf("detail %q leaks the wrapped text", p.Detail)
			}
			if (p.Instance != "") != (tc.status >= 500) {
				t.Errorf("instance %q: server errors, and only they, need one", p.Instance)
			}
		})
	}
	t.Run("a specific error wins over the infrastructure kind it also wraps", func(t *testing.T) {
		err := fmt.Errorf("%w: %w", backup.ErrStorage, backup.ErrAssetNotFound)
		if p := sphttp.ProblemFor(err); p.Code != sphttp.CodeNotFound {
			t.Errorf("got %s", p.Code)
		}
	})
	t.Run("a Problem passes through unchanged", func(t *testing.T) {
		in := &sphttp.Problem{Status: 418, Code: "teapot"}
		if out := sphttp.ProblemFor(fmt.Errorf("wrapped: %w", in)); out != in {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("each 500 gets its own instance", func(t *testing.T) {
		a, b := sphttp.ProblemFor(errors.New("x")), sphttp.ProblemFor(errors.New("x"))
		if a.Instance == b.Instance {
			t.Errorf("both are %s", a.Instance)
		}
	})
}

// TestHostConfiguration runs the adapter on huma's DefaultConfig, whose
// schema-link transformer rewraps error bodies, beside an operation of the
// host's own: our problems keep their codes, and the host's route is untouched.
func TestHostConfiguration(t *testing.T) {
	cfg := huma.DefaultConfig("host platform", "2.0.0")
	_, api := humatest.New(quietTB{t}, cfg)
	huma.Register(api, huma.Operation{
		OperationID: "host-thing", Method: http.MethodPost, Path: "/api/v1/things/{id}", Errors: []int{404},
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"3"`
		Body struct {
			N int `json:"n" minimum:"1"`
		}
	}) (*struct{}, error) {
		return nil, huma.Error404NotFound("no such thing")
	})
	w := newWorldOn(t, api)

	t.Run("huma's validation errors still carry invalid_input", func(t *testing.T) {
		rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, map[string]string{"name": strings.Repeat("n", 101)})
		problem(t, rec, 422, sphttp.CodeInvalidInput)
	})
	t.Run("our own problems carry their codes", func(t *testing.T) {
		problem(t, w.call(http.MethodGet, backupsURL(w.order, w.prov), bobToken, nil), 403, sphttp.CodeForbidden)
	})
	t.Run("successful responses work", func(t *testing.T) {
		if rec := w.call(http.MethodGet, backupsURL(w.order, w.prov), aliceToken, nil); rec.Code != 200 {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("NewConfig publishes no documentation routes on the host's router", func(t *testing.T) {
		mux := http.NewServeMux()
		humago.New(mux, sphttp.NewConfig("host platform", "2.0.0"))
		for _, path := range []string{"/docs", "/openapi.json", "/openapi.yaml", "/schemas/BackupView.json"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404 (nothing mounted without the host asking)", path, rec.Code)
			}
		}
	})
	t.Run("the host's own operations keep huma's error model", func(t *testing.T) {
		rec := api.Post("/api/v1/things/toolong", map[string]int{"n": 0})
		if rec.Code != 422 || strings.Contains(rec.Body.String(), `"code"`) {
			t.Errorf("the host's validation error changed: %d %s", rec.Code, rec.Body)
		}
		rec = api.Post("/api/v1/things/abc", map[string]int{"n": 1})
		if rec.Code != 404 || strings.Contains(rec.Body.String(), `"code"`) {
			t.Errorf("the host's error changed: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestReprovisionGuard shows the host's side of the guard: its own reprovision
// operation asks the service and maps the refusal with ProblemFor.
func TestReprovisionGuard(t *testing.T) {
	w := newWorld(t)
	huma.Register(w.api, huma.Operation{
		OperationID: "reprovision-order", Method: http.MethodPost, Path: "/api/v1/orders/{order_id}/reprovision",
		DefaultStatus: http.StatusAccepted,
	}, func(ctx context.Context, in *struct {
		OrderID string `path:"order_id"`
	}) (*struct{}, error) {
		if err := w.svc.EnsureNoActiveOperation(ctx, w.order); err != nil {
			return nil, sphttp.ProblemFor(err)
		}
		return nil, nil
	})
	path := "/api/v1/orders/" + w.order.String() + "/reprovision"

	release := w.sidecar.holdCreates()
	v := w.create("before reprovisioning")
	problem(t, w.api.Post(path), http.StatusConflict, sphttp.CodeBackupInProgress)
	release()
	w.waitFor(w.order, w.prov, v.ID, "ready")
	if rec := w.api.Post(path); rec.Code != http.StatusAccepted {
		t.Fatalf("reprovision after the backup finished: %d %s", rec.Code, rec.Body)
	}
}

// TestReprovisionFence shows the host's reprovision holding the order's fence:
// creates and restores answer 409 reprovisioning until it is released.
func TestReprovisionFence(t *testing.T) {
	w := newWorld(t)
	ready := w.seedReady(w.order, w.prov, w.alice, "before the rebuild")
	fence, err := w.svc.FenceOrder(context.Background(), w.order)
	if err != nil {
		t.Fatal(err)
	}
	problem(t, w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, nil), http.StatusConflict, sphttp.CodeReprovisioning)
	problem(t, w.call(http.MethodPost, backupURL(w.order, w.prov, ready.ID)+"/restore", aliceToken, nil), http.StatusConflict, sphttp.CodeReprovisioning)
	must(t, fence.Release(context.Background()))
	v := w.create("after the rebuild")
	w.waitFor(w.order, w.prov, v.ID, "ready")
}

func TestHumaServerErrorsAreScrubbed(t *testing.T) {
	w := newWorld(t)
	body := iotest.ErrReader(errors.New("disk on fire at 10.0.0.1"))
	rec := w.call(http.MethodPost, backupsURL(w.order, w.prov), aliceToken, body, "Content-Type: application/json")
	p := problem(t, rec, http.StatusInternalServerError, sphttp.CodeInternal)
	if strings.Contains(rec.Body.String(), "10.0.0.1") || len(p.Errors) != 0 {
		t.Errorf("huma's error detail reached the client: %s", rec.Body)
	}
	id := strings.TrimPrefix(p.Instance, "urn:uuid:")
	if logs := w.logs.String(); id == "" || strings.Count(logs, id) != 1 || !strings.Contains(logs, "disk on fire") {
		t.Errorf("the cause should be logged once with instance %q; logs:\n%s", id, logs)
	}
}

func TestAuthenticatorFailures(t *testing.T) {
	tests := []struct {
		name   string
		auth   sphttp.Authenticator
		status int
		code   sphttp.Code
	}{
		{"an authenticator that cannot decide is 500 internal", func(context.Context, http.Header) (ports.UserID, error) {
			return ports.UserID{}, errors.New("session store at 10.9.9.9 is down")
		}, 500, sphttp.CodeInternal},
		{"an authenticator that returns no user is 500 internal", func(context.Context, http.Header) (ports.UserID, error) {
			return ports.UserID{}, nil
		}, 500, sphttp.CodeInternal},
		{"a wrapped ErrBadCredentials is 401", func(context.Context, http.Header) (ports.UserID, error) {
			return ports.UserID{}, fmt.Errorf("cookie expired: %w", sphttp.ErrBadCredentials)
		}, 401, sphttp.CodeUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			_, api := humatest.New(quietTB{t})
			must(t, sphttp.Register(api, w.svc, sphttp.Options{Authenticate: tc.auth}))
			rec := api.Get(backupsURL(w.order, w.prov))
			problem(t, rec, tc.status, tc.code)
			if strings.Contains(rec.Body.String(), "10.9.9.9") {
				t.Errorf("the body leaks the cause: %s", rec.Body)
			}
		})
	}
	t.Run("the authenticator sees the request's headers", func(t *testing.T) {
		w := newWorld(t)
		_, api := humatest.New(quietTB{t})
		must(t, sphttp.Register(api, w.svc, sphttp.Options{Authenticate: func(_ context.Context, h http.Header) (ports.UserID, error) {
			if h.Get("Cookie") == "session=alice" {
				return w.alice, nil
			}
			return ports.UserID{}, sphttp.ErrNoCredentials
		}}))
		if rec := api.Get(backupsURL(w.order, w.prov), "Cookie: session=alice"); rec.Code != 200 {
			t.Fatalf("cookie login: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestRegisterRefusesBadArguments(t *testing.T) {
	w := newWorld(t)
	auth := sphttp.BearerAuth(func(context.Context, string) (ports.UserID, error) { return w.alice, nil })
	_, api := humatest.New(quietTB{t})
	for name, err := range map[string]error{
		"no service":       sphttp.Register(api, nil, sphttp.Options{Authenticate: auth}),
		"no authenticator": sphttp.Register(api, w.svc, sphttp.Options{}),
		"no API":           sphttp.Register(nil, w.svc, sphttp.Options{Authenticate: auth}),
	} {
		if err == nil {
			t.Errorf("%s: Register accepted it", name)
		}
	}
	must(t, sphttp.Register(api, w.svc, sphttp.Options{Authenticate: auth}))
	if err := sphttp.Register(api, w.svc, sphttp.Options{Authenticate: auth}); err == nil {
		t.Error("registering twice on one API should fail")
	}
}

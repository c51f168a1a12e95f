package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/samber/do/v2"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// webServer is the HTTP side: the backup API, the demo's own routes, health
// checks and the dashboard.
type webServer struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// readyCheck is how /readyz asks the injector about every service.
type readyCheck func(ctx context.Context) map[string]error

func newWebServer(i do.Injector) (*webServer, error) {
	cfg := do.MustInvoke[config](i)
	log := do.MustInvoke[*slog.Logger](i)
	svc, err := do.Invoke[*backup.Service](i)
	if err != nil {
		return nil, err
	}
	cat, err := do.Invoke[catalog](i)
	if err != nil {
		return nil, err
	}
	toks := do.MustInvoke[tokens](i)
	ready := do.MustInvoke[readyCheck](i)

	mux := http.NewServeMux()
	// The library mounts no documentation routes; this server publishes them, as
	// the API is public here and its description helps people try it.
	hcfg := sphttp.NewConfig("savepoint example server", sphttp.APIVersion)
	hcfg.OpenAPIPath, hcfg.DocsPath, hcfg.SchemasPath = "/openapi", "/docs", "/schemas"
	api := humago.New(mux, hcfg)
	auth := sphttp.BearerAuth(toks.verify)
	if err := sphttp.Register(api, svc, sphttp.Options{Authenticate: auth, Logger: log.With("component", "http")}); err != nil {
		return nil, err
	}
	d := &demoRoutes{svc: svc, cat: cat, auth: auth, orders: demoOrders(cfg.DemoOrders), log: log, rebuildTime: cfg.ReprovisionTime}
	mux.HandleFunc("GET /api/v1/demo", d.demo)
	mux.HandleFunc("POST /api/v1/orders/{order_id}/reprovision", d.reprovision)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		failing := map[string]string{}
		for name, err := range ready(ctx) {
			if err != nil {
				failing[name] = "unhealthy" // causes go to the log, not to anonymous callers
				log.Warn("readiness check failed", "service", name, "err", err)
			}
		}
		if len(failing) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": failing})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if st, err := os.Stat(cfg.Dashboard); err == nil && st.IsDir() {
		mux.Handle("GET /", dashboard(cfg.Dashboard))
		log.Info("serving the dashboard", "dir", cfg.Dashboard)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: accessLog(log, mux),
		// Slow or stalled clients must not hold connections forever (-read-header-timeout,
		// -read-timeout, -idle-timeout). Writes are not bounded: a multi-GB download
		// to a slow link is legitimate.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &webServer{srv: srv, ln: ln, log: log}, nil
}

// URL is where the server listens.
func (w *webServer) URL() string { return "http://" + w.ln.Addr().String() }

// Serve answers requests until Shutdown.
func (w *webServer) Serve() error {
	if err := w.srv.Serve(w.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting requests and waits for those in flight.
func (w *webServer) Shutdown(ctx context.Context) error { return w.srv.Shutdown(ctx) }

// demoRoutes are the example server's own endpoints, beside the library's API.
type demoRoutes struct {
	svc    *backup.Service
	cat    catalog
	auth   sphttp.Authenticator
	orders []demoOrder
	log    *slog.Logger
	// rebuildTime is how long a pretend reprovision holds the order's fence.
	rebuildTime time.Duration
}

// demo tells the dashboard page which order to show: the caller's own orders
// (the demo user's for the support user, who owns none).
func (d *demoRoutes) demo(w http.ResponseWriter, r *http.Request) {
	user, err := d.auth(r.Context(), r.Header)
	if err != nil {
		d.problem(w, err)
		return
	}
	orders := d.orders
	if user == otherUserID {
		orders = []demoOrder{otherOrder}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id": user, "order_id": orders[0].OrderID, "provision_id": orders[0].ProvisionID,
		"orders": orders,
	})
}

// reprovision plays the host's reprovision flow: it takes the order's fence
// (409 backup_in_progress while a backup or restore runs), answers 202, and holds
// the fence while it pretends to rebuild the server for -reprovision-time, during
// which creates and restores answer 409 reprovisioning. Reprovisioning changes the
// order, so only its owner may: ViewAllOrders lets support staff look, not
// rebuild a customer's server (403 forbidden).
func (d *demoRoutes) reprovision(w http.ResponseWriter, r *http.Request) {
	user, err := d.auth(r.Context(), r.Header)
	if err != nil {
		d.problem(w, err)
		return
	}
	orderID, err := ports.ParseOrderID(r.PathValue("order_id"))
	if err != nil {
		d.invalidInput(w, "path.order_id", r.PathValue("order_id"))
		return
	}
	order, err := d.cat.GetOrder(r.Context(), orderID)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		d.problem(w, backup.ErrOrderNotFound)
		return
	case err != nil:
		d.problem(w, err)
		return
	case order.OwnerID != user:
		d.problem(w, backup.ErrUnauthorized)
		return
	}
	fence, err := d.svc.FenceOrder(r.Context(), orderID)
	if err != nil {
		d.problem(w, err)
		return
	}
	rebuild := func() {
		select {
		case <-time.After(d.rebuildTime):
		case <-fence.Lost():
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := fence.Release(ctx); err != nil {
			d.log.Warn("releasing the reprovision fence failed; it expires on its own", "order_id", orderID, "err", err)
		}
	}
	if d.rebuildTime > 0 {
		go rebuild()
	} else {
		rebuild() // an instant rebuild: the order is free again when the answer arrives
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "reprovisioning"})
}

// problem answers with the library's problem for err, and the headers err
// carries (BearerAuth's WWW-Authenticate challenge).
func (d *demoRoutes) problem(w http.ResponseWriter, err error) {
	p := sphttp.ProblemFor(err)
	if p.Status >= 500 {
		d.log.Error("request failed", "instance", p.Instance, "err", err)
	}
	var he huma.HeadersError
	if errors.As(err, &he) {
		for name, values := range he.GetHeaders() {
			for _, v := range values {
				w.Header().Add(name, v)
			}
		}
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="savepoint"`)
	}
	writeProblem(w, p)
}

// invalidInput answers 422 invalid_input for a malformed ID, in the shape the
// library gives its own validation errors. The error table has no sentinel for
// it, and ProblemFor would turn the parse error into a 500.
func (d *demoRoutes) invalidInput(w http.ResponseWriter, location, value string) {
	writeProblem(w, &sphttp.Problem{
		Type:   "urn:savepoint:problem:" + string(sphttp.CodeInvalidInput),
		Title:  "Invalid input",
		Status: http.StatusUnprocessableEntity,
		Detail: "validation failed",
		Code:   sphttp.CodeInvalidInput,
		Errors: []*huma.ErrorDetail{{
			Message:  "expected a UUID in canonical form, like 0190d3c4-7d4e-7c1a-9b1e-3f5c2a6b7d8e",
			Location: location, Value: value,
		}},
	})
}

func writeProblem(w http.ResponseWriter, p *sphttp.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p) // the client may be gone; nobody is left to tell
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// dashboard serves the built single-page app; unknown paths get index.html so
// client-side routes survive a reload.
func dashboard(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			http.NotFound(w, r)
			return
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))); err != nil {
			http.ServeFile(w, r, filepath.Join(dir, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs one line per request: never headers, so no tokens.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Info("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}

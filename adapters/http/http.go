package http

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup"
)

// APIVersion is the version of the HTTP API in the OpenAPI document. The major
// version is also the /api/v1 path prefix.
const APIVersion = "1.0.0"

// SecurityScheme is the name of the bearer-token security scheme that Register
// adds to the OpenAPI document and requires on every operation.
const SecurityScheme = "bearer"

// The limits on request bodies. Creating a backup takes at most a name of 100
// characters and the exclude patterns; anything much larger is not a real
// client.
const createBodyLimit = 4<<10 + excludesBodyLimit

// excludesBodyLimit is what the largest valid set of exclude patterns takes in
// JSON: every pattern at its longest, each byte escaped (\" or \\), with its
// quotes and comma.
const excludesBodyLimit = maxExcludes * (2*maxExcludeLength + 3)

// Options configure Register.
type Options struct {
	// Authenticate identifies the caller of every request. Required; see
	// Authenticator and BearerAuth.
	Authenticate Authenticator
	// Logger receives one record for each request whose cause the client is not
	// told (every 5xx), with the problem's instance ID. Default: discard.
	Logger *slog.Logger
}

// handlers serves the operations; it holds no per-request state.
type handlers struct {
	svc  service
	auth Authenticator
	log  *slog.Logger
}

// Register adds the backup, schedule and download operations to api, which the host
// created on its own router (humago, humachi, …; NewConfig gives suitable
// defaults). The operations live under /api/v1 and are listed in the package
// documentation. Every operation authenticates with opts.Authenticate before it
// reads its input, and every error response is a Problem with a stable code,
// including huma's own validation errors. Registering twice on one API fails.
func Register(api huma.API, svc *backup.Service, opts Options) error {
	if api == nil {
		return errors.New("savepoint http: Register needs a huma.API")
	}
	if svc == nil {
		return errors.New("savepoint http: Register needs a *backup.Service")
	}
	if opts.Authenticate == nil {
		return errors.New("savepoint http: Options.Authenticate is required")
	}
	return register(api, svc, opts)
}

// register is Register without the checks, so that OpenAPI can describe the
// operations without a service to call.
func register(api huma.API, svc service, opts Options) (err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &handlers{svc: svc, auth: opts.Authenticate, log: log}

	oapi := api.OpenAPI()
	for _, item := range oapi.Paths {
		if item != nil && item.Get != nil && item.Get.OperationID == opListBackups {
			return errors.New("savepoint http: the backup operations are already registered on this API")
		}
	}
	// huma reports registration mistakes (a route the router refuses, say) by
	// panicking; a host calling Register at start-up gets an error instead.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("savepoint http: registering operations: %v", r)
		}
	}()

	addSecurityScheme(oapi)
	addTags(oapi)

	grp := huma.NewGroup(api)
	grp.UseMiddleware(h.authenticate)
	grp.UseTransformer(problemTransformer(log))
	registerBackups(grp, h)
	registerSchedules(grp, h)
	registerDownload(grp, h)
	registerActivity(grp, h)
	return nil
}

func addSecurityScheme(oapi *huma.OpenAPI) {
	if oapi.Components == nil {
		oapi.Components = &huma.Components{}
	}
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	if _, ok := oapi.Components.SecuritySchemes[SecurityScheme]; !ok {
		oapi.Components.SecuritySchemes[SecurityScheme] = &huma.SecurityScheme{
			Type:        "http",
			Scheme:      "bearer",
			Description: "A token issued by the host platform: Authorization: Bearer <token>.",
		}
	}
}

const (
	tagBackups   = "Backups"
	tagSchedules = "Schedules"
	tagAssets    = "Assets"
	tagActivity  = "Activity"
)

func addTags(oapi *huma.OpenAPI) {
	for _, t := range []*huma.Tag{
		{Name: tagBackups, Description: "Backups of a game server's data: create, list, restore and delete. " +
			"Creates and restores run in the background; poll the backup until its status is ready or failed."},
		{Name: tagSchedules, Description: "A game server's backup schedule: when backups are made, how they are named, " +
			"and which are kept. Each run's outcome is recorded on the schedule."},
		{Name: tagAssets, Description: "Downloadable files, such as the archive of a ready backup."},
		{Name: tagActivity, Description: "What happened to an order's backups, newest first: each create, restore, " +
			"lock, unlock and delete, each schedule run that made no backup, and who caused it."},
	} {
		if !slices.ContainsFunc(oapi.Tags, func(have *huma.Tag) bool { return have.Name == t.Name }) {
			oapi.Tags = append(oapi.Tags, t)
		}
	}
}

// security is the requirement every operation declares.
func security() []map[string][]string { return []map[string][]string{{SecurityScheme: {}}} }

// problemResponses documents the error responses of an operation: for each
// status, which codes it can carry, with the Problem schema. 401 and 500 are
// possible everywhere and always included; hasBody adds huma's 400 (malformed
// JSON) and 413 (body too large), both invalid_input.
func problemResponses(reg huma.Registry, hasBody bool, codes ...Code) map[string]*huma.Response {
	schema := reg.Schema(reflect.TypeFor[Problem](), true, "Problem")
	byStatus := map[int][]Code{}
	add := func(status int, c Code) {
		if !slices.Contains(byStatus[status], c) {
			byStatus[status] = append(byStatus[status], c)
		}
	}
	add(http.StatusUnauthorized, CodeUnauthenticated)
	add(http.StatusInternalServerError, CodeInternal)
	for _, c := range codes {
		if c == CodeInvalidInput {
			add(http.StatusUnprocessableEntity, c)
			if hasBody {
				add(http.StatusBadRequest, c)
				add(http.StatusRequestEntityTooLarge, c)
			}
			continue
		}
		for _, row := range errorTable {
			if row.code == c {
				add(row.status, c)
			}
		}
	}
	out := map[string]*huma.Response{}
	for status, cs := range byStatus {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = "`" + string(c) + "`"
		}
		out[strconv.Itoa(status)] = &huma.Response{
			Description: http.StatusText(status) + ": code " + strings.Join(names, " or ") + ".",
			Content:     map[string]*huma.MediaType{"application/problem+json": {Schema: schema}},
		}
	}
	return out
}

// NewConfig returns huma's default configuration without its schema-link
// transformer, so responses carry no $schema field and the OpenAPI document has
// no $schema properties: the shape openapi.yaml describes and the dashboard's
// generated types expect. It also mounts no documentation routes (/docs,
// /openapi.json, /schemas): huma would serve them on the host's router without
// authentication, so publishing them is the host's decision (set OpenAPIPath,
// DocsPath and SchemasPath). Hosts may use any configuration; this one is the
// reference.
func NewConfig(title, version string) huma.Config {
	cfg := huma.DefaultConfig(title, version)
	cfg.CreateHooks = nil
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	return cfg
}

// OpenAPI returns the OpenAPI 3.1 document of the operations Register adds, on
// an API built with NewConfig: the document committed as openapi.yaml, from which
// the dashboard's types are generated.
func OpenAPI() (*huma.OpenAPI, error) {
	cfg := NewConfig("savepoint", APIVersion)
	cfg.Info.Description = "Backups of game-server data: create, list, download, restore and delete. " +
		"Every error is an RFC 9457 problem (application/problem+json) with a stable `code`."
	api := huma.NewAPI(cfg, docAdapter{})
	if err := register(api, nil, Options{}); err != nil {
		return nil, err
	}
	doc := api.OpenAPI()
	// huma adds its own ErrorModel schema for every operation even when, as here,
	// no response refers to it; left in, it would offer clients a second,
	// wrong error type beside Problem.
	delete(doc.Components.Schemas.Map(), "ErrorModel")
	return doc, nil
}

// OpenAPIYAML is OpenAPI as the YAML committed at the repository root, with a
// header saying how to regenerate it. The output is deterministic.
func OpenAPIYAML() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	body, err := doc.YAML()
	if err != nil {
		return nil, fmt.Errorf("savepoint http: rendering the OpenAPI document: %w", err)
	}
	header := "# Code generated by `go generate ./adapters/http` (make generate) from adapters/http. DO NOT EDIT.\n"
	return append([]byte(header), body...), nil
}

// docAdapter routes nothing: OpenAPI only needs the operations' description.
type docAdapter struct{}

func (docAdapter) Handle(*huma.Operation, func(huma.Context)) {}

func (docAdapter) ServeHTTP(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

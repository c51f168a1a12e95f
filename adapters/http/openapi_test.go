package http_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
)

// TestCommittedOpenAPIIsCurrent fails when openapi.yaml at the repository root
// no longer matches the operations: the dashboard's types are generated from it.
func TestCommittedOpenAPIIsCurrent(t *testing.T) {
	want, err := sphttp.OpenAPIYAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "openapi.yaml")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the committed document: %v (run `make generate` and commit openapi.yaml)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: the API changed. Run `make generate` (or `go generate ./adapters/http`) and commit openapi.yaml.\n%s",
			path, firstDifference(string(got), string(want)))
	}
}

func TestOpenAPIIsDeterministic(t *testing.T) {
	first, err := sphttp.OpenAPIYAML()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := sphttp.OpenAPIYAML()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two generations differ:\n%s", firstDifference(string(first), string(again)))
		}
	}
}

func TestOpenAPIDescribesEveryOperation(t *testing.T) {
	doc, err := sphttp.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("OpenAPI version %s, want 3.1.0", doc.OpenAPI)
	}
	if s := doc.Components.SecuritySchemes[sphttp.SecurityScheme]; s == nil || s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("missing bearer security scheme: %+v", s)
	}
	problem := doc.Components.Schemas.Map()["Problem"]
	if problem == nil || problem.Properties["code"] == nil || len(problem.Properties["code"].Enum) < 13 {
		t.Fatalf("the Problem schema should list every code: %+v", problem)
	}
	if _, ok := doc.Components.Schemas.Map()["ErrorModel"]; ok {
		t.Error("huma's unused ErrorModel should not be offered to clients")
	}
	want := map[string]string{
		"list-backups":   "GET /api/v1/orders/{order_id}/provisions/{provision_id}/backups",
		"create-backup":  "POST /api/v1/orders/{order_id}/provisions/{provision_id}/backups",
		"get-backup":     "GET /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}",
		"delete-backup":  "DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}",
		"restore-backup": "POST /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/restore",
		"lock-backup":    "PUT /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/lock",
		"unlock-backup":  "DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/lock",
		"download-asset": "GET /api/v1/assets/{asset_id}",

		"get-schedule":       "GET /api/v1/orders/{order_id}/provisions/{provision_id}/schedule",
		"put-schedule":       "PUT /api/v1/orders/{order_id}/provisions/{provision_id}/schedule",
		"delete-schedule":    "DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/schedule",
		"list-schedule-runs": "GET /api/v1/orders/{order_id}/provisions/{provision_id}/schedule/runs",

		"list-activity": "GET /api/v1/orders/{order_id}/activity",
	}
	seen := map[string]bool{}
	for path, item := range doc.Paths {
		for _, m := range []struct {
			method string
			op     *huma.Operation
		}{{"GET", item.Get}, {"POST", item.Post}, {"DELETE", item.Delete}, {"PUT", item.Put}, {"PATCH", item.Patch}} {
			if m.op == nil {
				continue
			}
			id := m.op.OperationID
			seen[id] = true
			if want[id] != m.method+" "+path {
				t.Errorf("%s is %s %s, want %s", id, m.method, path, want[id])
			}
			if len(m.op.Tags) == 0 || m.op.Summary == "" || m.op.Description == "" || len(m.op.Security) == 0 {
				t.Errorf("%s lacks tags, summary, description or security", id)
			}
			for status, resp := range m.op.Responses {
				if status >= "400" && resp.Content["application/problem+json"] == nil {
					t.Errorf("%s: the %s response is not a problem", id, status)
				}
			}
			for _, must := range []string{"401", "500"} {
				if m.op.Responses[must] == nil {
					t.Errorf("%s does not document %s", id, must)
				}
			}
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("operation %s is missing", id)
		}
	}
}

// firstDifference shows the first differing line, so a stale file is easy to
// understand from the test output alone.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n  committed: " + x + "\n  generated: " + y
		}
	}
	return "the files differ only in length"
}

// Command openapigen writes the OpenAPI document of the savepoint HTTP API
// (adapters/http) as YAML. `go generate ./adapters/http` runs it to refresh the
// committed openapi.yaml at the repository root.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	sphttp "github.com/savepoint-dev/savepoint/adapters/http"
)

func main() {
	out := flag.String("o", "openapi.yaml", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	doc, err := sphttp.OpenAPIYAML()
	if err != nil {
		return err
	}
	// Leave the file alone when nothing changed, so its timestamp means something.
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, doc) {
		return nil
	}
	return os.WriteFile(out, doc, 0o644)
}

package http

// openapi.yaml at the repository root is generated from this package's
// operations; a test fails when the committed file is stale.
//go:generate go run ./internal/openapigen -o ../../openapi.yaml

package sidecar

// The protoc plugins are pinned by go.mod's tool directive; `go tool -n` prints where
// the build cache keeps them, so a fresh machine needs only protoc itself
// (scripts/install-protoc.sh).
//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=sidecarpb --go_opt=paths=source_relative --go-grpc_out=sidecarpb --go-grpc_opt=paths=source_relative fileio.proto"

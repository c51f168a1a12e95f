// Package sidecarpb is the FileIO protocol between the backup service and the
// sidecar in a game-server pod: the gRPC service of fileio.proto (package
// savepoint.sidecar.v1), its generated Go code, and the few values both ends
// must agree on. The client (adapters/sidecar) and the server
// (adapters/sidecar/server) both import it and neither imports the other.
//
// Paths are absolute paths in the pod. Every call except the standard gRPC health
// service carries the pod's shared secret as `authorization: Bearer <secret>`
// metadata.
package sidecarpb

// The protoc plugins are pinned by go.mod's tool directive; `go tool -n` prints where
// the build cache keeps them, so a fresh machine needs only protoc itself
// (scripts/install-protoc.sh).
//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative fileio.proto"

const (
	// ServiceName is the FileIO service's full name, also the name the standard
	// gRPC health service reports its health under: the server sets it, the client
	// checks it before its first call.
	ServiceName = "savepoint.sidecar.v1.FileIO"
	// DefaultChunkSize is the size of the data messages streams carry: big enough to
	// amortise per-message costs, small enough that memory stays flat. Just under
	// 1 MiB because gRPC marshals each message into a buffer from its pool, whose
	// tiers above 32 KiB are 1 MiB and are zeroed whole on reuse: a message that
	// nearly fills its buffer pays for little clearing it does not use.
	DefaultChunkSize = 1<<20 - 64
	// MaxChunkSize keeps every message well under gRPC's default 4 MiB limit; both
	// ends accept messages this large plus room for the framing fields.
	MaxChunkSize = 3 << 20
	// TransferBufferSize is each end's buffer for reading and writing a
	// connection: a few chunks' worth moved per system call rather than the
	// 32 KiB of gRPC's default, which on a 1 GiB restore meant tens of
	// thousands of reads and writes a side.
	TransferBufferSize = 1 << 20
	// StreamWindowSize is each end's fixed HTTP/2 flow-control window per
	// stream (twice that per connection): several chunks in flight, so that a
	// window update in transit never stalls the sender. A fixed window also
	// turns off gRPC's window estimation, which on loopback keeps it small.
	StreamWindowSize = 8 << 20
)

// The reasons of the google.rpc.ErrorInfo detail some failures carry, in
// ErrorDomain, so that the client tells them apart from other failures with
// the same status code. Their "detail" metadata is a message a customer may
// read: it never names a path in the pod.
const (
	ErrorDomain = "sidecar.savepoint.dev"
	// ReasonQuiesceFailed: an archive required the game's writes paused and they
	// could not be (FailedPrecondition); nothing was archived.
	ReasonQuiesceFailed = "QUIESCE_FAILED"
	// ReasonInvalidExcludes: an archive's exclude patterns, its request's or
	// its source's ignore file's, break a limit or are not valid syntax
	// (InvalidArgument); nothing was archived.
	ReasonInvalidExcludes = "INVALID_EXCLUDES"
)

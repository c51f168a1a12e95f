// Package sidecar is the client of the FileIO sidecar, the gRPC server that runs in
// each game-server pod beside the game server (package server, below this one) and
// is the only thing that touches the customer's files. A host imports this package
// so that the backup service can reach its sidecars: it implements
// ports.SidecarDialer and ports.FileIO. The protocol is package sidecarpb; this
// package compiles neither the server nor its archive code.
//
// Dialer implements ports.SidecarDialer: the host supplies a Resolver that returns a
// sidecar provision's address and secret, and Package registers the Dialer in a
// samber/do injector. The Client it returns implements ports.FileIO; its Dirs are
// the ones the Resolver put in the Endpoint (where this game server's data and
// scratch directories are, when they are not the service's defaults). Every error
// wraps ports.ErrCluster with a *RemoteError carrying the sidecar's status code and
// message; StreamArchive's stream reports the archive once read to its end, and
// StreamArchive returns ports.ErrUnsupported when the sidecar does not implement it
// (a sidecar that predates it, or one whose server.Options.DisableStreamArchive is
// set to exercise the fallback). Reads and writes stream through io.Reader and
// io.ReadCloser one chunk at a time; received chunks are decoded into one reused
// buffer per call.
package sidecar

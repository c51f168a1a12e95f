package sidecar

import (
	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Package registers a *Dialer that finds sidecars with resolve in a samber/do
// injector, and the same dialer as ports.SidecarDialer.
//
//	injector := do.New(sidecar.Package(resolve, sidecar.ClientOptions{}))
//	dialer := do.MustInvoke[ports.SidecarDialer](injector)
func Package(resolve Resolver, opts ClientOptions) func(do.Injector) {
	return do.Package(
		do.Lazy(func(do.Injector) (*Dialer, error) { return NewDialer(resolve, opts) }),
		do.Lazy(func(i do.Injector) (ports.SidecarDialer, error) { return do.Invoke[*Dialer](i) }),
	)
}

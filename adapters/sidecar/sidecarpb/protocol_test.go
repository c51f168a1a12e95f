package sidecarpb_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// The health service is asked about ServiceName, so it must be the name gRPC
// registers the service under.
func TestServiceNameIsTheGeneratedOne(t *testing.T) {
	if got := sidecarpb.FileIO_ServiceDesc.ServiceName; got != sidecarpb.ServiceName {
		t.Fatalf("ServiceName %q, the generated service is %q", sidecarpb.ServiceName, got)
	}
}

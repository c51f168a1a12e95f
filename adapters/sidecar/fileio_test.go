package sidecar_test

import (
	"testing"

	"github.com/savepoint-dev/savepoint/adapters/sidecar"
	"github.com/savepoint-dev/savepoint/backup/ports"
	"github.com/savepoint-dev/savepoint/backup/ports/portstest"
)

func TestFileIOContract(t *testing.T) {
	portstest.RunFileIOTests(t, func(t *testing.T) (ports.FileIO, string) {
		srv := startServer(t, sidecar.Options{})
		return srv.client(t), srv.mkdir(t, "scratch")
	})
}

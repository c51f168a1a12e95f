package backup_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports/portsmock"
)

func TestOptionsValidate(t *testing.T) {
	valid := []struct {
		name string
		opts backup.Options
	}{
		{"the zero value means the defaults", backup.Options{}},
		{"short intervals for tests", backup.Options{HeartbeatInterval: time.Millisecond, StaleAfter: 10 * time.Millisecond, RecoveryInterval: time.Millisecond}},
		{"a custom limit, concurrency and directories", backup.Options{MaxBackupsPerProvision: 3, MaxConcurrentOperations: 1, DataDir: "/srv/game", TempDir: "/var/tmp"}},
		{"a stale timeout just above the default heartbeat", backup.Options{StaleAfter: 16 * time.Second}},
	}
	for _, tc := range valid {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			if err := tc.opts.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}

	invalid := []struct {
		name    string
		opts    backup.Options
		mention string
	}{
		{"a negative backup limit", backup.Options{MaxBackupsPerProvision: -1}, "MaxBackupsPerProvision"},
		{"a negative concurrency", backup.Options{MaxConcurrentOperations: -2}, "MaxConcurrentOperations"},
		{"a negative heartbeat interval", backup.Options{HeartbeatInterval: -time.Second}, "HeartbeatInterval"},
		{"a negative operation timeout", backup.Options{OperationTimeout: -time.Second}, "OperationTimeout"},
		{"a negative cleanup timeout", backup.Options{CleanupTimeout: -time.Second}, "CleanupTimeout"},
		{"a negative recovery interval", backup.Options{RecoveryInterval: -time.Second}, "RecoveryInterval"},
		{"a stale timeout equal to the heartbeat interval", backup.Options{HeartbeatInterval: time.Minute, StaleAfter: time.Minute}, "StaleAfter"},
		{"a stale timeout below the default heartbeat interval", backup.Options{StaleAfter: 10 * time.Second}, "StaleAfter"},
		{"a stale timeout so short that the derived recovery interval is zero", backup.Options{HeartbeatInterval: time.Nanosecond, StaleAfter: 3 * time.Nanosecond}, "RecoveryInterval"},
		{"a relative data directory", backup.Options{DataDir: "data"}, "DataDir"},
		{"a relative temp directory", backup.Options{TempDir: "tmp"}, "TempDir"},
	}
	for _, tc := range invalid {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error %q should name %s", err, tc.mention)
			}
		})
	}

	t.Run("reports every problem at once", func(t *testing.T) {
		err := backup.Options{MaxBackupsPerProvision: -1, DataDir: "data", TempDir: "tmp"}.Validate()
		for _, want := range []string{"MaxBackupsPerProvision", "DataDir", "TempDir"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v should name %s", err, want)
			}
		}
	})
}

func TestNewService(t *testing.T) {
	ctrl := gomock.NewController(t)
	all := func() backup.Deps {
		return backup.Deps{
			Repository: portsmock.NewMockRepository(ctrl), Orders: portsmock.NewMockOrders(ctrl),
			Permissions: portsmock.NewMockPermissions(ctrl), Assets: portsmock.NewMockAssets(ctrl),
			Objects: portsmock.NewMockObjectStore(ctrl), Sidecars: portsmock.NewMockSidecarDialer(ctrl),
		}
	}
	missing := map[string]func(*backup.Deps){
		"Repository":  func(d *backup.Deps) { d.Repository = nil },
		"Orders":      func(d *backup.Deps) { d.Orders = nil },
		"Permissions": func(d *backup.Deps) { d.Permissions = nil },
		"Assets":      func(d *backup.Deps) { d.Assets = nil },
		"Objects":     func(d *backup.Deps) { d.Objects = nil },
		"Sidecars":    func(d *backup.Deps) { d.Sidecars = nil },
	}
	for field, drop := range missing {
		t.Run("refuses a nil "+field, func(t *testing.T) {
			deps := all()
			drop(&deps)
			svc, err := backup.NewService(deps, backup.Options{})
			if err == nil || svc != nil {
				t.Fatalf("NewService = %v, %v; want an error", svc, err)
			}
			if !strings.Contains(err.Error(), "Deps."+field) {
				t.Fatalf("error %q should name Deps.%s", err, field)
			}
		})
	}
	t.Run("names every missing dependency", func(t *testing.T) {
		_, err := backup.NewService(backup.Deps{}, backup.Options{})
		for field := range missing {
			if err == nil || !strings.Contains(err.Error(), "Deps."+field) {
				t.Errorf("error %v should name Deps.%s", err, field)
			}
		}
	})
	t.Run("refuses invalid options", func(t *testing.T) {
		svc, err := backup.NewService(all(), backup.Options{DataDir: "relative"})
		if err == nil || svc != nil || !strings.Contains(err.Error(), "DataDir") {
			t.Fatalf("NewService = %v, %v; want an error naming DataDir", svc, err)
		}
	})
	t.Run("builds a service from complete deps and zero options", func(t *testing.T) {
		svc, err := backup.NewService(all(), backup.Options{})
		if err != nil || svc == nil {
			t.Fatalf("NewService = %v, %v", svc, err)
		}
		if err := svc.Shutdown(t.Context()); err != nil {
			t.Fatalf("Shutdown of an idle service: %v", err)
		}
	})
}

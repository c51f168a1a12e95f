package webhook_test

import (
	"testing"

	"github.com/samber/do/v2"

	"github.com/savepoint-dev/savepoint/adapters/webhook"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// TestPackage: the injector's dispatcher is started when invoked, with new
// endpoints already placed, so the first event recorded after the invoke is
// delivered and the history before it is not; Shutdown stops it.
func TestPackage(t *testing.T) {
	t.Parallel()
	log, rcv := &memLog{}, newReceiver(t)
	backupEvents(log, ports.NewOrderID(), "history")
	ep := rcv.Endpoint("ep")
	ep.Backfill = false
	i := do.New()
	do.ProvideValue[ports.ActivityLog](i, log)
	do.ProvideValue[ports.WebhookEndpoints](i, webhook.Static(ep))
	do.ProvideValue[ports.WebhookCursors](i, newMemCursors())
	webhook.Package(testOptions())(i)
	do.MustInvoke[*webhook.Dispatcher](i)

	first := log.add(ports.Activity{Type: ports.ActivityBackupCreated, OrderID: ports.NewOrderID(), ProvisionID: ports.NewProvisionID(),
		BackupID: ports.NewBackupID(), Actor: ports.SystemActor})
	wantIDs(t, "after the invoke", rcv.WaitAccepted(1, waitTimeout), []ports.Activity{first})
	if report := i.Shutdown(); report != nil && !report.Succeed {
		t.Fatalf("Shutdown: %v", report.Error())
	}
}

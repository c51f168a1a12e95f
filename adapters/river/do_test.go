package spriver_test

import (
	"context"
	"testing"
	"time"

	"github.com/samber/do/v2"

	spriver "github.com/savepoint-dev/savepoint/adapters/river"
)

func TestPackage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.schedule(time.Minute)
	slot := epoch.Truncate(time.Minute).Add(time.Minute)

	injector := do.New(spriver.Package(e.opts("r0")))
	do.ProvideValue(injector, e.pool(5))
	do.ProvideValue[spriver.Scheduler](injector, &fakeScheduler{db: e.db, replica: "r0"})
	if _, err := do.Invoke[*spriver.Runner](injector); err != nil {
		t.Fatalf("invoking the Runner: %v", err)
	}
	e.setClock(slot)
	e.waitFor(time.Minute, "the Runner the injector started to run the slot", func() bool {
		return ranOnce(e.calls(id, slot))
	})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if report := injector.ShutdownWithContext(ctx); report != nil && !report.Succeed {
		t.Fatalf("shutting the injector down: %v", report)
	}
}

package backup_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// request is one call of the service: who asks, about which order, provision
// and backup, and the name a create gives. Refusal cases change one part of it.
type request struct {
	user      ports.UserID
	order     ports.OrderID
	provision ports.ProvisionID
	backup    ports.BackupID
	name      string
}

// request is the owner's call about the twin's game server and backup b.
func (tw *twin) request(b ports.Backup) request {
	return request{user: tw.owner, order: tw.order.ID, provision: tw.gameServer.ID, backup: b.ID, name: "nightly"}
}

// errorCase is one way a synchronous call is refused: setup breaks the twin or
// the request, and the call must answer want.
type errorCase struct {
	name  string
	setup func(tw *twin, r *request)
	want  error
	// infra: want is an infrastructure kind and errInfra must be kept as the
	// cause; otherwise want is a domain error that must not be wrapped as one.
	infra bool
}

func (tc errorCase) check(t *testing.T, err error) {
	t.Helper()
	assertIs(t, err, tc.want)
	if tc.infra {
		assertIs(t, err, errInfra)
	} else {
		assertNotInfra(t, err)
	}
}

// refused runs each case on a twin of its own, calling the service with the
// request prepare builds and the case then breaks. A refused call returns
// nothing; after, when set, checks what the twin holds afterwards.
func refused(t *testing.T, cases []errorCase, prepare func(tw *twin) request, call func(tw *twin, r request) (any, error), after func(t *testing.T, tw *twin, r request)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTwin(t)
			r := prepare(tw)
			tc.setup(tw, &r)
			got, err := call(tw, r)
			tc.check(t, err)
			if v := reflect.ValueOf(got); got != nil && !v.IsZero() {
				t.Fatalf("a refused call returned %+v", got)
			}
			if after != nil {
				after(t, tw, r)
			}
		})
	}
}

// failing makes the port's method fail with errInfra.
func failing(method string) func(tw *twin, r *request) {
	return func(tw *twin, _ *request) { tw.inject(method, fault{err: errInfra}) }
}

// elsewhere points the request at another order of the owner that has no
// sidecar, and a backup of its game server in the given status (none if empty).
func elsewhere(tw *twin, r *request, status ports.Status) {
	o, gs := tw.otherOrder(tw.owner, false)
	r.order, r.provision, r.backup = o.ID, gs.ID, ports.NewBackupID()
	if status != "" {
		r.backup = tw.recordFor(o.ID, gs.ID, status).ID
	}
}

// authErrorCases are the refusals every method that takes an order and a
// provision shares. The checks run in this order: the order exists, the caller
// owns it or may view all orders, the provision is the order's primary
// deployment.
func authErrorCases() []errorCase {
	return []errorCase{
		{name: "reports an order that does not exist", want: backup.ErrOrderNotFound,
			setup: func(_ *twin, r *request) { r.order = ports.NewOrderID() }},
		{name: "wraps a failing order lookup as a database error", setup: failing("Orders.GetOrder"), want: backup.ErrDatabase, infra: true},
		{name: "refuses a caller who neither owns the order nor may view all orders", want: backup.ErrUnauthorized,
			setup: func(tw *twin, r *request) { r.user = tw.stranger }},
		{name: "wraps a failing permission check as a database error", want: backup.ErrDatabase, infra: true,
			setup: func(tw *twin, r *request) { r.user = tw.stranger; failing("Permissions.CanViewAllOrders")(tw, r) }},
		{name: "reports a provision that does not exist", want: backup.ErrProvisionNotFound,
			setup: func(_ *twin, r *request) { r.provision = ports.NewProvisionID() }},
		{name: "wraps a failing provision lookup as a database error", setup: failing("Orders.GetProvision"), want: backup.ErrDatabase, infra: true},
		{name: "hides a provision that belongs to another order", want: backup.ErrProvisionNotFound,
			setup: func(tw *twin, r *request) { _, gs := tw.otherOrder(tw.owner, true); r.provision = gs.ID }},
		{name: "refuses a provision that is not a deployment", want: backup.ErrProvisionNotFound,
			setup: func(tw *twin, r *request) {
				db := ports.Provision{ID: ports.NewProvisionID(), OrderID: tw.order.ID, Kind: "database", Primary: true}
				must(tw.t, tw.cat.CreateProvision(context.Background(), db))
				r.provision = db.ID
			}},
		{name: "refuses a deployment that is not the primary one (such as the sidecar)", want: backup.ErrProvisionNotFound,
			setup: func(tw *twin, r *request) { r.provision = tw.sidecar.ID }},
		{name: "checks that the order exists before the caller's rights", want: backup.ErrOrderNotFound,
			setup: func(tw *twin, r *request) { r.order, r.user = ports.NewOrderID(), tw.stranger }},
		{name: "checks the caller's rights before the provision, so strangers cannot probe for provisions", want: backup.ErrUnauthorized,
			setup: func(tw *twin, r *request) { r.user, r.provision = tw.stranger, ports.NewProvisionID() }},
	}
}

// racing makes something happen right after the service's call of method, as
// another request or replica would between the service's check and its write.
func racing(method string, meanwhile func(tw *twin, r request)) func(tw *twin, r *request) {
	return func(tw *twin, r *request) {
		tw.inject(method, fault{made: true, times: 1, do: func(context.Context) error { meanwhile(tw, *r); return nil }})
	}
}

// records writes n ready backups of the twin's game server.
func records(tw *twin, n int) {
	for range n {
		tw.record(ports.StatusReady)
	}
}

// createErrorCases are the refusals of CreateBackup beyond authorization. The
// checks run in this order: name, authorization, the order has a sidecar, its
// operation slot is free, the provision holds fewer backups than the limit.
func createErrorCases() []errorCase {
	busy := func(tw *twin, _ request) { tw.record(ports.StatusCreating) }
	return []errorCase{
		{name: "wraps a failing provision listing as a database error", setup: failing("Orders.ListProvisions"), want: backup.ErrDatabase, infra: true},
		{name: "reports an order without a sidecar", want: backup.ErrNoSidecar,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, "") }},
		{name: "refuses while another operation runs on the order", want: backup.ErrOperationInProgress,
			setup: func(tw *twin, r *request) { busy(tw, *r) }},
		{name: "wraps a failing active-operation check as a database error", setup: failing("Repository.HasActiveOperation"), want: backup.ErrDatabase, infra: true},
		{name: "wraps a failing count as a database error", setup: failing("Repository.CountByProvision"), want: backup.ErrDatabase, infra: true},
		{name: "refuses an eleventh backup when ten exist", want: backup.ErrLimitReached,
			setup: func(tw *twin, _ *request) { records(tw, 10) }},
		{name: "refuses when more than ten already exist", want: backup.ErrLimitReached,
			setup: func(tw *twin, _ *request) { records(tw, 12) }},
		// The repository enforces both invariants again atomically; losing that
		// race must surface as the same domain error, not as a database failure.
		{name: "reports a create that lost the race for the order's operation slot", want: backup.ErrOperationInProgress,
			setup: racing("Repository.CountByProvision", busy)},
		{name: "reports a create that lost the race for the last free slot", want: backup.ErrLimitReached,
			setup: func(tw *twin, r *request) {
				records(tw, 9)
				racing("Repository.CountByProvision", func(tw *twin, _ request) { records(tw, 1) })(tw, r)
			}},
		{name: "wraps a failing insert as a database error", setup: failing("Repository.Create"), want: backup.ErrDatabase, infra: true},
		{name: "checks the provision before the sidecar", want: backup.ErrProvisionNotFound,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, ""); r.provision = ports.NewProvisionID() }},
		{name: "checks for a sidecar before the operation slot", want: backup.ErrNoSidecar,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, ports.StatusCreating) }},
		{name: "checks the operation slot before the limit", want: backup.ErrOperationInProgress,
			setup: func(tw *twin, r *request) { records(tw, 9); busy(tw, *r) }},
	}
}

func TestCreateBackupRefuses(t *testing.T) {
	create := func(tw *twin, r request) (any, error) {
		return tw.svc.CreateBackup(context.Background(), r.user, r.order, r.provision, backup.CreateRequest{Name: r.name})
	}
	nothingRecorded := func(t *testing.T, tw *twin, r request) {
		for _, b := range listed(t, tw, r.provision) {
			if b.Name == r.name {
				t.Fatalf("a refused create recorded a backup: %+v", b)
			}
		}
	}
	refused(t, append(authErrorCases(), createErrorCases()...), func(tw *twin) request { return tw.request(ports.Backup{}) }, create, nothingRecorded)

	// A mock is needed here: no correct catalog lists another order's provision
	// among an order's own; the check guards against a host whose catalog does.
	t.Run("ignores a sidecar listed under another order", func(t *testing.T) {
		f := newFixture(t)
		foreign := f.sidecar
		foreign.OrderID = ports.NewOrderID()
		f.expectAuthorized()
		f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary, foreign}, nil)
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, backup.CreateRequest{Name: "nightly"})
		errorCase{want: backup.ErrNoSidecar}.check(t, err)
	})
	t.Run("refuses an invalid name before looking anything up", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Orders.GetOrder", fault{err: errInfra})
		_, err := tw.create("evil\u202Ename")
		assertIs(t, err, backup.ErrInvalidName)
	})
	t.Run("honours a custom limit", func(t *testing.T) {
		tw := newTwin(t, func(c *twinConfig) { c.opts = func(o *backup.Options) { o.MaxBackupsPerProvision = 3 } })
		records(tw, 3)
		_, err := tw.create("")
		assertIs(t, err, backup.ErrLimitReached)
	})
	t.Run("does not wrap an error the adapter already marked as a database failure", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Orders.GetOrder", fault{err: fmt.Errorf("pgx: %w", ports.ErrDatabase)})
		_, err := tw.create("")
		assertIs(t, err, backup.ErrDatabase)
		if n := strings.Count(err.Error(), ports.ErrDatabase.Error()); n != 1 {
			t.Fatalf("error %q names %q %d times", err, ports.ErrDatabase, n)
		}
	})
}

// listed returns the provision's backups as the repository holds them.
func listed(t *testing.T, tw *twin, provision ports.ProvisionID) []ports.Backup {
	t.Helper()
	list, err := tw.repo.ListByProvision(context.Background(), provision)
	must(t, err)
	return list
}

func TestCreateBackupAccepts(t *testing.T) {
	t.Run("returns the new backup in status creating and inserts it with the limit", func(t *testing.T) {
		tw := newTwin(t)
		records(tw, 9) // the repository, too, must be told the limit is ten
		tw.dialer.close()
		b, err := tw.create("Before the update")
		must(t, err)
		if b.ID.IsZero() || b.OrderID != tw.order.ID || b.ProvisionID != tw.gameServer.ID || b.Name != "Before the update" ||
			b.Status != ports.StatusCreating || !b.CreatedAt.Equal(fixedNow) || !b.HeartbeatAt.Equal(fixedNow) {
			t.Fatalf("accepted backup %+v", b)
		}
		if got := tw.stored(b.ID); !reflect.DeepEqual(got, b) {
			t.Fatalf("stored %+v, returned %+v", got, b)
		}
		tw.dialer.open()
		if got := tw.settled(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("the accepted backup ended %s: %s", got.Status, got.Error)
		}
	})
	t.Run("accepts the tenth backup when nine exist", func(t *testing.T) {
		tw := newTwin(t)
		records(tw, 9)
		tw.ready("the tenth")
	})
	t.Run("lets a holder of ViewAllOrders back up someone else's order", func(t *testing.T) {
		tw := newTwin(t)
		b, err := tw.svc.CreateBackup(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID, backup.CreateRequest{})
		must(t, err)
		if got := tw.settled(b.ID); got.Status != ports.StatusReady {
			t.Fatalf("the administrator's backup ended %s: %s", got.Status, got.Error)
		}
	})
	for _, tc := range []struct{ name, given, want string }{
		{"names an unnamed backup after the current minute", "", "Backup 2025-03-14 09:26 UTC"},
		{"treats a blank name as no name", " \t ", "Backup 2025-03-14 09:26 UTC"},
		{"trims the given name", "  weekly  ", "weekly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := newTwin(t)
			b, err := tw.create(tc.given)
			must(t, err)
			if got := tw.settled(b.ID); b.Name != tc.want || got.Name != tc.want {
				t.Fatalf("name %q, stored as %q; want %q", b.Name, got.Name, tc.want)
			}
		})
	}
	t.Run("refuses after Shutdown without recording a backup", func(t *testing.T) {
		tw := newTwin(t)
		tw.shutdown()
		_, err := tw.create("")
		assertIs(t, err, backup.ErrShuttingDown)
		// A backup refused at shutdown must not count towards the limit.
		if list := listed(t, tw, tw.gameServer.ID); len(list) != 0 {
			t.Fatalf("a create refused at shutdown recorded %+v", list)
		}
	})
}

func TestListBackups(t *testing.T) {
	list := func(tw *twin, r request) (any, error) {
		return tw.svc.ListBackups(context.Background(), r.user, r.order, r.provision)
	}
	cases := append(authErrorCases(), errorCase{
		name: "wraps a failing listing as a database error", setup: failing("Repository.ListByProvision"), want: backup.ErrDatabase, infra: true,
	})
	refused(t, cases, func(tw *twin) request { return tw.request(ports.Backup{}) }, list, nil)

	t.Run("returns the provision's backups as the repository orders them", func(t *testing.T) {
		tw := newTwin(t)
		older := tw.record(ports.StatusReady)
		tw.clock.Set(fixedNow.Add(time.Minute))
		newer := tw.record(ports.StatusFailed)
		tw.recordFor(tw.order.ID, tw.sidecar.ID, ports.StatusReady) // another provision's
		got, err := tw.svc.ListBackups(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID)
		must(t, err)
		if want := []ports.Backup{newer, older}; !reflect.DeepEqual(got, want) {
			t.Fatalf("list %+v, want %+v", got, want)
		}
	})
	t.Run("returns an empty, non-nil list when there are none", func(t *testing.T) {
		tw := newTwin(t)
		got, err := tw.svc.ListBackups(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListBackups = %#v, %v; want an empty slice", got, err)
		}
	})
	t.Run("lets a holder of ViewAllOrders list someone else's backups", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.record(ports.StatusReady)
		got, err := tw.svc.ListBackups(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID)
		if err != nil || len(got) != 1 || got[0].ID != b.ID {
			t.Fatalf("ListBackups = %+v, %v; want the backup", got, err)
		}
	})
}

// backupErrorCases are the refusals of every method that takes a backup:
// authorization, then the backup, which must exist under the same order and
// provision.
func backupErrorCases() []errorCase {
	return append(authErrorCases(),
		errorCase{name: "reports a backup that does not exist", want: backup.ErrBackupNotFound,
			setup: func(_ *twin, r *request) { r.backup = ports.NewBackupID() }},
		errorCase{name: "wraps a failing backup lookup as a database error", setup: failing("Repository.Find"), want: backup.ErrDatabase, infra: true},
		errorCase{name: "hides a backup of another order", want: backup.ErrBackupNotFound,
			setup: func(tw *twin, r *request) {
				o, gs := tw.otherOrder(tw.owner, true)
				r.backup = tw.recordFor(o.ID, gs.ID, ports.StatusReady).ID
			}},
		errorCase{name: "hides a backup of another provision of the same order", want: backup.ErrBackupNotFound,
			setup: func(tw *twin, r *request) { r.backup = tw.recordFor(tw.order.ID, tw.sidecar.ID, ports.StatusReady).ID }},
		errorCase{name: "checks the provision before the backup", want: backup.ErrProvisionNotFound,
			setup: func(_ *twin, r *request) { r.provision, r.backup = ports.NewProvisionID(), ports.NewBackupID() }},
	)
}

// readyRequest is the owner's request about a ready backup of the game server.
func readyRequest(tw *twin) request { return tw.request(tw.record(ports.StatusReady)) }

func TestGetBackup(t *testing.T) {
	get := func(tw *twin, r request) (any, error) {
		return tw.svc.GetBackup(context.Background(), r.user, r.order, r.provision, r.backup)
	}
	refused(t, backupErrorCases(), readyRequest, get, nil)

	for _, who := range []struct {
		name string
		user func(tw *twin) ports.UserID
	}{
		{"returns the backup to its owner", func(tw *twin) ports.UserID { return tw.owner }},
		{"returns the backup to a holder of ViewAllOrders", func(tw *twin) ports.UserID { return tw.admin }},
	} {
		t.Run(who.name, func(t *testing.T) {
			tw := newTwin(t)
			b := tw.record(ports.StatusReady)
			got, err := tw.svc.GetBackup(context.Background(), who.user(tw), tw.order.ID, tw.gameServer.ID, b.ID)
			if err != nil || !reflect.DeepEqual(got, b) {
				t.Fatalf("GetBackup = %+v, %v; want %+v", got, err, b)
			}
		})
	}
}

func TestEnsureNoActiveOperation(t *testing.T) {
	t.Run("lets an idle order be reprovisioned", func(t *testing.T) {
		tw := newTwin(t)
		tw.record(ports.StatusReady)
		must(t, tw.svc.EnsureNoActiveOperation(context.Background(), tw.order.ID))
	})
	t.Run("refuses while a backup or restore runs", func(t *testing.T) {
		for _, s := range []ports.Status{ports.StatusCreating, ports.StatusRestoring} {
			tw := newTwin(t)
			tw.record(s)
			err := tw.svc.EnsureNoActiveOperation(context.Background(), tw.order.ID)
			errorCase{want: backup.ErrBackupInProgress}.check(t, err)
			if errors.Is(err, backup.ErrOperationInProgress) {
				t.Fatalf("the reprovision guard must say backup_in_progress, not operation_in_progress: %v", err)
			}
		}
	})
	t.Run("wraps a failing check as a database error", func(t *testing.T) {
		tw := newTwin(t)
		tw.inject("Repository.HasActiveOperation", fault{err: errInfra})
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, tw.svc.EnsureNoActiveOperation(context.Background(), tw.order.ID))
	})
}

// restoreErrorCases are the refusals of RestoreBackup beyond those of every
// backup. The checks run in this order: authorization and the backup, its
// status, the order has a sidecar, its operation slot is free.
func restoreErrorCases() []errorCase {
	var cases []errorCase
	for _, s := range []ports.Status{ports.StatusCreating, ports.StatusFailed, ports.StatusRestoring} {
		cases = append(cases, errorCase{name: "refuses a backup that is " + string(s), want: backup.ErrStatusConflict,
			setup: func(tw *twin, r *request) { r.backup = tw.record(s).ID }})
	}
	busy := func(tw *twin, r request) { tw.recordFor(r.order, r.provision, ports.StatusCreating) }
	return append(cases,
		errorCase{name: "refuses a ready backup that a delete has claimed", want: backup.ErrStatusConflict,
			setup: func(tw *twin, r *request) {
				_, err := tw.repo.ClaimForDelete(context.Background(), r.backup, false)
				must(tw.t, err)
			}},
		errorCase{name: "reports an order without a sidecar", want: backup.ErrNoSidecar,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, ports.StatusReady) }},
		errorCase{name: "wraps a failing provision listing as a database error", setup: failing("Orders.ListProvisions"), want: backup.ErrDatabase, infra: true},
		errorCase{name: "refuses while another operation runs on the order", want: backup.ErrOperationInProgress,
			setup: func(tw *twin, r *request) { busy(tw, *r) }},
		errorCase{name: "wraps a failing active-operation check as a database error", setup: failing("Repository.HasActiveOperation"), want: backup.ErrDatabase, infra: true},
		// The compare-and-set that starts the restore can lose in three ways.
		errorCase{name: "reports a backup whose status changed meanwhile", want: backup.ErrStatusConflict,
			setup: racing("Repository.HasActiveOperation", func(tw *twin, r request) { tw.move(r.backup, ports.StatusRestoring) })},
		errorCase{name: "reports another operation that started meanwhile", want: backup.ErrOperationInProgress,
			setup: racing("Repository.HasActiveOperation", busy)},
		errorCase{name: "reports a backup deleted meanwhile", want: backup.ErrBackupNotFound,
			setup: racing("Repository.HasActiveOperation", func(tw *twin, r request) { tw.remove(r.backup) })},
		errorCase{name: "wraps a failing status update as a database error", setup: failing("Repository.Update"), want: backup.ErrDatabase, infra: true},
		errorCase{name: "checks the backup's status before the sidecar", want: backup.ErrStatusConflict,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, ports.StatusFailed) }},
		errorCase{name: "checks for a sidecar before the operation slot", want: backup.ErrNoSidecar,
			setup: func(tw *twin, r *request) { elsewhere(tw, r, ports.StatusReady); busy(tw, *r) }},
	)
}

func TestRestoreBackupRefuses(t *testing.T) {
	restore := func(tw *twin, r request) (any, error) {
		return tw.svc.RestoreBackup(context.Background(), r.user, r.order, r.provision, r.backup)
	}
	refused(t, append(backupErrorCases(), restoreErrorCases()...), readyRequest, restore, nil)
}

func TestRestoreBackupAccepts(t *testing.T) {
	t.Run("moves a ready backup to restoring, clearing the last error", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("Before the update")
		b.Error = "Restore failed: the game server ran out of space"
		must(t, tw.repo.Update(context.Background(), b, ports.StatusReady))
		tw.clock.Set(fixedNow.Add(time.Hour))
		tw.dialer.close()

		got, err := tw.restore(b)
		must(t, err)
		if got.Status != ports.StatusRestoring || got.Error != "" || !got.HeartbeatAt.Equal(fixedNow.Add(time.Hour)) || got.ID != b.ID || got.SHA256 != b.SHA256 {
			t.Fatalf("accepted restore %+v", got)
		}
		if stored := tw.stored(b.ID); !reflect.DeepEqual(stored, got) {
			t.Fatalf("stored %+v, returned %+v", stored, got)
		}
		tw.dialer.open()
		if done := tw.settled(b.ID); done.Status != ports.StatusReady || done.Error != "" {
			t.Fatalf("the restore ended %s: %q", done.Status, done.Error)
		}
	})
	t.Run("lets a holder of ViewAllOrders restore someone else's backup", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("Before the update")
		_, err := tw.svc.RestoreBackup(context.Background(), tw.admin, tw.order.ID, tw.gameServer.ID, b.ID)
		must(t, err)
		if done := tw.settled(b.ID); done.Status != ports.StatusReady || done.Error != "" || done.LastRestoredAt.IsZero() {
			t.Fatalf("the administrator's restore ended %+v", done)
		}
	})
	t.Run("refuses after Shutdown and leaves the backup as it was", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.record(ports.StatusReady)
		tw.shutdown()
		_, err := tw.restore(b)
		assertIs(t, err, backup.ErrShuttingDown)
		if got := tw.stored(b.ID); !reflect.DeepEqual(got, b) {
			t.Fatalf("backup after a refused start: %+v, was %+v", got, b)
		}
	})
}

func TestDeleteBackupRefuses(t *testing.T) {
	cases := backupErrorCases()
	for _, s := range []ports.Status{ports.StatusCreating, ports.StatusRestoring} {
		cases = append(cases, errorCase{name: "refuses a backup that is " + string(s), want: backup.ErrStatusConflict,
			setup: func(tw *twin, r *request) { r.backup = tw.record(s).ID }})
	}
	cases = append(cases,
		// The claim can lose against a restore or another delete that came
		// between the lookup and the claim.
		errorCase{name: "reports a backup whose operation started meanwhile", want: backup.ErrStatusConflict,
			setup: racing("Repository.Find", func(tw *twin, r request) { tw.move(r.backup, ports.StatusRestoring) })},
		errorCase{name: "reports a backup deleted meanwhile", want: backup.ErrBackupNotFound,
			setup: racing("Repository.Find", func(tw *twin, r request) { tw.remove(r.backup) })},
		errorCase{name: "wraps a failing claim as a database error", setup: failing("Repository.ClaimForDelete"), want: backup.ErrDatabase, infra: true},
	)
	del := func(tw *twin, r request) (any, error) {
		return nil, tw.svc.DeleteBackup(context.Background(), r.user, r.order, r.provision, r.backup)
	}
	refused(t, cases, readyRequest, del, nil)
}

// gone checks that nothing of the backup is left: archive, asset, record.
func (tw *twin) gone(b ports.Backup) {
	tw.t.Helper()
	if tw.objectExists(b) {
		tw.t.Error("the archive is still stored")
	}
	if tw.assetExists(ports.ArchiveAssetID(b.ID)) {
		tw.t.Error("the asset is still recorded")
	}
	_, err := tw.svc.GetBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, b.ID)
	assertIs(tw.t, err, backup.ErrBackupNotFound)
}

func TestDeleteBackup(t *testing.T) {
	del := func(tw *twin, user ports.UserID, b ports.Backup) error {
		return tw.svc.DeleteBackup(context.Background(), user, tw.order.ID, tw.gameServer.ID, b.ID)
	}
	// A mock is needed here: the order of the steps is what lets a retry finish
	// a delete that failed part-way, and only a mock sees the order of calls
	// across three ports.
	t.Run("deletes a ready backup's archive, asset and record, in that order", func(t *testing.T) {
		f := newFixture(t)
		b := f.readyBackup()
		claimed := b
		claimed.Deleting = true
		f.expectBackupFound(b)
		gomock.InOrder(
			f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID, false).Return(claimed, nil),
			f.objects.EXPECT().Delete(gomock.Any(), backup.ObjectKey(f.order.ID, b.ID)).Return(nil),
			f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(nil),
			f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(nil),
		)
		must(t, f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID))
	})
	t.Run("deletes a failed backup that has an asset", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("failed later")
		tw.move(b.ID, ports.StatusFailed)
		must(t, del(tw, tw.owner, b))
		tw.gone(b)
	})
	t.Run("deletes a failed backup that never got an asset, and its partial archive", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.record(ports.StatusFailed)
		must(t, tw.objects.Put(context.Background(), backup.ObjectKey(b.OrderID, b.ID), strings.NewReader("partial")))
		must(t, del(tw, tw.owner, b))
		tw.gone(b)
	})
	t.Run("lets a holder of ViewAllOrders delete someone else's backup", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("theirs")
		must(t, del(tw, tw.admin, b))
		tw.gone(b)
	})
	t.Run("treats a record already gone as deleted", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("deleted twice at once")
		// Another delete of the same backup removed the record first.
		tw.inject("Repository.Delete", fault{made: true, err: fmt.Errorf("repo: %w", ports.ErrNotFound)})
		must(t, del(tw, tw.owner, b))
		tw.gone(b)
	})
	t.Run("finishes a delete that failed part-way before", func(t *testing.T) {
		tw := newTwin(t)
		b := tw.ready("Before the update")
		tw.inject("Assets.DeleteAsset", fault{err: errInfra, times: 1})
		assertIs(t, del(tw, tw.owner, b), backup.ErrDatabase)
		must(t, del(tw, tw.owner, b))
		tw.gone(b)
	})
	// A delete that fails part-way keeps the backup claimed, so no restore
	// starts on what is left of it, and a second delete finishes the job.
	for _, tc := range []deleteFailure{
		{"stops at a storage failure, keeping the asset and the claimed record", "Objects.Delete", backup.ErrStorage, true, true},
		{"stops at an asset failure, keeping the claimed record", "Assets.DeleteAsset", backup.ErrDatabase, false, true},
		{"wraps a failing record delete as a database error", "Repository.Delete", backup.ErrDatabase, false, false},
	} {
		t.Run(tc.name, tc.test)
	}
}

type deleteFailure struct {
	name, method           string
	want                   error
	archiveKept, assetKept bool
}

func (tc deleteFailure) test(t *testing.T) {
	tw := newTwin(t)
	b := tw.ready("Before the update")
	tw.inject(tc.method, fault{err: errInfra})
	err := tw.svc.DeleteBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, b.ID)
	errorCase{want: tc.want, infra: true}.check(t, err)
	if tw.objectExists(b) != tc.archiveKept || tw.assetExists(b.AssetID) != tc.assetKept {
		t.Fatalf("archive kept %v, asset kept %v; want %v, %v", tw.objectExists(b), tw.assetExists(b.AssetID), tc.archiveKept, tc.assetKept)
	}
	if !tw.stored(b.ID).Deleting {
		t.Fatal("the record is no longer claimed by the delete")
	}
	_, err = tw.restore(b)
	assertIs(t, err, backup.ErrStatusConflict)

	tw.heal(tc.method)
	must(t, tw.svc.DeleteBackup(context.Background(), tw.owner, tw.order.ID, tw.gameServer.ID, b.ID))
	tw.gone(b)
}

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

// errorCase is one way a synchronous flow is refused. setup declares exactly the
// calls the flow may make before refusing; gomock fails on any other, so each
// case also proves the checks run in the seed's order and stop at the first no.
type errorCase struct {
	name  string
	user  func(f *fixture) ports.UserID // default: the owner
	setup func(f *fixture)
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

func (tc errorCase) caller(f *fixture) ports.UserID {
	if tc.user == nil {
		return f.owner
	}
	return tc.user(f)
}

func stranger(f *fixture) ports.UserID { return f.stranger }

// authErrorCases are the refusals of the seed's step 1, shared by every method
// that takes an order and a provision.
func authErrorCases() []errorCase {
	return []errorCase{
		{
			name: "reports an order that does not exist",
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(ports.Order{}, fmt.Errorf("catalog: %w", ports.ErrNotFound))
			},
			want: backup.ErrOrderNotFound,
		},
		{
			name: "wraps a failing order lookup as a database error",
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(ports.Order{}, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		{
			name: "refuses a caller who neither owns the order nor may view all orders",
			user: stranger,
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.stranger).Return(false, nil)
			},
			want: backup.ErrUnauthorized,
		},
		{
			name: "wraps a failing permission check as a database error",
			user: stranger,
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.stranger).Return(false, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		{
			name: "reports a provision that does not exist",
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(ports.Provision{}, ports.ErrNotFound)
			},
			want: backup.ErrProvisionNotFound,
		},
		{
			name: "wraps a failing provision lookup as a database error",
			setup: func(f *fixture) {
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(ports.Provision{}, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		{
			name: "hides a provision that belongs to another order",
			setup: func(f *fixture) {
				foreign := f.primary
				foreign.OrderID = ports.NewOrderID()
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(foreign, nil)
			},
			want: backup.ErrProvisionNotFound,
		},
		{
			name: "refuses a provision that is not a deployment",
			setup: func(f *fixture) {
				db := f.primary
				db.Kind = "database"
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(db, nil)
			},
			want: backup.ErrProvisionNotFound,
		},
		{
			name: "refuses a deployment that is not the primary one (such as the sidecar)",
			setup: func(f *fixture) {
				secondary := f.primary
				secondary.Primary = false
				f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
				f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(secondary, nil)
			},
			want: backup.ErrProvisionNotFound,
		},
	}
}

func TestCreateBackupRefuses(t *testing.T) {
	cases := append(authErrorCases(),
		errorCase{
			name: "wraps a failing provision listing as a database error",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return(nil, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		errorCase{
			name: "reports an order without a sidecar",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary}, nil)
			},
			want: backup.ErrNoSidecar,
		},
		errorCase{
			name: "ignores a sidecar listed under another order",
			setup: func(f *fixture) {
				foreign := f.sidecar
				foreign.OrderID = ports.NewOrderID()
				f.expectAuthorized()
				f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary, foreign}, nil)
			},
			want: backup.ErrNoSidecar,
		},
		errorCase{
			name: "refuses while another operation runs on the order",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(true, nil)
			},
			want: backup.ErrOperationInProgress,
		},
		errorCase{
			name: "wraps a failing active-operation check as a database error",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		errorCase{
			name: "wraps a failing count as a database error",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
				f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		errorCase{
			name: "refuses an eleventh backup when ten exist",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
				f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(10, nil)
			},
			want: backup.ErrLimitReached,
		},
		errorCase{
			name: "refuses when more than ten already exist",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
				f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(12, nil)
			},
			want: backup.ErrLimitReached,
		},
	)
	// The repository enforces both invariants again atomically; losing that race
	// must surface as the same domain error, not as a database failure.
	for _, raced := range []struct {
		name string
		err  error
	}{
		{"reports a create that lost the race for the order's operation slot", ports.ErrOperationInProgress},
		{"reports a create that lost the race for the last free slot", ports.ErrLimitReached},
		{"wraps a failing insert as a database error", errInfra},
	} {
		want, infra := raced.err, false
		if raced.err == errInfra {
			want, infra = backup.ErrDatabase, true
		}
		cases = append(cases, errorCase{
			name: raced.name,
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
				f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(9, nil)
				f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), 10).Return(fmt.Errorf("insert: %w", raced.err))
			},
			want: want, infra: infra,
		})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			b, err := f.svc.CreateBackup(context.Background(), tc.caller(f), f.order.ID, f.primary.ID, "nightly")
			tc.check(t, err)
			if !reflect.DeepEqual(b, ports.Backup{}) {
				t.Fatalf("a refused create returned a backup: %+v", b)
			}
		})
	}

	t.Run("refuses an invalid name before looking anything up", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "evil\u202Ename")
		assertIs(t, err, backup.ErrInvalidName)
	})
	t.Run("honours a custom limit", func(t *testing.T) {
		f := newFixture(t, withOptions(func(o *backup.Options) { o.MaxBackupsPerProvision = 3 }))
		f.expectAuthorized()
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(3, nil)
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "")
		assertIs(t, err, backup.ErrLimitReached)
	})
	t.Run("does not wrap an error the adapter already marked as a database failure", func(t *testing.T) {
		f := newFixture(t)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(ports.Order{}, fmt.Errorf("pgx: %w", ports.ErrDatabase))
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "")
		assertIs(t, err, backup.ErrDatabase)
		if n := strings.Count(err.Error(), ports.ErrDatabase.Error()); n != 1 {
			t.Fatalf("error %q names %q %d times", err, ports.ErrDatabase, n)
		}
	})
}

// expectCreateJobFailsEarly lets the background half of an accepted create end
// quickly (the sidecar is unreachable), for tests about the synchronous half.
func (f *fixture) expectCreateJobFailsEarly() {
	f.dialer.EXPECT().Dial(gomock.Any(), f.sidecar).Return(nil, fmt.Errorf("dial: %w", ports.ErrCluster))
	f.expectUpdates(1)
}

func TestCreateBackupAccepts(t *testing.T) {
	t.Run("returns the new backup in status creating and inserts it with the limit", func(t *testing.T) {
		f := newFixture(t)
		f.expectCreateAccepted()
		f.expectCreateJobFailsEarly()
		b, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "Before the update")
		if err != nil {
			t.Fatal(err)
		}
		if b.ID.IsZero() || b.OrderID != f.order.ID || b.ProvisionID != f.primary.ID || b.Name != "Before the update" ||
			b.Status != ports.StatusCreating || !b.CreatedAt.Equal(fixedNow) || !b.HeartbeatAt.Equal(fixedNow) {
			t.Fatalf("accepted backup %+v", b)
		}
		f.wait()
		if len(f.created) != 1 || !reflect.DeepEqual(f.created[0], b) || f.limits[0] != 10 {
			t.Fatalf("Create got %+v with limits %v, want the returned backup with limit 10", f.created, f.limits)
		}
	})
	t.Run("accepts the tenth backup when nine exist", func(t *testing.T) {
		f := newFixture(t)
		f.expectAuthorized()
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(9, nil)
		f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), 10).DoAndReturn(f.recordCreate)
		f.expectCreateJobFailsEarly()
		f.create()
	})
	t.Run("lets a holder of ViewAllOrders back up someone else's order", func(t *testing.T) {
		f := newFixture(t)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, nil)
		f.repo.EXPECT().Create(gomock.Any(), gomock.Any(), 10).DoAndReturn(f.recordCreate)
		f.expectCreateJobFailsEarly()
		if _, err := f.svc.CreateBackup(context.Background(), f.admin, f.order.ID, f.primary.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct{ name, given, want string }{
		{"names an unnamed backup after the current minute", "", "Backup 2025-03-14 09:26 UTC"},
		{"treats a blank name as no name", " \t ", "Backup 2025-03-14 09:26 UTC"},
		{"trims the given name", "  weekly  ", "weekly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectCreateAccepted()
			f.expectCreateJobFailsEarly()
			b, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, tc.given)
			if err != nil {
				t.Fatal(err)
			}
			if b.Name != tc.want {
				t.Fatalf("name %q, want %q", b.Name, tc.want)
			}
		})
	}
	t.Run("refuses after Shutdown without recording a backup", func(t *testing.T) {
		f := newFixture(t)
		f.wait()
		f.expectAuthorized()
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.repo.EXPECT().CountByProvision(gomock.Any(), f.primary.ID).Return(0, nil)
		// No Create: a backup refused at shutdown must not count towards the limit.
		_, err := f.svc.CreateBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, "")
		assertIs(t, err, backup.ErrShuttingDown)
	})
}

func TestListBackups(t *testing.T) {
	for _, tc := range authErrorCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			list, err := f.svc.ListBackups(context.Background(), tc.caller(f), f.order.ID, f.primary.ID)
			tc.check(t, err)
			if list != nil {
				t.Fatalf("a refused list returned %v", list)
			}
		})
	}
	t.Run("wraps a failing listing as a database error", func(t *testing.T) {
		f := newFixture(t)
		f.expectAuthorized()
		f.repo.EXPECT().ListByProvision(gomock.Any(), f.primary.ID).Return(nil, errInfra)
		_, err := f.svc.ListBackups(context.Background(), f.owner, f.order.ID, f.primary.ID)
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
	})
	t.Run("returns the provision's backups as the repository orders them", func(t *testing.T) {
		f := newFixture(t)
		newer, older := f.readyBackup(archive(10)), f.readyBackup(archive(20))
		f.expectAuthorized()
		f.repo.EXPECT().ListByProvision(gomock.Any(), f.primary.ID).Return([]ports.Backup{newer, older}, nil)
		list, err := f.svc.ListBackups(context.Background(), f.owner, f.order.ID, f.primary.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || !reflect.DeepEqual(list[0], newer) || !reflect.DeepEqual(list[1], older) {
			t.Fatalf("list %+v", list)
		}
	})
	t.Run("returns an empty, non-nil list when there are none", func(t *testing.T) {
		f := newFixture(t)
		f.expectAuthorized()
		f.repo.EXPECT().ListByProvision(gomock.Any(), f.primary.ID).Return(nil, nil)
		list, err := f.svc.ListBackups(context.Background(), f.owner, f.order.ID, f.primary.ID)
		if err != nil || list == nil || len(list) != 0 {
			t.Fatalf("ListBackups = %#v, %v; want an empty slice", list, err)
		}
	})
	t.Run("lets a holder of ViewAllOrders list someone else's backups", func(t *testing.T) {
		f := newFixture(t)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.repo.EXPECT().ListByProvision(gomock.Any(), f.primary.ID).Return([]ports.Backup{}, nil)
		if _, err := f.svc.ListBackups(context.Background(), f.admin, f.order.ID, f.primary.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// backupErrorCases are the refusals of authorizeBackup: step 1 plus the backup,
// which must exist under the same order and provision.
func backupErrorCases(b func(f *fixture) ports.Backup) []errorCase {
	return append(authErrorCases(),
		errorCase{
			name: "reports a backup that does not exist",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.repo.EXPECT().Find(gomock.Any(), b(f).ID).Return(ports.Backup{}, ports.ErrNotFound)
			},
			want: backup.ErrBackupNotFound,
		},
		errorCase{
			name: "wraps a failing backup lookup as a database error",
			setup: func(f *fixture) {
				f.expectAuthorized()
				f.repo.EXPECT().Find(gomock.Any(), b(f).ID).Return(ports.Backup{}, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		errorCase{
			name: "hides a backup of another order",
			setup: func(f *fixture) {
				foreign := b(f)
				foreign.OrderID = ports.NewOrderID()
				f.expectAuthorized()
				f.repo.EXPECT().Find(gomock.Any(), foreign.ID).Return(foreign, nil)
			},
			want: backup.ErrBackupNotFound,
		},
		errorCase{
			name: "hides a backup of another provision of the same order",
			setup: func(f *fixture) {
				foreign := b(f)
				foreign.ProvisionID = ports.NewProvisionID()
				f.expectAuthorized()
				f.repo.EXPECT().Find(gomock.Any(), foreign.ID).Return(foreign, nil)
			},
			want: backup.ErrBackupNotFound,
		},
	)
}

// ready is the backup each per-backup test works on, created on first use.
func ready(f *fixture) ports.Backup {
	f.mu.Lock()
	for _, b := range f.rows {
		f.mu.Unlock()
		return b
	}
	f.mu.Unlock()
	return f.readyBackup(archive(64))
}

func TestGetBackup(t *testing.T) {
	for _, tc := range backupErrorCases(ready) {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := ready(f)
			tc.setup(f)
			got, err := f.svc.GetBackup(context.Background(), tc.caller(f), f.order.ID, f.primary.ID, b.ID)
			tc.check(t, err)
			if !reflect.DeepEqual(got, ports.Backup{}) {
				t.Fatalf("a refused get returned %+v", got)
			}
		})
	}
	t.Run("returns the backup to its owner", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.expectBackupFound(b)
		got, err := f.svc.GetBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		if err != nil || !reflect.DeepEqual(got, b) {
			t.Fatalf("GetBackup = %+v, %v", got, err)
		}
	})
	t.Run("returns the backup to a holder of ViewAllOrders", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
		if got, err := f.svc.GetBackup(context.Background(), f.admin, f.order.ID, f.primary.ID, b.ID); err != nil || !reflect.DeepEqual(got, b) {
			t.Fatalf("GetBackup = %+v, %v", got, err)
		}
	})
}

func withStatus(s ports.Status) func(*ports.Backup) {
	return func(b *ports.Backup) { b.Status = s }
}

func TestRestoreBackupRefuses(t *testing.T) {
	cases := backupErrorCases(ready)
	for _, s := range []ports.Status{ports.StatusCreating, ports.StatusFailed, ports.StatusRestoring} {
		cases = append(cases, errorCase{
			name: "refuses a backup that is " + string(s),
			setup: func(f *fixture) {
				b := ready(f)
				b.Status = s
				f.expectBackupFound(b)
			},
			want: backup.ErrStatusConflict,
		})
	}
	cases = append(cases,
		errorCase{
			name: "refuses a ready backup that a delete has claimed",
			setup: func(f *fixture) {
				b := ready(f)
				b.Deleting = true
				f.expectBackupFound(b)
			},
			want: backup.ErrStatusConflict,
		},
		errorCase{
			name: "reports an order without a sidecar",
			setup: func(f *fixture) {
				f.expectBackupFound(ready(f))
				f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return([]ports.Provision{f.primary}, nil)
			},
			want: backup.ErrNoSidecar,
		},
		errorCase{
			name: "wraps a failing provision listing as a database error",
			setup: func(f *fixture) {
				f.expectBackupFound(ready(f))
				f.orders.EXPECT().ListProvisions(gomock.Any(), f.order.ID).Return(nil, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
		errorCase{
			name: "refuses while another operation runs on the order",
			setup: func(f *fixture) {
				f.expectBackupFound(ready(f))
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(true, nil)
			},
			want: backup.ErrOperationInProgress,
		},
		errorCase{
			name: "wraps a failing active-operation check as a database error",
			setup: func(f *fixture) {
				f.expectBackupFound(ready(f))
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, errInfra)
			},
			want: backup.ErrDatabase, infra: true,
		},
	)
	// The compare-and-set that starts the restore can lose in three ways.
	for _, raced := range []struct {
		name      string
		err, want error
	}{
		{"reports a backup whose status changed meanwhile", ports.ErrStatusConflict, backup.ErrStatusConflict},
		{"reports another operation that started meanwhile", ports.ErrOperationInProgress, backup.ErrOperationInProgress},
		{"reports a backup deleted meanwhile", ports.ErrNotFound, backup.ErrBackupNotFound},
		{"wraps a failing status update as a database error", errInfra, backup.ErrDatabase},
	} {
		cases = append(cases, errorCase{
			name: raced.name,
			setup: func(f *fixture) {
				b := ready(f)
				f.expectBackupFound(b)
				f.expectSidecarLookup()
				f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
				f.repo.EXPECT().Update(gomock.Any(), gomock.Any(), ports.StatusReady).Return(fmt.Errorf("update: %w", raced.err))
			},
			want: raced.want, infra: raced.err == errInfra,
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := ready(f)
			tc.setup(f)
			got, err := f.svc.RestoreBackup(context.Background(), tc.caller(f), f.order.ID, f.primary.ID, b.ID)
			tc.check(t, err)
			if !reflect.DeepEqual(got, ports.Backup{}) {
				t.Fatalf("a refused restore returned %+v", got)
			}
		})
	}
}

func TestRestoreBackupAccepts(t *testing.T) {
	t.Run("moves a ready backup to restoring, clearing the last error", func(t *testing.T) {
		f := newFixture(t)
		b := f.readyBackup(archive(64))
		b.Error = "Restore failed: the game server ran out of space"
		f.seed(b)
		f.clock.Set(fixedNow.Add(time.Hour))
		f.expectBackupFound(b)
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.expectUpdates(2) // restoring now; ready again when the job ends
		f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{}, errInfra)

		got, err := f.svc.RestoreBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != ports.StatusRestoring || got.Error != "" || !got.HeartbeatAt.Equal(fixedNow.Add(time.Hour)) || got.ID != b.ID || got.SHA256 != b.SHA256 {
			t.Fatalf("accepted restore %+v", got)
		}
		f.wait()
		first := f.allUpdates()[0]
		if first.from != ports.StatusReady || !reflect.DeepEqual(first.b, got) {
			t.Fatalf("first update %+v from %s, want the returned backup from ready", first.b, first.from)
		}
	})
	t.Run("lets a holder of ViewAllOrders restore someone else's backup", func(t *testing.T) {
		f := newFixture(t)
		b := f.readyBackup(archive(64))
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		f.expectUpdates(2)
		f.assets.EXPECT().GetAsset(gomock.Any(), b.AssetID).Return(ports.Asset{}, errInfra)
		if _, err := f.svc.RestoreBackup(context.Background(), f.admin, f.order.ID, f.primary.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refuses after Shutdown and leaves the backup as it was", func(t *testing.T) {
		f := newFixture(t)
		b := f.readyBackup(archive(64))
		f.wait()
		f.expectBackupFound(b)
		f.expectSidecarLookup()
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		// No Update: the backup never leaves ready.
		_, err := f.svc.RestoreBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		assertIs(t, err, backup.ErrShuttingDown)
		if got := f.row(b.ID); got.Status != ports.StatusReady || got.Error != "" {
			t.Fatalf("backup after a refused start: %s %q", got.Status, got.Error)
		}
	})
}

func TestDeleteBackupRefuses(t *testing.T) {
	cases := backupErrorCases(ready)
	for _, s := range []ports.Status{ports.StatusCreating, ports.StatusRestoring} {
		cases = append(cases, errorCase{
			name: "refuses a backup that is " + string(s),
			setup: func(f *fixture) {
				b := ready(f)
				b.Status = s
				f.expectBackupFound(b)
			},
			want: backup.ErrStatusConflict,
		})
	}
	for _, claim := range []struct {
		name      string
		err, want error
	}{
		{"reports a backup whose operation started meanwhile", ports.ErrStatusConflict, backup.ErrStatusConflict},
		{"reports a backup deleted meanwhile", ports.ErrNotFound, backup.ErrBackupNotFound},
		{"wraps a failing claim as a database error", errInfra, backup.ErrDatabase},
	} {
		cases = append(cases, errorCase{
			name: claim.name,
			setup: func(f *fixture) {
				b := ready(f)
				f.expectBackupFound(b)
				f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(ports.Backup{}, claim.err)
			},
			want: claim.want, infra: claim.err == errInfra,
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := ready(f)
			tc.setup(f)
			tc.check(t, f.svc.DeleteBackup(context.Background(), tc.caller(f), f.order.ID, f.primary.ID, b.ID))
		})
	}
}

func TestDeleteBackup(t *testing.T) {
	claimed := func(b ports.Backup) ports.Backup { b.Deleting = true; return b }

	for _, tc := range []struct {
		name   string
		modify func(*ports.Backup)
	}{
		{"deletes a ready backup's archive, asset and record, in that order", nil},
		{"deletes a failed backup that has an asset", withStatus(ports.StatusFailed)},
		{"finishes a delete that failed part-way before", func(b *ports.Backup) { b.Deleting = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := ready(f)
			if tc.modify != nil {
				tc.modify(&b)
			}
			f.expectBackupFound(b)
			gomock.InOrder(
				f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil),
				f.objects.EXPECT().Delete(gomock.Any(), backup.ObjectKey(f.order.ID, b.ID)).Return(nil),
				f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(nil),
				f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(nil),
			)
			if err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("deletes a failed backup that never got an asset, and its partial archive", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		b.Status, b.AssetID, b.SHA256, b.SizeBytes = ports.StatusFailed, ports.AssetID{}, "", 0
		f.expectBackupFound(b)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), backup.ObjectKey(f.order.ID, b.ID)).Return(nil)
		f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(nil)
		if err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lets a holder of ViewAllOrders delete someone else's backup", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.orders.EXPECT().GetOrder(gomock.Any(), f.order.ID).Return(f.order, nil)
		f.perms.EXPECT().CanViewAllOrders(gomock.Any(), f.admin).Return(true, nil)
		f.orders.EXPECT().GetProvision(gomock.Any(), f.primary.ID).Return(f.primary, nil)
		f.repo.EXPECT().Find(gomock.Any(), b.ID).Return(b, nil)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(nil)
		f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(nil)
		f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(nil)
		if err := f.svc.DeleteBackup(context.Background(), f.admin, f.order.ID, f.primary.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("treats a record already gone as deleted", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.expectBackupFound(b)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(nil)
		f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(nil)
		f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(ports.ErrNotFound)
		if err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("stops at a storage failure, keeping the asset and the claimed record", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.expectBackupFound(b)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(errInfra)
		err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		errorCase{want: backup.ErrStorage, infra: true}.check(t, err)
	})
	t.Run("stops at an asset failure, keeping the claimed record", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.expectBackupFound(b)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(nil)
		f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(errInfra)
		err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
	})
	t.Run("wraps a failing record delete as a database error", func(t *testing.T) {
		f := newFixture(t)
		b := ready(f)
		f.expectBackupFound(b)
		f.repo.EXPECT().ClaimForDelete(gomock.Any(), b.ID).Return(claimed(b), nil)
		f.objects.EXPECT().Delete(gomock.Any(), gomock.Any()).Return(nil)
		f.assets.EXPECT().DeleteAsset(gomock.Any(), b.AssetID).Return(nil)
		f.repo.EXPECT().Delete(gomock.Any(), b.ID).Return(errInfra)
		err := f.svc.DeleteBackup(context.Background(), f.owner, f.order.ID, f.primary.ID, b.ID)
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, err)
	})
}

func TestEnsureNoActiveOperation(t *testing.T) {
	t.Run("lets an idle order be reprovisioned", func(t *testing.T) {
		f := newFixture(t)
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, nil)
		if err := f.svc.EnsureNoActiveOperation(context.Background(), f.order.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refuses while a backup or restore runs", func(t *testing.T) {
		f := newFixture(t)
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(true, nil)
		err := f.svc.EnsureNoActiveOperation(context.Background(), f.order.ID)
		errorCase{want: backup.ErrBackupInProgress}.check(t, err)
		if errors.Is(err, backup.ErrOperationInProgress) {
			t.Fatalf("the reprovision guard must say backup_in_progress, not operation_in_progress: %v", err)
		}
	})
	t.Run("wraps a failing check as a database error", func(t *testing.T) {
		f := newFixture(t)
		f.repo.EXPECT().HasActiveOperation(gomock.Any(), f.order.ID).Return(false, errInfra)
		errorCase{want: backup.ErrDatabase, infra: true}.check(t, f.svc.EnsureNoActiveOperation(context.Background(), f.order.ID))
	})
}

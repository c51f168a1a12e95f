// Package http serves backup.Service over HTTP with huma v2: the backup routes,
// the schedule routes and the download route, their OpenAPI description, and the one
// table that turns errors into RFC 9457 problems with a stable code.
//
// The package is named after what it adapts to, as in benbjohnson/wtf; it clashes
// with net/http, so importers alias it:
//
//	import sphttp "github.com/savepoint-dev/savepoint/adapters/http"
//
// # Mounting
//
// Register is router-agnostic: the host creates a huma.API on its own router
// (humago, humachi, …), optionally with NewConfig, and calls Register with the
// service and an Authenticator. The host decides how users log in; the adapter
// only asks the Authenticator who is calling, and the service checks what that
// user may do (owner or ViewAllOrders).
//
//	mux := http.NewServeMux()
//	api := humago.New(mux, sphttp.NewConfig("My platform", "1.0.0"))
//	err := sphttp.Register(api, svc, sphttp.Options{
//		Authenticate: sphttp.BearerAuth(lookUpToken),
//		Logger:       logger,
//	})
//
// # Routes
//
//	GET    /api/v1/orders/{order_id}/provisions/{provision_id}/backups                       list-backups    200 BackupList
//	POST   /api/v1/orders/{order_id}/provisions/{provision_id}/backups                       create-backup   202 BackupView
//	GET    /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}           get-backup      200 BackupView
//	DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}           delete-backup   204
//	POST   /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/restore   restore-backup  202 BackupView
//	PUT    /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/lock      lock-backup     200 BackupView
//	DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/lock      unlock-backup   200 BackupView
//	GET    /api/v1/orders/{order_id}/provisions/{provision_id}/schedule                      get-schedule        200 ScheduleView
//	PUT    /api/v1/orders/{order_id}/provisions/{provision_id}/schedule                      put-schedule        200 ScheduleView
//	DELETE /api/v1/orders/{order_id}/provisions/{provision_id}/schedule                      delete-schedule     204
//	GET    /api/v1/orders/{order_id}/provisions/{provision_id}/schedule/runs                 list-schedule-runs  200 ScheduleRunList
//	GET    /api/v1/assets/{asset_id}                                                         download-asset  200/206 file
//
// IDs in paths must be UUIDs in canonical form. The create and schedule bodies
// are at most 4 KiB and unknown fields in them are refused, so a misspelt field
// is an error rather than silently ignored. A service without a schedule store
// answers the schedule routes with 501 schedules_unavailable.
//
// # Errors
//
// Every error response is a Problem (application/problem+json) whose code comes
// from one table in errors.go; clients branch on the code. huma's own errors
// (validation, malformed or oversized bodies) get the same shape through a
// response transformer that Register installs on its operations only, so no huma
// package global (huma.NewError) is changed and the host's other routes are left
// alone. Errors the table does not know are 500 internal: the client gets a
// generic detail and an instance ID, the log gets the cause. ProblemFor gives a
// host's own handlers the same mapping, e.g. for its reprovision endpoint:
//
//	if err := svc.EnsureNoActiveOperation(ctx, order); err != nil {
//		return nil, sphttp.ProblemFor(err) // 409 backup_in_progress
//	}
//
// # Downloads
//
// download-asset streams the file with bounded memory, with Content-Length,
// Content-Disposition (filename, plus filename* for names that are not ASCII),
// the archive's SHA-256 as a strong ETag, and Accept-Ranges. A single range
// (bytes=a-b, bytes=a-, bytes=-n) gets 206 with Content-Range; a range outside the
// file gets 416 with Content-Range: bytes */size; a request for several ranges
// gets the whole file (200), which RFC 9110 allows. If-Range with the ETag makes
// a resumed download safe.
//
// # OpenAPI
//
// OpenAPI returns the document of these operations, and `go generate` writes it
// to openapi.yaml at the repository root, from which the dashboard's types are
// generated; a test fails when the committed file is stale.
package http

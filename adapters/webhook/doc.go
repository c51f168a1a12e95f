// Package webhook delivers the activity log's events (ports.Activity) to the
// host's webhook endpoints as signed HTTP POSTs: at least once, and in order
// per endpoint, hence per backup.
//
// # Deliveries
//
// Each event is one POST of a JSON body (Event):
//
//	{"id": 1234, "type": "backup.ready", "order_id": "…", "provision_id": "…",
//	 "backup_id": "…" or null, "backup_name": "…",
//	 "actor": {"kind": "user", "user_id": "…"}, "at": "2026-03-14T15:09:26.535897Z",
//	 "reason": "…" (only for failures and skipped runs)}
//
// with the headers
//
//	Content-Type: application/json
//	User-Agent: savepoint-webhook
//	Savepoint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//	Savepoint-Event-Id: <endpoint id>:<event id>
//	Idempotency-Key: <endpoint id>:<event id>
//
// A receiver answers 2xx once it has taken the event; anything else (a
// redirect included) or no answer within Options.Timeout is a failure.
//
// # Verifying a delivery
//
// To verify, a receiver takes t and every v1 from the header, computes
// HMAC-SHA256 with the endpoint's secret over the decimal t, a full stop and
// the raw body bytes, and compares its hex with v1 in constant time; it then
// refuses a t further than a few minutes from its clock, so that a captured
// request cannot be replayed later. Verify does exactly that in Go. Then, since
// a delivery may come more than once, the receiver ignores an
// Idempotency-Key it has processed before.
//
// # Order and durability
//
// The activity log is the outbox: the stores write each event in the
// transaction of the change it records, so an event exists exactly when its
// change happened. The dispatcher follows it with one cursor per endpoint
// (ports.WebhookCursors, stored durably by the postgres package): the ID of
// the last event the endpoint accepted. It sends the events after the cursor
// oldest first and moves the cursor past one only after a 2xx; an event that
// fails is retried, and nothing after it is sent until it succeeds, with
// exponential backoff (Options.MinBackoff doubling up to Options.MaxBackoff,
// jittered), the attempts, next attempt time and last error stored with the
// cursor. A process that dies between the receiver's 2xx and saving the cursor
// sends that event again: hence at least once, and the idempotency key.
//
// The log is read as a whole, every order's events, and an endpoint limited to
// one order (WebhookEndpoint.OrderID) passes the others over. That keeps holes
// in the IDs visible. The postgres package's writers make events visible in
// the order of their IDs, so there a hole is an event that will never appear
// (a write that rolled back, or an order's erased history). A log without that
// ordering may show an event before one with a smaller ID whose transaction
// has not committed yet; for such a log the endpoint waits at a hole (up to
// Options.GapWait, less when the events after the hole are older than that)
// rather than let the next event overtake the missing one, and for ever lose
// it.
//
// Several replicas may run a dispatcher on the same stores: each endpoint's
// cursor is leased to one of them at a time (Claim), for a delivery's timeout
// plus a margin and renewed before each delivery, so that one endpoint's
// events are sent by one replica at a time, in order. A lease relies on
// clocks, it is not a lock: a replica stalled for longer than the lease (a
// long garbage-collection pause, a stopped virtual machine) may still send
// the POST it was about to make, or have it in flight, when another replica
// has taken the endpoint over and sent that event and maybe later ones. The
// stalled replica sends nothing more and cannot move the cursor (its Save
// fails: the lease is no longer its), so such an overlap costs one duplicate
// of an event already sent, possibly arriving after later events, which its
// idempotency key identifies. A lease rather than a row lock held through the
// delivery, because a transaction open for as long as a slow receiver takes
// would hold one of the pool's connections, which the backups need. A replica
// killed mid-delivery holds its endpoints until their leases expire; then
// another replica, or the restarted one, sends the unacknowledged event again.
//
// The events are not River jobs, although the project runs River
// (adapters/river): independent jobs, one per event, would retry a failed
// event on their own while the next event's job went ahead, so a receiver
// could see a backup deleted before it saw it ready. The cursor is what keeps
// order; with it one endpoint's delivery is a loop, not a queue.
//
// A new endpoint starts at the newest event (LatestActivity), so it is sent
// what happens from then on, not the history, unless WebhookEndpoint.Backfill
// says otherwise. Its ID is its identity: a new ID is a new endpoint.
//
// Deliveries never hold up backups: they follow the log from Run's goroutine,
// after the changes have committed, each bounded by Options.Timeout; endpoints
// are delivered concurrently (up to Options.MaxConcurrent, beyond which they
// take turns a batch at a time), so a slow or dead receiver delays only its
// own events, and a busy endpoint never starves the others.
//
// # Targets
//
// Endpoint URLs are the host's, possibly typed in by its customers, so the
// dispatcher refuses to be pointed at the platform's own network (SSRF):
//
//   - only https:// URLs, unless Options.AllowHTTP; no user name or password
//     in the URL;
//   - connections are made only to global unicast addresses outside IANA's
//     special-purpose ranges: loopback (127/8, ::1), private (10/8,
//     172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud
//     metadata address, fe80::/10), shared (100.64/10), unspecified,
//     this-network (0/8), benchmarking (198.18/15), reserved (240/4),
//     documentation, site-local (fec0::/10), broadcast and multicast
//     addresses among others are refused unless Options.AllowPrivateTargets.
//     An IPv6 address that carries an IPv4 one (IPv4-mapped ::ffff:0:0/96,
//     IPv4-compatible ::/96, 6to4 2002::/16, NAT64 64:ff9b::/96 and
//     64:ff9b:1::/48 with the IPv4 address in its last four bytes) is refused
//     when that IPv4 address is; Teredo (2001::/32) always is. The check runs on
//     the address being connected to, after name resolution
//     (net.Dialer.Control), so a name that resolves to such an address —
//     at once, or only later (DNS rebinding) — is refused too. No proxy is
//     used, since it would connect on the dispatcher's behalf;
//   - redirects are not followed, and at most 4 KiB of an answer is read.
//
// Options.ValidateURL lets a host check a URL when it is registered.
//
// Neither secrets nor URLs (which may carry tokens) are logged or stored with
// the cursors.
package webhook

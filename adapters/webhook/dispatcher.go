package webhook

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// Defaults of Options.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultPollInterval  = time.Second
	DefaultBatchSize     = 100
	DefaultMaxConcurrent = 16
	DefaultGapWait       = 5 * time.Second
)

// leaseSlack is how much longer than one delivery's timeout an endpoint's lease
// lasts: time to save the cursor after the receiver answers. A dispatcher
// killed mid-delivery holds the endpoint for at most Timeout plus this.
const leaseSlack = 10 * time.Second

// maxResponseBytes is how much of a receiver's answer is read: enough for an
// error message, never a receiver's whole page.
const maxResponseBytes = 4 << 10

// Options tune a Dispatcher. The zero value is the documented defaults.
type Options struct {
	// Timeout bounds one delivery, from dialling to the end of the answer.
	// Default DefaultTimeout (10 s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before an event that failed is
	// tried again: MinBackoff after the first failure, doubling with each
	// further one up to MaxBackoff, each wait jittered down by up to half.
	// Defaults DefaultMinBackoff (1 s) and DefaultMaxBackoff (5 min).
	MinBackoff, MaxBackoff time.Duration
	// PollInterval is how often the log is read for new events when Wake is
	// not called. Default DefaultPollInterval (1 s).
	PollInterval time.Duration
	// BatchSize is how many events one read of the log returns, at most
	// ports.MaxActivityPage. Default DefaultBatchSize (100).
	BatchSize int
	// MaxConcurrent is how many endpoints are delivered to at once by this
	// dispatcher; when more have events, they take turns, a batch at a time.
	// Default DefaultMaxConcurrent (16).
	MaxConcurrent int
	// GapWait is how long an endpoint waits at a hole in the log's IDs before
	// going past it. With the postgres package's log, whose writers make
	// events visible in ID order, a hole is never an event still to appear,
	// only one that never will: a write that rolled back, or an order's
	// erased history (DeleteOrderActivity). The wait guards logs without that
	// ordering, where an ID taken when an event is written becomes visible
	// only when its transaction commits, so a hole may be an event about to
	// appear, which must not be overtaken. A hole is passed after GapWait, or at once when
	// the event after it is older than GapWait, as a transaction that started
	// before it would have committed by then. Default DefaultGapWait (5 s).
	GapWait time.Duration
	// AllowHTTP lets endpoints use http:// URLs. Without it only https:// is
	// accepted, so that the signature's secret-derived MAC and the events are
	// not sent in the clear.
	AllowHTTP bool
	// AllowPrivateTargets lets endpoints resolve to loopback, private,
	// link-local and other internal addresses (for tests and demos on one
	// machine). Without it such connections are refused.
	AllowPrivateTargets bool
	// RootCAs are the roots receivers' TLS certificates are checked against.
	// Default: the system's.
	RootCAs *x509.CertPool
	// Owner names this dispatcher in the endpoints' leases. Default: random,
	// which is what replicas need; a fixed name lets a restarted process take
	// back the leases of its previous run at once.
	Owner string
	// Logger receives delivery failures (at warn) and successes (at debug).
	// It never receives a secret or an endpoint's URL. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock of signatures and retry times. Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	o.BatchSize = min(o.BatchSize, ports.MaxActivityPage)
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.GapWait <= 0 {
		o.GapWait = DefaultGapWait
	}
	if o.Owner == "" {
		b := make([]byte, 8)
		_, _ = crand.Read(b) // crypto/rand.Read never returns an error
		o.Owner = "dispatcher-" + hex.EncodeToString(b)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Dispatcher delivers the activity log's events to the host's webhook
// endpoints: each endpoint's events in order, at least once, signed. See the
// package doc.
type Dispatcher struct {
	activity  ports.ActivityLog
	endpoints ports.WebhookEndpoints
	cursors   ports.WebhookCursors
	opts      Options
	client    *http.Client
	log       *slog.Logger
	wake      chan struct{}
	slots     chan struct{}

	mu        sync.Mutex
	running   bool
	busy      map[string]bool             // endpoints being delivered by this dispatcher
	notBefore map[string]time.Time        // endpoints backing off, as last seen here
	created   map[string]bool             // endpoints whose cursor exists
	caughtUp  map[string]ports.ActivityID // endpoints with nothing left after this ID, as last seen here
	gaps      map[string]gap              // holes endpoints are waiting at
	next      int                         // where in the endpoints' list the next poll starts

	lifecycle lifecycle          // of Start and Shutdown
	stop      context.CancelFunc // of Start's Run
	stopped   chan struct{}
	stopOnce  sync.Once
}

// lifecycle is where a Dispatcher is between Start and Shutdown: each happens
// once, in that order, so that one Run is started and stopped.
type lifecycle int

const (
	notStarted lifecycle = iota
	started
	shutDown
)

// gap is a hole after cursor position after, first seen at seen.
type gap struct {
	after ports.ActivityID
	seen  time.Time
}

// New returns a Dispatcher that reads events from activity and delivers them
// to endpoints, keeping each endpoint's place in cursors. Call Run, or Start.
func New(activity ports.ActivityLog, endpoints ports.WebhookEndpoints, cursors ports.WebhookCursors, opts Options) (*Dispatcher, error) {
	if activity == nil || endpoints == nil || cursors == nil {
		return nil, errors.New("webhook: New needs an activity log, endpoints and cursors")
	}
	opts = opts.withDefaults()
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second, Control: dialControl(opts.AllowPrivateTargets)}
	transport := &http.Transport{
		// No proxy: a proxy would dial the target itself, past the address check.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    opts.Timeout,
		ResponseHeaderTimeout:  opts.Timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
	}
	return &Dispatcher{
		activity: activity, endpoints: endpoints, cursors: cursors, opts: opts,
		client: &http.Client{
			Transport: transport,
			// A redirect is an answer, not a 2xx: following it could lead past
			// the URL's checks to wherever the receiver points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:       opts.Logger,
		wake:      make(chan struct{}, 1),
		slots:     make(chan struct{}, opts.MaxConcurrent),
		busy:      map[string]bool{},
		notBefore: map[string]time.Time{},
		created:   map[string]bool{},
		caughtUp:  map[string]ports.ActivityID{},
		gaps:      map[string]gap{},
		stopped:   make(chan struct{}),
	}, nil
}

// Wake makes Run read the log now rather than at the next poll, for a host
// that knows an event was just recorded. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends, then waits for the deliveries in flight
// (which ctx cancels), closes the idle connections to receivers and returns
// nil. Failures of the log, the cursors or the
// receivers are logged and retried, never returned. A Dispatcher runs once at
// a time: a second Run while one runs returns an error.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("webhook: the dispatcher is already running")
	}
	d.running = true
	d.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		// No keep-alive connection, nor its goroutines, outlives Run.
		d.client.CloseIdleConnections()
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	tick := time.NewTicker(d.opts.PollInterval)
	defer tick.Stop()
	for {
		d.poll(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-d.wake:
		}
	}
}

// Start places every new endpoint's cursor (at the newest event, or the
// log's start for Backfill), so that the events recorded once it returns are
// delivered, then runs Run in a goroutine until Shutdown. A host that starts
// the dispatcher before serving requests thus loses none of their events.
// Start succeeds once: called again, or after Shutdown, it returns an error;
// after it failed it may be called again.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	switch d.lifecycle {
	case started:
		d.mu.Unlock()
		return errors.New("webhook: the dispatcher was already started")
	case shutDown:
		d.mu.Unlock()
		return errors.New("webhook: the dispatcher was shut down")
	}
	d.lifecycle = started
	d.mu.Unlock()
	if err := d.placeCursors(ctx); err != nil {
		d.mu.Lock()
		if d.lifecycle == started {
			d.lifecycle = notStarted
		}
		d.mu.Unlock()
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	d.mu.Lock()
	if d.lifecycle == shutDown { // Shutdown came while the cursors were placed
		d.mu.Unlock()
		cancel()
		return errors.New("webhook: the dispatcher was shut down")
	}
	d.stop = cancel
	d.mu.Unlock()
	go func() {
		defer close(d.stopped)
		if err := d.Run(runCtx); err != nil {
			d.log.Error("webhook dispatcher did not start", "err", err)
		}
	}()
	return nil
}

// placeCursors creates the cursors of the endpoints that have none, as their
// first delivery would.
func (d *Dispatcher) placeCursors(ctx context.Context) error {
	eps, err := d.endpoints.List(ctx)
	if err != nil {
		return fmt.Errorf("webhook: listing the endpoints: %w", err)
	}
	latest, err := d.activity.LatestActivity(ctx)
	if err != nil {
		return fmt.Errorf("webhook: reading the newest activity: %w", err)
	}
	for _, ep := range eps {
		if ep.ID == "" {
			continue
		}
		start := latest
		if ep.Backfill {
			start = 0
		}
		cur, ok, err := d.cursors.Claim(ctx, ep.ID, d.opts.Owner, start, d.lease())
		if err != nil {
			return fmt.Errorf("webhook: placing the cursor of endpoint %q: %w", ep.ID, err)
		}
		if ok { // else another replica holds it: it exists
			if err := d.cursors.Save(ctx, d.opts.Owner, cur, 0); err != nil {
				return fmt.Errorf("webhook: placing the cursor of endpoint %q: %w", ep.ID, err)
			}
		}
		d.mu.Lock()
		d.created[ep.ID] = true
		d.mu.Unlock()
	}
	return nil
}

// Shutdown stops what Start started, cancelling deliveries in flight (their
// events are delivered again later), waits for it until ctx ends, and closes
// the idle connections to receivers. The dispatcher cannot be started again.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.lifecycle = shutDown
	stop := d.stop
	d.mu.Unlock()
	defer d.client.CloseIdleConnections()
	if stop == nil {
		return nil
	}
	d.stopOnce.Do(stop)
	select {
	case <-d.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// poll starts a delivery for every endpoint that is not being delivered here,
// is not backing off, may have events to deliver, and fits in MaxConcurrent;
// the rest wait for a later poll. Each poll starts after the endpoint the last
// one started, and a delivery gives its slot back after one batch (waking the
// next poll when it left events behind), so that when more endpoints have
// events than there are slots they take turns, however steady the stream. An
// idle poll costs one read of the newest ID, however many endpoints there are.
func (d *Dispatcher) poll(ctx context.Context, wg *sync.WaitGroup) {
	eps, err := d.endpoints.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("listing the webhook endpoints failed", "err", err)
		}
		return
	}
	latest, err := d.activity.LatestActivity(ctx)
	if err != nil {
		d.storeFailed(ctx, d.log, "reading the newest activity", err)
		return
	}
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	first := 0
	if len(eps) > 0 {
		first = d.next % len(eps)
	}
	for i := range eps {
		ep := eps[(first+i)%len(eps)]
		if d.busy[ep.ID] || now.Before(d.notBefore[ep.ID]) {
			continue
		}
		if pos, ok := d.caughtUp[ep.ID]; ok && pos >= latest {
			continue
		}
		select {
		case d.slots <- struct{}{}:
		default:
			return
		}
		d.busy[ep.ID] = true
		d.next = (first + i + 1) % len(eps)
		wg.Go(func() {
			more := false
			defer func() {
				<-d.slots
				d.mu.Lock()
				delete(d.busy, ep.ID)
				d.mu.Unlock()
				if more {
					d.Wake()
				}
			}()
			more = d.deliverEndpoint(ctx, ep)
		})
	}
}

func (d *Dispatcher) lease() time.Duration { return d.opts.Timeout + leaseSlack }

// deliverEndpoint claims ep's cursor and delivers its events after it, oldest
// first, until none is left, one fails, a hole in the IDs is to be waited at,
// or one batch was delivered while more events followed: then it reports
// more, and the endpoint waits its turn for the next batch. The cursor moves
// past an event only once the receiver answered 2xx.
func (d *Dispatcher) deliverEndpoint(ctx context.Context, ep ports.WebhookEndpoint) (more bool) {
	log := d.log.With("endpoint_id", ep.ID)
	if ep.ID == "" {
		log.Warn("a webhook endpoint has no ID; it is skipped")
		return
	}
	d.mu.Lock()
	created := d.created[ep.ID]
	d.mu.Unlock()
	var start ports.ActivityID
	if !created && !ep.Backfill {
		latest, err := d.activity.LatestActivity(ctx)
		if err != nil {
			d.storeFailed(ctx, log, "reading the newest activity", err)
			return
		}
		start = latest
	}
	cur, ok, err := d.cursors.Claim(ctx, ep.ID, d.opts.Owner, start, d.lease())
	if err != nil {
		d.storeFailed(ctx, log, "claiming the webhook cursor", err)
		return
	}
	if !ok {
		return // another replica delivers it
	}
	d.mu.Lock()
	d.created[ep.ID] = true
	delete(d.caughtUp, ep.ID)
	d.mu.Unlock()

	lost := false
	release := func() {
		if lost {
			return
		}
		// Detached from ctx, so that a shutdown still records what was delivered.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := d.cursors.Save(sctx, d.opts.Owner, cur, 0); err != nil {
			d.storeFailed(ctx, log, "saving the webhook cursor", err)
		}
	}
	defer release()

	if now := d.opts.Now(); now.Before(cur.NextAttemptAt) {
		d.setNotBefore(ep.ID, cur.NextAttemptAt)
		return
	}
	for batches := 0; ctx.Err() == nil; batches++ {
		events, err := d.activity.ActivitySince(ctx, cur.Delivered, ports.OrderID{}, d.opts.BatchSize)
		if err != nil {
			d.storeFailed(ctx, log, "reading the activity log", err)
			return
		}
		if len(events) == 0 {
			d.mu.Lock()
			d.caughtUp[ep.ID] = cur.Delivered
			d.mu.Unlock()
			return
		}
		if batches > 0 {
			return true // the other endpoints' turn
		}
		for _, e := range events {
			if e.ID != cur.Delivered+1 && d.opts.Now().Sub(e.At) < d.opts.GapWait && !d.gapPassed(ep.ID, cur.Delivered) {
				return // a poll comes back to it
			}
			if !ep.OrderID.IsZero() && e.OrderID != ep.OrderID {
				cur.Delivered = e.ID // not this endpoint's: passed over
				continue
			}
			// Renewed before each delivery, so that the lease outlasts it.
			if err := d.cursors.Save(ctx, d.opts.Owner, cur, d.lease()); err != nil {
				d.storeFailed(ctx, log, "renewing the webhook lease", err)
				lost = errors.Is(err, ports.ErrWebhookLeaseLost) // then the cursor is another's to save
				return
			}
			if err := d.deliver(ctx, ep, e); err != nil {
				if ctx.Err() != nil {
					return // shutting down: the event is delivered later, as it was not accepted
				}
				cur.Attempts++
				cur.NextAttemptAt = d.opts.Now().Add(d.backoff(cur.Attempts))
				cur.LastError = err.Error()
				d.setNotBefore(ep.ID, cur.NextAttemptAt)
				log.Warn("webhook delivery failed; it will be retried", "event_id", e.ID, "type", e.Type,
					"attempts", cur.Attempts, "next_attempt_at", cur.NextAttemptAt, "err", cur.LastError)
				return
			}
			log.Debug("webhook delivered", "event_id", e.ID, "type", e.Type)
			cur.Delivered, cur.Attempts, cur.NextAttemptAt, cur.LastError = e.ID, 0, time.Time{}, ""
		}
	}
	return false // shutting down
}

// gapPassed reports whether the endpoint, at after, has waited GapWait at the
// hole that follows.
func (d *Dispatcher) gapPassed(endpoint string, after ports.ActivityID) bool {
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.gaps[endpoint]
	if !ok || g.after != after {
		d.gaps[endpoint] = gap{after: after, seen: now}
		return false
	}
	if now.Sub(g.seen) < d.opts.GapWait {
		return false
	}
	delete(d.gaps, endpoint)
	return true
}

func (d *Dispatcher) setNotBefore(endpoint string, t time.Time) {
	d.mu.Lock()
	d.notBefore[endpoint] = t
	d.mu.Unlock()
}

// storeFailed logs a failure of the log or the cursors, unless it is the
// shutdown's cancellation.
func (d *Dispatcher) storeFailed(ctx context.Context, log *slog.Logger, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	log.Warn(what+" failed; retried at the next poll", "err", err)
}

// backoff returns the wait after the attempts-th failure in a row: MinBackoff
// doubled per further failure, capped at MaxBackoff, less up to half at random
// so that endpoints that failed together do not retry together.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.opts.MaxBackoff
	if attempts-1 < 62 {
		if exp := d.opts.MinBackoff << (attempts - 1); exp > 0 && exp < b {
			b = exp
		}
	}
	return b - rand.N(b/2+1)
}

// deliver POSTs e to ep and returns nil when the receiver answered 2xx. Its
// errors never hold the URL, which may carry a token.
func (d *Dispatcher) deliver(ctx context.Context, ep ports.WebhookEndpoint, a ports.Activity) error {
	if len(ep.Secret) == 0 {
		return errors.New("the endpoint has no secret to sign with")
	}
	u, err := d.opts.checkURL(ep.URL)
	if err != nil {
		return err
	}
	body, err := json.Marshal(NewEvent(a))
	if err != nil {
		return fmt.Errorf("encoding the event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("the URL cannot make a request")
	}
	key := ep.ID + ":" + strconv.FormatInt(int64(a.ID), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "savepoint-webhook")
	req.Header.Set(SignatureHeader, Sign(ep.Secret, body, d.opts.Now()))
	req.Header.Set("Savepoint-Event-Id", key)
	req.Header.Set("Idempotency-Key", key)
	resp, err := d.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL
		}
		return fmt.Errorf("POST failed: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := "HTTP " + resp.Status
	if s := printable(answer, 200); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

// printable returns at most n bytes of b's text, with control characters as
// spaces, for an error message.
func printable(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "�")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = ports.TruncateWebhookError(s[:n])
	}
	return s
}

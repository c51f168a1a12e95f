package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// Quiescer pauses and resumes a game's writes, for example Minecraft's
// `save-off` + `save-all flush` and `save-on`. The server calls Pause before an
// archive asking for it reads the first file and Resume once the archive has read
// the last one; concurrent archives share one pause. Resume must undo whatever
// part of a failed Pause took effect, and must be safe to call when the game is
// not paused (it also runs after a Pause that failed, and after a restart).
type Quiescer interface {
	// Method names the method on the backup's report: "rcon", "exec".
	Method() string
	// Pause asks the game to flush its data to disk and stop writing.
	Pause(ctx context.Context) error
	// Resume asks the game to write again.
	Resume(ctx context.Context) error
}

// DefaultQuiesceTimeout bounds each Pause and each Resume when
// Options.QuiesceTimeout is zero.
const DefaultQuiesceTimeout = 30 * time.Second

// ResumeMarker is the file in the state directory that says a Resume is owed: it
// exists from before a Pause until a Resume succeeded, so a sidecar killed while
// the game's saving is off turns it back on when it starts again.
const ResumeMarker = "quiesce-resume-owed.json"

// How the server retries a failed Resume in the background (at start the game
// may still be booting; a network blip must not leave its saving off), and
// after how long it logs an error that asks for a hand.
const (
	resumeRetryFirst = time.Second
	resumeRetryMax   = 30 * time.Second
	resumeRetryFor   = 5 * time.Minute
)

// resumeMarker is the content of the marker, for the humans who find it.
type resumeMarker struct {
	Method string    `json:"method"`
	Since  time.Time `json:"since"`
}

// pauser shares one pause of the game among the archives that run at once: the
// first to arrive pauses, the last to leave resumes. Every Pause and Resume runs
// under mu, so that a Resume ending one pause can never overtake the Pause that
// starts the next, and callers joining a pause in progress wait until it took
// effect. Both are bounded by the timeout, so mu is never held for long.
type pauser struct {
	q          Quiescer // nil: this sidecar has no method
	timeout    time.Duration
	marker     string // path of the resume marker
	log        *slog.Logger
	retryFirst time.Duration
	retryMax   time.Duration
	retryFor   time.Duration

	mu       sync.Mutex
	cur      *pause // the pause archives hold now, or nil
	owed     bool   // the marker exists: a Resume has not yet succeeded
	retrying bool   // the background resume runs
	stop     chan struct{}
	closed   bool
	bg       sync.WaitGroup
}

// pause is one pause of the game, shared by the archives that hold it.
type pause struct {
	holders int
	start   time.Time // when Pause returned
	err     error     // why Pause failed, or nil
}

func newPauser(o Options) *pauser {
	p := &pauser{
		q: o.Quiescer, timeout: o.QuiesceTimeout, marker: filepath.Join(o.StateDir, ResumeMarker), log: o.Logger,
		retryFirst: resumeRetryFirst, retryMax: resumeRetryMax, retryFor: resumeRetryFor, stop: make(chan struct{}),
	}
	if o.hooks != nil && o.hooks.resumeRetry > 0 {
		d := o.hooks.resumeRetry
		p.retryFirst, p.retryMax, p.retryFor = d, d, 10*d
	}
	return p
}

// recoverPause resumes, in the background, a pause that an earlier run left: the
// marker outlives a killed process.
func (p *pauser) recoverPause() {
	b, err := os.ReadFile(p.marker)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var m resumeMarker
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		// Unreadable, but its presence is what matters: resume anyway.
		p.log.Warn("quiesce: the resume marker cannot be read; resuming the game anyway", "marker", p.marker, "error", err)
	}
	if p.q == nil {
		p.log.Error("quiesce: an earlier run paused the game's writes and did not resume them, and no quiesce method is configured now: turn the game's saving back on by hand (for Minecraft, save-on), then delete the marker",
			"method", m.Method, "since", m.Since, "marker", p.marker)
		return
	}
	p.log.Warn("quiesce: an earlier run paused the game's writes and did not resume them; resuming now", "method", p.q.Method(), "paused_by", m.Method, "since", m.Since)
	p.mu.Lock()
	p.owed = true
	p.startRetry(true)
	p.mu.Unlock()
}

// close stops the background resume and waits for it. A Resume still owed stays
// in the marker, for the next start.
func (p *pauser) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.bg.Wait()
}

// pauseHold is one archive's share of a pause; end releases it.
type pauseHold struct {
	p      *pauser
	pause  *pause
	method string
	joined time.Time
	report *sidecarpb.QuiesceReport
	ended  bool
}

// begin pauses the game for one archive under the caller's policy, or joins the
// pause in progress. It returns an error only under QUIESCE_POLICY_REQUIRED, when
// the game could not be paused (or this sidecar has no method); the pause is then
// already undone. The caller must call end once the archive has read its files;
// end may be called more than once.
func (p *pauser) begin(ctx context.Context, policy sidecarpb.QuiescePolicy) (*pauseHold, error) {
	h := &pauseHold{p: p}
	switch policy {
	case sidecarpb.QuiescePolicy_QUIESCE_POLICY_UNSPECIFIED:
		h.ended = true
		return h, nil
	case sidecarpb.QuiescePolicy_QUIESCE_POLICY_CONTINUE, sidecarpb.QuiescePolicy_QUIESCE_POLICY_REQUIRED:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown quiesce policy %v", policy)
	}
	if p.q == nil {
		if policy == sidecarpb.QuiescePolicy_QUIESCE_POLICY_REQUIRED {
			return nil, reasoned(codes.FailedPrecondition, sidecarpb.ReasonQuiesceFailed, "the game could not be paused: this sidecar has no quiesce method configured", "")
		}
		// Nothing was asked of the game: the report says so by its empty method.
		h.ended = true
		h.report = &sidecarpb.QuiesceReport{}
		return h, nil
	}
	h.method = p.q.Method()
	p.mu.Lock()
	if p.cur == nil {
		if err := p.pauseLocked(ctx); err != nil {
			// A failed Pause may have half taken effect (saving off, the flush
			// not done): undo it now, not after an archive that is not paused
			// anyway, and leave no pause behind, so the next archive tries
			// afresh.
			rerr := p.resumeLocked(&pause{err: err})
			p.mu.Unlock()
			if policy == sidecarpb.QuiescePolicy_QUIESCE_POLICY_REQUIRED {
				return nil, reasoned(codes.FailedPrecondition, sidecarpb.ReasonQuiesceFailed, fmt.Sprintf("the game could not be paused (%s), so nothing was archived: %v", h.method, err), err.Error())
			}
			h.ended = true
			h.report = &sidecarpb.QuiesceReport{Method: h.method, Warning: "the game was not paused: " + err.Error()}
			addResumeWarning(h.report, rerr)
			return h, nil
		}
		p.cur = &pause{start: time.Now()}
	}
	h.pause = p.cur
	h.pause.holders++
	h.joined = time.Now()
	p.mu.Unlock()
	return h, nil
}

// addResumeWarning adds to r's warning that the game could not be told to
// resume saving, when err says so.
func addResumeWarning(r *sidecarpb.QuiesceReport, err error) {
	if err == nil {
		return
	}
	warn := "the game could not be told to resume saving: " + err.Error() + "; the sidecar keeps trying"
	if r.Warning != "" {
		r.Warning += "; " + warn
	} else {
		r.Warning = warn
	}
}

// pauseLocked records that a Resume is owed, then pauses the game. p.mu is held.
func (p *pauser) pauseLocked(ctx context.Context) error {
	// The marker comes first: a process killed during or after Pause must find
	// it at its next start. Without it there is no pause, since nothing would
	// resume the game after a crash.
	if err := p.writeMarker(); err != nil {
		p.log.Error("quiesce: cannot record that the game will need resuming, so it is not paused", "marker", p.marker, "error", err)
		return fmt.Errorf("the sidecar could not record the pause in its state directory: %w", err)
	}
	p.owed = true
	start := time.Now()
	// The caller's cancellation does not cut a Pause short: others may be
	// waiting on it, and a half-done one is undone by the Resume that follows.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	if err := p.q.Pause(pctx); err != nil {
		p.log.Warn("quiesce: pausing the game failed", "method", p.q.Method(), "duration", time.Since(start).Round(time.Millisecond), "error", err)
		return err
	}
	p.log.Info("quiesce: game paused", "method", p.q.Method(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// end releases the archive's share of the pause; the last archive to leave
// resumes the game. It never uses the request's context: a cancelled call, or a
// client gone, must not leave the game's saving off. It returns the report of
// what was done for this archive (nil when nothing was asked).
func (h *pauseHold) end() *sidecarpb.QuiesceReport {
	if h.ended {
		return h.report
	}
	h.ended = true
	p := h.p
	paused := time.Since(h.joined)
	p.mu.Lock()
	defer p.mu.Unlock()
	h.pause.holders--
	var rerr error
	if h.pause.holders == 0 {
		p.cur = nil
		rerr = p.resumeLocked(h.pause)
	}
	h.report = &sidecarpb.QuiesceReport{Method: h.method, PausedMs: paused.Milliseconds()}
	addResumeWarning(h.report, rerr)
	return h.report
}

// resumeLocked resumes the game after pause pa, also after a Pause that failed
// (which may have half taken effect), and, when it fails, leaves the marker and
// retries in the background. p.mu is held.
func (p *pauser) resumeLocked(pa *pause) error {
	err := p.resumeNowLocked()
	switch {
	case err != nil:
		p.startRetry(false)
	case pa.err == nil:
		p.log.Info("quiesce: game resumed", "method", p.q.Method(), "paused", time.Since(pa.start).Round(time.Millisecond))
	default:
		p.log.Info("quiesce: game resumed after a failed pause", "method", p.q.Method())
	}
	return err
}

// resumeNowLocked runs Resume once and forgets the marker when it succeeds. p.mu
// is held.
func (p *pauser) resumeNowLocked() error {
	if !p.owed {
		// The marker could not even be written, so Pause never ran.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	if err := p.q.Resume(ctx); err != nil {
		p.log.Warn("quiesce: resuming the game failed; the sidecar keeps trying", "method", p.q.Method(), "error", err)
		return err
	}
	if err := p.removeMarker(); err != nil {
		// Harmless: the next start resumes a game that is not paused.
		p.log.Warn("quiesce: could not delete the resume marker", "marker", p.marker, "error", err)
	}
	p.owed = false
	return nil
}

// startRetry starts the background resume unless it runs; now makes its first
// attempt at once. p.mu is held.
func (p *pauser) startRetry(now bool) {
	if p.retrying || p.closed {
		return
	}
	p.retrying = true
	p.bg.Add(1)
	go p.retry(now)
}

// retry resumes the game until a Resume succeeds or the server stops, with a
// growing delay, and says so loudly once it has failed for retryFor: a game left
// with its saving off loses everything since the last save when it crashes, so
// the sidecar never gives up on it. An archive that pauses meanwhile takes over
// (its own end resumes).
func (p *pauser) retry(now bool) {
	defer p.bg.Done()
	deadline, warned := time.Now().Add(p.retryFor), false
	delay := p.retryFirst
	if now {
		delay = 0
	}
	for {
		select {
		case <-p.stop:
			p.mu.Lock()
			p.retrying = false
			p.mu.Unlock()
			return
		case <-time.After(delay):
		}
		p.mu.Lock()
		if !p.owed {
			p.retrying = false
			p.mu.Unlock()
			return
		}
		if p.cur == nil {
			if err := p.resumeNowLocked(); err == nil {
				p.retrying = false
				p.mu.Unlock()
				p.log.Info("quiesce: game resumed", "method", p.q.Method())
				return
			}
		}
		if !warned && time.Now().After(deadline) {
			warned = true
			p.log.Error("quiesce: the game has not been told to resume saving for a while; the sidecar keeps trying: turn its saving back on by hand if this lasts (for Minecraft, save-on)",
				"method", p.q.Method(), "for", p.retryFor)
		}
		p.mu.Unlock()
		delay = min(max(2*delay, p.retryFirst), p.retryMax)
	}
}

// writeMarker stores the marker durably: a crash right after Pause must find it.
func (p *pauser) writeMarker() error {
	b, err := json.Marshal(resumeMarker{Method: p.q.Method(), Since: time.Now().UTC()})
	if err != nil {
		return err
	}
	tmp := p.marker + ".tmp"
	if err := writeSynced(tmp, b); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p.marker); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(p.marker))
}

// removeMarker deletes the marker. Should a crash undo the deletion, the next
// start resumes a game that is not paused, which is harmless.
func (p *pauser) removeMarker() error {
	if err := os.Remove(p.marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(p.marker))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

package sidecar

import (
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

// reportFromProto is the client's view of a report; nil (a server that does not
// report) is the zero report. The list is bounded here too, whatever the server
// sent.
func reportFromProto(p *sidecarpb.ArchiveReport) ports.ArchiveReport {
	if p == nil {
		return ports.ArchiveReport{}
	}
	r := ports.ArchiveReport{Entries: int(p.GetEntries()), Bytes: p.GetBytes(), SkippedCount: int(p.GetSkippedCount())}
	for _, s := range p.GetSkipped() {
		if len(r.Skipped) == ports.MaxSkippedListed {
			break
		}
		r.Skipped = append(r.Skipped, ports.SkippedFile{Path: s.GetPath(), Reason: s.GetReason()})
	}
	r.SkippedCount = max(r.SkippedCount, len(p.GetSkipped()))
	r.Excludes = p.GetExcludes()
	if q := p.GetQuiesce(); q != nil {
		r.Quiesce = ports.QuiesceReport{Method: q.GetMethod(), Paused: time.Duration(q.GetPausedMs()) * time.Millisecond, Warning: q.GetWarning()}
	}
	return r
}

// optionsToProto is the wire form of an archive's options; nil for the zero
// value, which a server that predates options reads the same way.
func optionsToProto(o ports.ArchiveOptions) *sidecarpb.ArchiveOptions {
	if len(o.Excludes) == 0 && o.Quiesce == ports.QuiesceOff {
		return nil
	}
	p := &sidecarpb.ArchiveOptions{Excludes: o.Excludes}
	switch o.Quiesce {
	case ports.QuiesceContinue:
		p.Quiesce = sidecarpb.QuiescePolicy_QUIESCE_POLICY_CONTINUE
	case ports.QuiesceRequired:
		p.Quiesce = sidecarpb.QuiescePolicy_QUIESCE_POLICY_REQUIRED
	}
	return p
}

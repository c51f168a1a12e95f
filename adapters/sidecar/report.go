package sidecar

import (
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
	return r
}

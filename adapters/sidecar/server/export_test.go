package server

import (
	"os"
	"time"
)

// SetFileOpenedHook makes the server built from o call f each time an archive has
// written a file's header and is about to read its content, with the file's name
// in the archive and the open file.
func SetFileOpenedHook(o *Options, f func(name string, file *os.File)) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.fileOpened = f
}

// SetExtractingHook makes the server built from o call f during each extraction,
// once its staging directory exists and before the archive is read.
func SetExtractingHook(o *Options, f func()) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.extracting = f
}

// DisableMeasure makes the server built from o stream archives without measuring
// their total, as it did before progress was reported.
func DisableMeasure(o *Options) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.noMeasure = true
}

// RemoveTree is removeTree, the removal of a restore's previous contents.
var RemoveTree = removeTree

// SetResumeRetry makes the server built from o wait d between its retries of a
// failed Resume, rather than a second growing to 30, and log that it needs a
// hand after 10d rather than minutes.
func SetResumeRetry(o *Options, d time.Duration) {
	if o.hooks == nil {
		o.hooks = &hooks{}
	}
	o.hooks.resumeRetry = d
}

// Package exclude holds the rules for the gitignore-style patterns that leave
// paths out of a backup: the limits every pattern set must stay within, so that a
// hostile .savepointignore file or request cannot stall or crash the sidecar.
// The backup service checks a request's patterns with the same limits the
// sidecar applies, so a pattern set is refused at the API, not halfway through
// a create.
package exclude

// Package rcon is a client of the Source RCON protocol, the remote console that
// Minecraft, Rust, ARK and Source-engine game servers offer over TCP, and a
// Quiescer that pauses a game's saving through it while a backup is taken.
//
// Dial connects and authenticates; Conn.Exec runs one command and returns its
// whole reply, however many packets it spans. Every failure wraps one of the
// package's errors (ErrAuth, ErrMalformed, …), a context error, a timeout
// (os.ErrDeadlineExceeded) or, when the game drops the connection,
// io.ErrUnexpectedEOF, and names the step that failed; no error message holds
// the password. The client keeps to what every server accepts: commands of at
// most MaxCommandBytes, one packet in flight at a time.
//
// A reply's end is found by sending an empty response-value packet once the
// reply has begun and reading until the game answers it, as Source servers and
// Minecraft do. A server that ignores that packet makes every Exec time out.
//
// Package rcontest, below this one, is an RCON server for tests.
package rcon

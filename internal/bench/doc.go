// Package bench is savepoint's end-to-end throughput benchmark (`make bench`):
// the whole pipeline measured the way a platform operator sees it, against the
// tools a game panel would otherwise use.
//
// Run generates a deterministic game-like dataset (internal/gamedata; cached
// between runs under .cache/bench) and a text-heavy one, starts the real pieces
// on loopback — two FileIO sidecar binaries over the game dataset (one
// streaming, one started with -disable-stream-archive to behave like a sidecar
// that predates StreamArchive) and a third, streaming, over the text tree,
// versitygw (over HTTPS in `make bench`, as production S3 endpoints are; see
// Config.S3TLS), and an example server in real mode with PostgreSQL in front of
// each sidecar — and measures, in the same run:
//
//   - the baseline: `tar -czf` of the dataset to a local file, and `tar -xzf` of
//     that file into an empty directory;
//   - create end to end over HTTP (POST → the backup reads `ready`), on the
//     streaming path and on the staged path (CompressFiles to the sidecar's temp
//     directory, then ReadFile);
//   - restore end to end (POST restore → `ready` again: download, checksum,
//     extract) into the data directory after it was damaged, then the directory
//     compared with the original tree, file by file.
//   - the text phase: on a text-heavy tree (gamedata.GenerateText: Lua, JSON,
//     logs; 200 MiB by default, Config.TextSize), `tar -czf` to a local file
//     and the streaming create end to end by a third pair, whose sidecar serves
//     that tree: the speed-up and the archive's size against tar's.
//
// For each phase it reports the time, MB/s (10^6 bytes of dataset per second),
// the speed-up over the baseline of the same run, the peak RSS (VmHWM) of the
// example server (the platform process) and of the sidecar, both restarted
// before every phase so that each figure is the phase's own; the CPU time of
// every process involved; how busy the machine's cores were and how long tasks
// waited for the disk (PSI), where other people's work on a shared machine
// shows; the durations the sidecar logged for its calls; and what the sidecar's
// temp directory held (an inotify watch: every file created in it, and the most
// bytes it held at once). Before every timed phase the page cache's dirty pages
// are written back (sync), so no phase pays for its predecessor's writes; the
// dataset itself stays in the page cache for the baseline and for savepoint
// alike.
//
// The heavy run is TestThroughput, enabled by -bench.size:
//
//	go test -count=1 -timeout 3h -run '^TestThroughput$' -v ./internal/bench \
//	    -args -bench.size=1GiB -bench.runs=3 -bench.out=bench-results.json
//
// TestThroughputSmall runs the same harness on 32 MiB in every `go test`, so
// the harness cannot rot; its timings mean nothing.
//
// Linux only: it reads /proc and watches with inotify.
package bench

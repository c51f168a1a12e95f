// Command sidecar is the savepoint FileIO sidecar: it runs in the game-server pod
// beside the game server and serves the FileIO gRPC service (compress, stream, write
// and safely extract the server's files) to the backup service.
//
//	sidecar -listen 0.0.0.0:7443 -secret-file /run/secrets/sidecar
//
// The secret is the per-pod shared secret every call must present; it comes from
// -secret-file, or else from the SAVEPOINT_SIDECAR_SECRET environment variable. The
// sidecar refuses to start without one unless -insecure-no-auth is given (local
// development only). It never logs the secret.
//
// -state-dir is where it keeps the journal of the temporary files and directories it
// creates in the roots, so that after a crash it removes or finishes exactly those
// and never a customer's file. It must lie outside every root, belongs to this one
// sidecar (it is locked), and should live as long as the data volume, for example
// a subPath of that volume mounted outside the data directory: with a new, empty
// state directory, what a killed restore or upload left stays in the data
// directory as ordinary files.
//
// -quiesce says how the sidecar pauses the game's writes while it archives them,
// for the backups that ask for it: none (the default: such backups either fail or
// go ahead unpaused, as they ask); rcon, which sends -rcon-pause before and
// -rcon-resume after each archive over Source RCON (Minecraft's save-off,
// save-all flush and save-on by default), to -rcon-addr with the password read
// from -rcon-password-file at every use; or exec, which runs -exec-pause before
// and -exec-resume after each archive (JSON argv arrays, run without a shell):
//
//	sidecar -quiesce rcon -rcon-addr 127.0.0.1:25575 -rcon-password-file /etc/savepoint/rcon-password
//	sidecar -quiesce exec -exec-pause '["/usr/bin/game-ctl","pause"]' -exec-resume '["/usr/bin/game-ctl","resume"]'
//
// Each command gets -quiesce-timeout. The resume always runs, also after a failed
// or cancelled archive, and, when the sidecar was killed while the game was
// paused, when it starts again with the same -state-dir.
//
// With -tls-cert and -tls-key it speaks TLS only. SIGTERM or SIGINT stop it
// gracefully: running calls get -shutdown-timeout to finish.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/rcon"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/server"
	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // the flag package printed the usage
		}
		fmt.Fprintln(os.Stderr, "sidecar:", err)
		os.Exit(1)
	}
}

// config is what the flags describe.
type config struct {
	listen          string
	roots           string
	archiveDir      string
	stateDir        string
	secretFile      string
	insecureNoAuth  bool
	tlsCert, tlsKey string
	limits          server.Limits
	chunkSize       byteSize
	level           int
	noStream        bool
	noRestoreStream bool
	logLevel        slog.Level
	logJSON         bool
	shutdownTimeout time.Duration
	quiescer        server.Quiescer // nil: -quiesce none
	quiesceTimeout  time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	d := server.DefaultLimits()
	total, entry := byteSize(d.MaxTotalBytes), byteSize(d.MaxEntryBytes)
	c.chunkSize = sidecarpb.DefaultChunkSize
	fs := flag.NewFlagSet("sidecar", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:7443", "address to listen on")
	fs.StringVar(&c.roots, "roots", strings.Join(server.DefaultRoots(), ","), "comma-separated directories the sidecar may touch")
	fs.StringVar(&c.archiveDir, "archive-dir", server.DefaultArchiveDir, "where the backup service stages archives; stale ones are removed at start")
	fs.StringVar(&c.stateDir, "state-dir", server.DefaultStateDir, "where the journal of the sidecar's temporary files is kept: outside every root, as long-lived as the data volume, one per sidecar")
	fs.StringVar(&c.secretFile, "secret-file", "", "file holding the shared secret (default: $SAVEPOINT_SIDECAR_SECRET)")
	fs.BoolVar(&c.insecureNoAuth, "insecure-no-auth", false, "accept calls without a secret (local development only)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with -tls-key, serve TLS only")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.Var(&total, "max-total-bytes", "cap on the total size an archive may extract to (e.g. 256GiB)")
	fs.Var(&entry, "max-entry-bytes", "cap on the size of one extracted file (e.g. 64GiB)")
	fs.IntVar(&c.limits.MaxEntries, "max-entries", d.MaxEntries, "cap on the number of entries of an archive")
	fs.Var(&c.chunkSize, "chunk-size", "size of streamed messages (e.g. 256KiB)")
	fs.IntVar(&c.level, "compression-level", server.DefaultCompressionLevel, "flate level, 1-9, of the parts of archives that look compressible (text, configs, logs); bytes that look random are stored at any level")
	fs.BoolVar(&c.noStream, "disable-stream-archive", false, "answer StreamArchive with Unimplemented, like a sidecar that predates it, so the service stages archives in -archive-dir (for measuring and testing that path)")
	fs.BoolVar(&c.noRestoreStream, "disable-restore-archive", false, "answer RestoreArchive with Unimplemented, like a sidecar that predates it, so a restore stages its archive in -archive-dir (for measuring and testing that path)")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.BoolVar(&c.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long running calls get to finish on SIGTERM")
	quiesce := fs.String("quiesce", "none", "how the game's writes are paused while an archive that asks for it is made: none, rcon or exec")
	rconAddr := fs.String("rcon-addr", "127.0.0.1:25575", "with -quiesce rcon, the game's RCON address on the pod's loopback")
	rconPasswordFile := fs.String("rcon-password-file", "", "with -quiesce rcon, the file holding the RCON password (read at every pause and resume, so it may rotate)")
	rconPause := fs.String("rcon-pause", "save-off;save-all flush", "with -quiesce rcon, the commands that pause the game's writes, separated by ';'")
	rconResume := fs.String("rcon-resume", "save-on", "with -quiesce rcon, the commands that resume them, separated by ';'")
	var execPause, execResume argv
	fs.Var(&execPause, "exec-pause", `with -quiesce exec, the command that pauses the game's writes, as a JSON array: ["/usr/bin/game-ctl","pause"]`)
	fs.Var(&execResume, "exec-resume", `with -quiesce exec, the command that resumes them, as a JSON array: ["/usr/bin/game-ctl","resume"]`)
	fs.DurationVar(&c.quiesceTimeout, "quiesce-timeout", server.DefaultQuiesceTimeout, "how long each pause and each resume may take")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch *quiesce {
	case "none":
	case "rcon":
		if *rconPasswordFile == "" {
			return c, errors.New("-quiesce rcon needs -rcon-password-file")
		}
		pause, resume := commands(*rconPause), commands(*rconResume)
		if len(pause) == 0 || len(resume) == 0 {
			return c, errors.New("-rcon-pause and -rcon-resume need at least one command each")
		}
		c.quiescer = &rcon.Quiescer{Addr: *rconAddr, PasswordFile: *rconPasswordFile, PauseCommands: pause, ResumeCommands: resume}
	case "exec":
		if execPause == nil || execResume == nil {
			return c, errors.New("-quiesce exec needs -exec-pause and -exec-resume")
		}
		c.quiescer = &server.ExecHook{PauseCommand: execPause, ResumeCommand: execResume}
	default:
		return c, fmt.Errorf("-quiesce %q: want none, rcon or exec", *quiesce)
	}
	rconSet := false
	fs.Visit(func(f *flag.Flag) { rconSet = rconSet || strings.HasPrefix(f.Name, "rcon-") })
	if *quiesce != "rcon" && rconSet {
		return c, errors.New("the -rcon-* flags need -quiesce rcon")
	}
	if *quiesce != "exec" && (execPause != nil || execResume != nil) {
		return c, errors.New("-exec-pause and -exec-resume need -quiesce exec")
	}
	if c.quiesceTimeout <= 0 {
		return c, fmt.Errorf("-quiesce-timeout %s: want a positive duration such as 30s", c.quiesceTimeout)
	}
	c.limits.MaxTotalBytes, c.limits.MaxEntryBytes = int64(total), int64(entry)
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("-tls-cert and -tls-key go together")
	}
	return c, nil
}

func run(args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: c.logLevel})
	if c.logJSON {
		handler = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.logLevel})
	}
	log := slog.New(handler)

	secret, err := loadSecret(c.secretFile)
	if err != nil {
		return err
	}
	opts := server.Options{
		Roots:                 splitList(c.roots),
		ArchiveDir:            c.archiveDir,
		StateDir:              c.stateDir,
		Secret:                secret,
		AllowUnauthenticated:  c.insecureNoAuth,
		Limits:                c.limits,
		ChunkSize:             int(c.chunkSize),
		CompressionLevel:      c.level,
		DisableStreamArchive:  c.noStream,
		DisableRestoreArchive: c.noRestoreStream,
		Quiescer:              c.quiescer,
		QuiesceTimeout:        c.quiesceTimeout,
		Logger:                log,
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return fmt.Errorf("loading the TLS key pair: %w", err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("stopping: waiting for running calls", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("stopped before every call finished", "error", err)
	}
	if err := <-served; err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// loadSecret reads the secret from file, or from SAVEPOINT_SIDECAR_SECRET. Trailing
// whitespace (the newline editors add) is not part of it. An empty result is left
// for server.New to refuse, unless -insecure-no-auth says otherwise.
func loadSecret(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv("SAVEPOINT_SIDECAR_SECRET")), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the secret: %w", err)
	}
	secret := strings.TrimRight(string(b), " \t\r\n")
	if secret == "" {
		return "", fmt.Errorf("the secret file %s is empty", file)
	}
	return secret, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// byteSize is a flag holding a number of bytes, written plainly or with a unit:
// 512KiB, 256MiB, 64GiB, 1TiB (or K, M, G, T, also powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	factor := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, factor = rest, u.factor
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > (1<<63-1)/factor {
		return fmt.Errorf("invalid size %q: want a number of bytes such as 1048576 or 64GiB", s)
	}
	*b = byteSize(n * factor)
	return nil
}

// commands splits a ';'-separated list of RCON commands, dropping blank ones.
func commands(list string) []string {
	var out []string
	for _, c := range strings.Split(list, ";") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// argv is a flag holding a command line as a JSON array of strings, which needs
// no shell's quoting rules: ["/usr/bin/game-ctl","pause"].
type argv []string

func (a *argv) String() string {
	if a == nil || *a == nil {
		return ""
	}
	b, _ := json.Marshal([]string(*a))
	return string(b)
}

func (a *argv) Set(s string) error {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil || len(v) == 0 || v[0] == "" {
		return fmt.Errorf(`invalid command %q: want a JSON array of strings such as ["/usr/bin/game-ctl","pause"]`, s)
	}
	*a = v
	return nil
}

package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
)

// Server is the FileIO gRPC server that runs in the game-server pod.
type Server struct {
	opts       Options
	grpc       *grpc.Server
	health     *health.Server
	log        *slog.Logger
	secretHash [sha256.Size]byte
	journal    *journal
	pauser     *pauser
}

// New validates opts, takes the state directory (refusing one that another
// server holds), finishes what an earlier run left (see Options.StateDir,
// Options.ArchiveDir and the package documentation) and returns a server ready to
// Serve. It refuses an empty secret unless opts.AllowUnauthenticated is set.
func New(opts Options) (*Server, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	j, err := openJournal(o.StateDir, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	s := &Server{opts: o, log: o.Logger, secretHash: sha256.Sum256([]byte(o.Secret)), journal: j, pauser: newPauser(o)}
	if o.AllowUnauthenticated && o.Secret == "" {
		s.log.Warn("the sidecar accepts calls without a secret: anyone who reaches its port can read and rewrite " + strings.Join(o.Roots, ", "))
	}
	sopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
		// Clients ping idle connections every 30 s by default; allow that, refuse floods.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.MaxRecvMsgSize(sidecarpb.MaxChunkSize + 64<<10),
		// Archives stream in 1 MiB messages: see TransferBufferSize and
		// StreamWindowSize.
		grpc.WriteBufferSize(sidecarpb.TransferBufferSize), grpc.ReadBufferSize(sidecarpb.TransferBufferSize),
		grpc.InitialWindowSize(sidecarpb.StreamWindowSize), grpc.InitialConnWindowSize(2 * sidecarpb.StreamWindowSize),
		// RestoreArchive's data is decoded without the default codec's copies.
		grpc.ForceServerCodecV2(newServerCodec()),
		// Stop returns once every handler has: the journal's lock is released
		// only when no call can write to the roots any more.
		grpc.WaitForHandlers(true),
		o.statsHandler(),
	}
	if o.TLS != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(o.TLS)))
	}
	s.grpc = grpc.NewServer(sopts...)
	sidecarpb.RegisterFileIOServer(s.grpc, &fileIOServer{opts: o, log: o.Logger, journal: j, pauser: s.pauser, busy: map[fileID]bool{}})
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus(sidecarpb.ServiceName, healthpb.HealthCheckResponse_SERVING)
	s.removeStale()
	s.pauser.recoverPause()
	return s, nil
}

// Serve accepts connections on ln until Shutdown or Stop. It returns nil after a
// Shutdown or Stop, also one that came before Serve began (ln is closed then), so
// a host that stops the server while Serve's goroutine is still starting sees no
// error.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("sidecar listening", "address", ln.Addr().String(), "roots", strings.Join(s.opts.Roots, ","), "tls", s.opts.TLS != nil)
	if err := s.grpc.Serve(ln); !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Shutdown stops accepting calls, reports NOT_SERVING, and waits for running calls
// to finish; when ctx ends first it cancels them. Then it releases the state
// directory. Safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	defer s.journal.close()
	defer s.pauser.close() // before the state directory is released
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return fmt.Errorf("sidecar: calls still running at shutdown were cancelled: %w", ctx.Err())
	}
}

// Stop closes every connection, cancels running calls and waits for them to
// return, then releases the state directory.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.pauser.close()
	s.journal.close()
}

// authorize checks the caller's secret in constant time. Hashing both sides first
// keeps the comparison from revealing even the secret's length. The health service
// stays open so that probes work without the secret; it reveals nothing.
func (s *Server) authorize(ctx context.Context, method string) error {
	if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
		return nil
	}
	if s.opts.AllowUnauthenticated && s.opts.Secret == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) != 1 {
		return status.Error(codes.Unauthenticated, "missing credentials: send the sidecar secret as \"authorization: Bearer <secret>\"")
	}
	token, ok := strings.CutPrefix(values[0], "Bearer ")
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], s.secretHash[:]) != 1 || !ok {
		return status.Error(codes.Unauthenticated, "invalid credentials")
	}
	return nil
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	if err := s.authorize(ctx, info.FullMethod); err != nil {
		s.logCall(ctx, info.FullMethod, start, err)
		return nil, err
	}
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	if err := s.authorize(ss.Context(), info.FullMethod); err != nil {
		s.logCall(ss.Context(), info.FullMethod, start, err)
		return err
	}
	err := handler(srv, ss)
	s.logCall(ss.Context(), info.FullMethod, start, err)
	return err
}

// logCall writes one line per call; health checks only when they fail.
func (s *Server) logCall(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	if code == codes.OK && strings.HasPrefix(method, "/grpc.health.v1.Health/") {
		return
	}
	attrs := []any{"method", method, "code", code.String(), "duration", time.Since(start).Round(time.Millisecond)}
	if p, ok := peer.FromContext(ctx); ok {
		attrs = append(attrs, "peer", p.Addr.String())
	}
	if err != nil {
		attrs = append(attrs, "error", status.Convert(err).Message())
		s.log.WarnContext(ctx, "sidecar call failed", attrs...)
		return
	}
	s.log.InfoContext(ctx, "sidecar call", attrs...)
}

// fileIOServer implements the FileIO service.
type fileIOServer struct {
	sidecarpb.UnimplementedFileIOServer
	opts    Options
	log     *slog.Logger
	journal *journal
	pauser  *pauser

	mu   sync.Mutex
	busy map[fileID]bool // destinations with an extraction running
}

// claim marks the directory dest as being extracted into; two extractions into one
// directory would swap each other's files. It goes by the directory's identity,
// not by the path that named it, which a symbolic link can alias.
func (f *fileIOServer) claim(dest fileID) (release func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[dest] {
		return nil, false
	}
	f.busy[dest] = true
	return func() {
		f.mu.Lock()
		delete(f.busy, dest)
		f.mu.Unlock()
	}, true
}

package sidecar

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/savepoint-dev/savepoint/adapters/sidecar/sidecarpb"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

var (
	_ ports.SidecarDialer = (*Dialer)(nil)
	_ ports.FileIO        = (*Client)(nil)
)

// Endpoint is where a sidecar listens, the secret it expects, and where the game
// server's files are as the sidecar sees them.
type Endpoint struct {
	// Address is a gRPC target, for example "10.1.2.3:7443" or "dns:///sidecar:7443".
	Address string
	// Secret is the pod's shared secret.
	Secret string
	// Dirs are this game server's data and scratch directories in its pod, for a
	// host whose pods do not all mount them at the service's defaults (/data and
	// /tmp unless the backup service is configured otherwise). The Client returns
	// them from Dirs; the zero value means the defaults.
	Dirs ports.SidecarDirs
}

// Resolver returns the endpoint of a sidecar provision. The host implements it from
// its own records (the provision's pod address and the secret it generated).
type Resolver func(ctx context.Context, sidecar ports.Provision) (Endpoint, error)

// ClientOptions configures connections to sidecars. The zero value is usable.
type ClientOptions struct {
	// TLS, when set, makes connections use TLS with this configuration; nil means
	// plaintext (the pod network), where the secret travels in the clear.
	TLS *tls.Config
	// Keepalive pings idle connections so that a vanished pod is noticed. Zero
	// means a ping after 30 s of inactivity and 10 s to answer.
	Keepalive keepalive.ClientParameters
	// CallTimeout bounds the short calls (DeleteFile, and the health check Dial
	// makes). Zero means 30 s.
	CallTimeout time.Duration
	// OperationTimeout bounds CompressFiles and ExtractTo, which take minutes on big
	// worlds. Zero means 2 hours. Streams are bounded by the caller's context only.
	OperationTimeout time.Duration
	// ChunkSize is the size of WriteFile's data messages. Zero means
	// sidecarpb.DefaultChunkSize; at most sidecarpb.MaxChunkSize.
	ChunkSize int
	// DialOptions are added to the connection's options (interceptors, tracing).
	DialOptions []grpc.DialOption
	// TracerProvider receives a client span per call (otelgrpc). Nil means
	// otel's global provider.
	TracerProvider trace.TracerProvider
	// MeterProvider receives otelgrpc's RPC metrics (rpc.client.*). Nil means
	// none are recorded, not even to otel's global provider: otelgrpc puts the
	// dialled sidecar's server.address and server.port on every series, one
	// series set per game server, which makes a platform's thousands of
	// sidecars thousands of series (and runs into the SDK's cardinality limit).
	// A host that passes one should drop those attributes with a View:
	//
	//	sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "rpc.client.*"},
	//		sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter("server.address", "server.port")}))
	MeterProvider metric.MeterProvider
	// Propagators carry the caller's trace context to the sidecar. Nil means
	// W3C trace context, whatever otel's global propagator is.
	Propagators propagation.TextMapPropagator
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.Keepalive.Time == 0 {
		o.Keepalive.Time = 30 * time.Second
	}
	if o.Keepalive.Timeout == 0 {
		o.Keepalive.Timeout = 10 * time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 2 * time.Hour
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = sidecarpb.DefaultChunkSize
	}
	o.ChunkSize = min(o.ChunkSize, sidecarpb.MaxChunkSize)
	return o
}

// Dialer implements ports.SidecarDialer.
type Dialer struct {
	resolve Resolver
	opts    ClientOptions
}

// NewDialer returns a dialer that finds sidecars with resolve.
func NewDialer(resolve Resolver, opts ClientOptions) (*Dialer, error) {
	if resolve == nil {
		return nil, errors.New("sidecar: NewDialer needs a Resolver")
	}
	return &Dialer{resolve: resolve, opts: opts}, nil
}

// Dial resolves the sidecar provision and connects to it (see Connect). Returns an
// error wrapping ports.ErrCluster when the provision cannot be resolved or the
// sidecar cannot be reached.
func (d *Dialer) Dial(ctx context.Context, sidecar ports.Provision) (ports.FileIO, error) {
	ep, err := d.resolve(ctx, sidecar)
	if err != nil {
		return nil, fmt.Errorf("sidecar of provision %s: %w: %w", sidecar.ID, ports.ErrCluster, err)
	}
	return Connect(ctx, ep, d.opts)
}

// Connect opens a connection to the sidecar at ep and checks that it serves FileIO
// with a health check, so an unreachable sidecar is reported here rather than by
// the first call. The caller closes the client. Returns an error wrapping
// ports.ErrCluster.
func Connect(ctx context.Context, ep Endpoint, opts ClientOptions) (*Client, error) {
	opts = opts.withDefaults()
	if ep.Address == "" {
		return nil, fmt.Errorf("sidecar: %w: empty address", ports.ErrCluster)
	}
	creds := insecure.NewCredentials()
	if opts.TLS != nil {
		creds = credentials.NewTLS(opts.TLS)
	}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(opts.Keepalive),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(sidecarpb.MaxChunkSize + 64<<10)),
		// Archives stream in 1 MiB messages: see TransferBufferSize and
		// StreamWindowSize.
		grpc.WithWriteBufferSize(sidecarpb.TransferBufferSize), grpc.WithReadBufferSize(sidecarpb.TransferBufferSize),
		grpc.WithInitialWindowSize(sidecarpb.StreamWindowSize), grpc.WithInitialConnWindowSize(2 * sidecarpb.StreamWindowSize),
	}
	if ep.Secret != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer{secret: ep.Secret, tls: opts.TLS != nil}))
	}
	dopts = append(dopts, opts.statsHandler())
	dopts = append(dopts, opts.DialOptions...)
	conn, err := grpc.NewClient(ep.Address, dopts...)
	if err != nil {
		return nil, fmt.Errorf("sidecar at %s: %w: %w", ep.Address, ports.ErrCluster, err)
	}
	c := &Client{conn: conn, rpc: sidecarpb.NewFileIOClient(conn), opts: opts, addr: ep.Address, dirs: ep.Dirs}
	hctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(hctx, &healthpb.HealthCheckRequest{Service: sidecarpb.ServiceName})
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		err = status.Errorf(codes.Unavailable, "the sidecar reports %s", resp.GetStatus())
	}
	if err != nil {
		conn.Close()
		return nil, c.fail("connect", ep.Address, err)
	}
	return c, nil
}

// bearer sends the secret with every call.
type bearer struct {
	secret string
	tls    bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.secret}, nil
}

// RequireTransportSecurity is false without TLS so that the secret can be sent on
// the pod network; with TLS configured it is never sent in the clear.
func (b bearer) RequireTransportSecurity() bool { return b.tls }

// Client is a connection to one sidecar; it implements ports.FileIO. Safe for
// concurrent use.
type Client struct {
	conn *grpc.ClientConn
	rpc  sidecarpb.FileIOClient
	opts ClientOptions
	addr string
	dirs ports.SidecarDirs
}

// RemoteError is the sidecar's reason for failing a call: the cause inside the
// ports.ErrCluster errors the client returns. errors.Is matches fs.ErrNotExist for
// NotFound, fs.ErrPermission for PermissionDenied, and the context errors for
// Canceled and DeadlineExceeded.
type RemoteError struct {
	Code    codes.Code
	Message string
}

// Error returns the sidecar's message and status code.
func (e *RemoteError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// GRPCStatus lets status.Code and status.FromError see through the wrapping.
func (e *RemoteError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// Is maps the status codes that have a standard Go error.
func (e *RemoteError) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e.Code == codes.NotFound
	case fs.ErrPermission:
		return e.Code == codes.PermissionDenied
	case context.Canceled:
		return e.Code == codes.Canceled
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	}
	return false
}

// fail wraps a call's error: ports.ErrCluster, with the sidecar's status as the cause.
func (c *Client) fail(op, subject string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	remote := &RemoteError{Code: st.Code(), Message: st.Message()}
	if r := refusal(st); r != nil {
		return fmt.Errorf("sidecar %s %s: %w: %w: %w", op, subject, ports.ErrCluster, r, remote)
	}
	return fmt.Errorf("sidecar %s %s: %w: %w", op, subject, ports.ErrCluster, remote)
}

// refusal is the ports.Refusal a status's ErrorInfo detail names, or nil.
func refusal(st *status.Status) *ports.Refusal {
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != sidecarpb.ErrorDomain {
			continue
		}
		detail := info.GetMetadata()["detail"]
		switch info.GetReason() {
		case sidecarpb.ReasonQuiesceFailed:
			return &ports.Refusal{Err: ports.ErrQuiesceFailed, Detail: detail}
		case sidecarpb.ReasonInvalidExcludes:
			return &ports.Refusal{Err: ports.ErrExcludesRefused, Detail: detail}
		}
	}
	return nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Dirs implements ports.FileIO: the directories of the Endpoint it was connected
// with.
func (c *Client) Dirs() ports.SidecarDirs { return c.dirs }

// CompressFiles implements ports.FileIO. A sidecar that predates reports returns
// the zero report.
func (c *Client) CompressFiles(ctx context.Context, sources []string, output string, opts ports.ArchiveOptions) (ports.ArchiveReport, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.OperationTimeout)
	defer cancel()
	resp, err := c.rpc.CompressFiles(ctx, &sidecarpb.CompressFilesRequest{Sources: sources, Output: output, Format: sidecarpb.ArchiveFormat_ARCHIVE_FORMAT_TARGZ, Options: optionsToProto(opts)})
	if err != nil {
		return ports.ArchiveReport{}, c.fail("CompressFiles", output, err)
	}
	return reportFromProto(resp.GetReport()), nil
}

// ExtractTo implements ports.FileIO.
func (c *Client) ExtractTo(ctx context.Context, source, destination string, keep []string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.OperationTimeout)
	defer cancel()
	if _, err := c.rpc.ExtractTo(ctx, &sidecarpb.ExtractToReq{Source: source, Destination: destination, Keep: keep}); err != nil {
		return c.fail("ExtractTo", destination, err)
	}
	return nil
}

// DeleteFile implements ports.FileIO.
func (c *Client) DeleteFile(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	if _, err := c.rpc.DeleteFile(ctx, &sidecarpb.DeleteFileRequest{Path: path}); err != nil {
		return c.fail("DeleteFile", path, err)
	}
	return nil
}

// ReadFile implements ports.FileIO. It waits for the sidecar's first message, so a
// missing file is reported here rather than by the first Read.
func (c *Client) ReadFile(ctx context.Context, path string) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.ReadFile(ctx, &sidecarpb.ReadFileRequest{Path: path}, grpc.ForceCodecV2(newChunkCodec()))
	if err != nil {
		cancel()
		return nil, c.fail("ReadFile", path, err)
	}
	r := &chunkReader{recv: stream.Recv, cancel: cancel, fail: func(err error) error { return c.fail("ReadFile", path, err) }}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// StreamArchive implements ports.FileIO. A sidecar without the RPC answers
// Unimplemented, which becomes ports.ErrUnsupported. The stream's Report is the
// one the sidecar sends with its last message, so it is complete once Read has
// returned io.EOF.
func (c *Client) StreamArchive(ctx context.Context, sources []string, opts ports.ArchiveOptions) (ports.ArchiveStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.StreamArchive(ctx, &sidecarpb.StreamArchiveRequest{Sources: sources, Format: sidecarpb.ArchiveFormat_ARCHIVE_FORMAT_TARGZ, Options: optionsToProto(opts)},
		grpc.ForceCodecV2(newChunkCodec()))
	fail := func(err error) error {
		if status.Code(err) == codes.Unimplemented {
			return fmt.Errorf("sidecar StreamArchive: %w: %w", ports.ErrUnsupported, &RemoteError{Code: codes.Unimplemented, Message: status.Convert(err).Message()})
		}
		return c.fail("StreamArchive", fmt.Sprint(sources), err)
	}
	if err != nil {
		cancel()
		return nil, fail(err)
	}
	r := &chunkReader{recv: stream.Recv, cancel: cancel, fail: fail}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// chunkReader turns a stream of chunks into an io.ReadCloser holding at most one
// chunk. It consumes each chunk before receiving the next, which chunkCodec
// relies on. It keeps the report a chunk carries, for StreamArchive.
type chunkReader struct {
	recv   func() (*sidecarpb.Chunk, error)
	cancel context.CancelFunc
	fail   func(error) error
	buf    []byte
	err    error
	report ports.ArchiveReport
	// The progress the latest chunk carried, read by Progress from other
	// goroutines.
	done, total atomic.Int64
}

// Report implements ports.ArchiveStream.
func (r *chunkReader) Report() ports.ArchiveReport { return r.report }

// Progress implements ports.ArchiveStream: what the latest chunk read said.
func (r *chunkReader) Progress() (done, total int64) { return r.done.Load(), r.total.Load() }

// start receives the stream's first message, which carries no data (see the proto),
// so that a refused call fails before the caller starts reading.
func (r *chunkReader) start() error {
	first, err := r.recv()
	if err == io.EOF {
		r.cancel()
		return r.fail(status.Error(codes.Internal, "the stream ended before its first message"))
	}
	if err != nil {
		r.cancel()
		return r.fail(err)
	}
	r.buf = first.GetData()
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		chunk, err := r.recv()
		switch {
		case err == io.EOF:
			r.err = io.EOF
		case err != nil:
			r.err = r.fail(err)
		default:
			r.buf = chunk.GetData()
			r.done.Store(chunk.GetDoneBytes())
			r.total.Store(chunk.GetTotalBytes())
			if chunk.GetReport() != nil {
				r.report = reportFromProto(chunk.GetReport())
			}
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close cancels the stream, so that the sidecar stops sending.
func (r *chunkReader) Close() error {
	r.cancel()
	r.buf = nil
	if r.err == nil {
		r.err = errors.New("read from a closed sidecar stream")
	}
	return nil
}

// WriteFile implements ports.FileIO. It streams r in chunks of ChunkSize, holding
// one chunk in memory. When reading r fails, the call is cancelled (the sidecar then
// removes what it received) and the read error is returned as is, not wrapped in
// ports.ErrCluster: it is not the sidecar's failure.
func (c *Client) WriteFile(ctx context.Context, path string, size int64, r io.Reader) error {
	if size < -1 {
		return fmt.Errorf("sidecar WriteFile %s: invalid size %d", path, size)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.WriteFile(ctx)
	if err != nil {
		return c.fail("WriteFile", path, err)
	}
	if err := stream.Send(&sidecarpb.WriteFileRequest{Msg: &sidecarpb.WriteFileRequest_Header{Header: &sidecarpb.WriteFileHeader{Path: path, Size: size}}}); err != nil {
		return c.writeFailed(stream, path, err)
	}
	buf := make([]byte, c.opts.ChunkSize)
	msg := &sidecarpb.WriteFileRequest{}
	data := &sidecarpb.WriteFileRequest_Data{}
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			// Send marshals before returning, so buf and msg can be reused.
			data.Data = buf[:n]
			msg.Msg = data
			if err := stream.Send(msg); err != nil {
				return c.writeFailed(stream, path, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			cancel()
			return fmt.Errorf("sidecar WriteFile %s: reading the data: %w", path, rerr)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		return c.fail("WriteFile", path, err)
	}
	return nil
}

// writeFailed fetches the real status when Send fails: gRPC reports io.EOF from
// Send when the server has already ended the call.
func (c *Client) writeFailed(stream grpc.ClientStreamingClient[sidecarpb.WriteFileRequest, sidecarpb.WriteFileResponse], path string, err error) error {
	if err == io.EOF {
		_, err = stream.CloseAndRecv()
		if err == nil {
			err = status.Error(codes.Internal, "the sidecar ended the upload early")
		}
	}
	return c.fail("WriteFile", path, err)
}

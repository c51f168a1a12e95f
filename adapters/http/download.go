package http

import (
	"context"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup"
	"github.com/savepoint-dev/savepoint/backup/ports"
)

type downloadInput struct {
	AssetID string `path:"asset_id" format:"uuid" doc:"The file, such as a ready backup's asset_id."`
	Range   string `header:"Range" doc:"One byte range: bytes=0-1023, bytes=1024- (from an offset) or bytes=-512 (the last 512 bytes). A request for several ranges gets the whole file (200)." example:"bytes=1048576-"`
	IfRange string `header:"If-Range" doc:"The ETag of an earlier response: the Range is honoured only if the file is unchanged; otherwise the whole file is sent."`
	asset   ports.AssetID
}

func (in *downloadInput) Resolve(huma.Context) []error {
	var errs []error
	in.asset = parseID(&errs, "asset_id", in.AssetID, ports.ParseAssetID)
	return errs
}

func registerDownload(api huma.API, h *handlers) {
	reg := api.OpenAPI().Components.Schemas
	responses := problemResponses(reg, false, CodeInvalidInput, CodeNotFound, CodeRangeNotSatisfiable,
		CodeUpstreamUnavailable)
	header := func(doc string) *huma.Param {
		return &huma.Param{Description: doc, Schema: &huma.Schema{Type: huma.TypeString}}
	}
	common := map[string]*huma.Param{
		"Content-Disposition": header(`attachment, with the file name (filename, and filename* when it is not ASCII).`),
		"Content-Length":      {Description: "The number of bytes in this response.", Schema: &huma.Schema{Type: huma.TypeInteger, Format: "int64"}},
		"Accept-Ranges":       header("bytes: the download can be resumed with a Range request."),
		"ETag":                header("The archive's SHA-256, quoted: send it in If-Range when resuming."),
		"Last-Modified":       header("When the file was stored."),
	}
	withRange := map[string]*huma.Param{"Content-Range": header("bytes first-last/size")}
	for k, v := range common {
		withRange[k] = v
	}
	binary := map[string]*huma.MediaType{
		"application/gzip": {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}},
	}
	responses["200"] = &huma.Response{Description: "The whole file.", Headers: common, Content: binary}
	responses["206"] = &huma.Response{Description: "The requested byte range.", Headers: withRange, Content: binary}
	if r := responses["416"]; r != nil {
		r.Headers = map[string]*huma.Param{"Content-Range": header("bytes */size: the file's size.")}
	}

	huma.Register(api, huma.Operation{
		OperationID: opDownloadAsset,
		Method:      http.MethodGet,
		Path:        "/api/v1/assets/{asset_id}",
		Tags:        []string{tagAssets},
		Summary:     "Download a file",
		Description: "Streams a backup's archive to whoever owns the backup's order now; anyone else gets 404, as for " +
			"a file that does not exist. Supports single byte ranges (206) so large downloads can resume.",
		DefaultStatus:      http.StatusOK,
		Security:           security(),
		SkipValidateParams: true,
		Responses:          responses,
	}, h.downloadAsset)
}

func (h *handlers) downloadAsset(ctx context.Context, in *downloadInput) (*huma.StreamResponse, error) {
	user, err := userFrom(ctx)
	if err != nil {
		return nil, failure(ctx, h.log, err)
	}
	d, err := h.svc.Download(ctx, user, in.asset)
	if err != nil {
		return nil, failure(ctx, h.log, err, "asset_id", in.asset)
	}
	a := d.Asset
	etag := ""
	if isHexSHA256(a.SHA256) {
		etag = `"` + a.SHA256 + `"`
	}
	unsatisfiable := func() error {
		return huma.ErrorWithHeaders(failure(ctx, h.log, backup.ErrInvalidRange),
			http.Header{"Content-Range": {"bytes */" + strconv.FormatInt(a.SizeBytes, 10)}})
	}
	var rng *ports.ByteRange
	if in.Range != "" && (in.IfRange == "" || (etag != "" && in.IfRange == etag)) {
		var ok bool
		if rng, ok = parseRange(in.Range, a.SizeBytes); !ok {
			return nil, unsatisfiable()
		}
	}
	body, err := d.Open(ctx, rng)
	switch {
	case errors.Is(err, backup.ErrInvalidRange):
		return nil, unsatisfiable()
	case err != nil:
		return nil, failure(ctx, h.log, err, "asset_id", in.asset)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		h.stream(hctx, a, etag, rng, body)
	}}, nil
}

// stream sends the headers and copies the body through a fixed buffer, so memory
// stays bounded whatever the file's size.
func (h *handlers) stream(ctx huma.Context, a ports.Asset, etag string, rng *ports.ByteRange, body io.ReadCloser) {
	defer body.Close()
	contentType := a.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	ctx.SetHeader("Content-Type", contentType)
	ctx.SetHeader("Content-Disposition", contentDisposition(a.FileName))
	ctx.SetHeader("Accept-Ranges", "bytes")
	ctx.SetHeader("X-Content-Type-Options", "nosniff")
	// A backup is the customer's private data: no shared cache may keep it.
	ctx.SetHeader("Cache-Control", "private, no-store")
	if etag != "" {
		ctx.SetHeader("ETag", etag)
	}
	if !a.CreatedAt.IsZero() {
		ctx.SetHeader("Last-Modified", a.CreatedAt.UTC().Format(http.TimeFormat))
	}
	length, status := a.SizeBytes, http.StatusOK
	if rng != nil {
		length, status = rng.Length, http.StatusPartialContent
		ctx.SetHeader("Content-Range", "bytes "+strconv.FormatInt(rng.Offset, 10)+"-"+
			strconv.FormatInt(rng.Offset+rng.Length-1, 10)+"/"+strconv.FormatInt(a.SizeBytes, 10))
	}
	ctx.SetHeader("Content-Length", strconv.FormatInt(length, 10))
	ctx.SetStatus(status)
	w := newStallGuard(ctx.BodyWriter(), downloadStallTimeout)
	n, err := io.CopyBuffer(w, io.LimitReader(body, length), make([]byte, 256<<10))
	if err == nil && n < length {
		err = io.ErrUnexpectedEOF // the stored object is shorter than its asset says
	}
	if err != nil {
		attrs := []any{"asset_id", a.ID, "sent_bytes", n, "want_bytes", length, "err", err}
		if ctx.Context().Err() != nil {
			h.log.InfoContext(ctx.Context(), "download abandoned by the client", attrs...)
		} else {
			h.log.ErrorContext(ctx.Context(), "download failed part-way", attrs...)
		}
	}
}

// parseRange reads a Range header (RFC 9110 §14.2) against a file of size bytes.
// It returns the range to send, nil to send the whole file, or ok false when the
// range cannot be satisfied (416). Headers it does not understand (another unit,
// bad syntax) are ignored, as the RFC allows, and so are requests for several
// ranges: answering with the whole file is simpler and correct, and no download
// manager needs multipart/byteranges.
func parseRange(header string, size int64) (rng *ports.ByteRange, ok bool) {
	unit, spec, found := strings.Cut(header, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(spec, ",") {
		return nil, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return nil, true
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // bytes=-n: the last n bytes
		n, valid := parseDigits(last)
		switch {
		case !valid:
			return nil, true
		case n == 0 || size == 0:
			return nil, false
		}
		n = min(n, size)
		return &ports.ByteRange{Offset: size - n, Length: n}, true
	}
	start, valid := parseDigits(first)
	if !valid {
		return nil, true
	}
	end := size - 1
	if last != "" {
		e, valid := parseDigits(last)
		if !valid || e < start {
			return nil, true
		}
		end = min(end, e)
	}
	if start >= size {
		return nil, false
	}
	return &ports.ByteRange{Offset: start, Length: end - start + 1}, true
}

// parseDigits parses a non-empty run of ASCII digits (no sign, unlike
// strconv.ParseInt). A value too large for int64 saturates: as a position it
// lies beyond any file.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// contentDisposition builds "attachment; filename=…" with mime.FormatMediaType,
// which quotes and escapes as needed. A name that is not printable ASCII gets an
// ASCII fallback in filename and the exact name in filename* (RFC 8187 UTF-8
// percent-encoding, which FormatMediaType produces for such values), so every
// browser gets a usable name and modern ones the real one.
func contentDisposition(name string) string {
	if name == "" {
		name = "backup.tar.gz"
	}
	fallback := strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return '_'
		}
		return r
	}, name)
	plain := mime.FormatMediaType("attachment", map[string]string{"filename": fallback})
	if plain == "" {
		return `attachment; filename="backup.tar.gz"`
	}
	if fallback == name {
		return plain
	}
	encoded := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	ext, ok := strings.CutPrefix(encoded, "attachment; ")
	if !ok || !strings.HasPrefix(ext, "filename*=") {
		return plain
	}
	return plain + "; " + ext
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// downloadStallTimeout is how long a client may stop reading a download before
// the connection is cut. Downloads have no overall deadline (multi-GB archives on
// slow links are legitimate), but a client that stops reading must not hold a
// goroutine and an open storage stream forever.
const downloadStallTimeout = 2 * time.Minute

// stallGuard pushes the connection's write deadline forward before each write, so
// only a stalled client hits it. Routers whose writer cannot set deadlines get
// plain writes.
type stallGuard struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func newStallGuard(w io.Writer, timeout time.Duration) *stallGuard {
	g := &stallGuard{w: w, timeout: timeout}
	if rw, ok := w.(http.ResponseWriter); ok {
		g.rc = http.NewResponseController(rw)
	}
	return g
}

func (g *stallGuard) Write(p []byte) (int, error) {
	if g.rc != nil && g.rc.SetWriteDeadline(time.Now().Add(g.timeout)) != nil {
		g.rc = nil // not supported by this writer
	}
	return g.w.Write(p)
}

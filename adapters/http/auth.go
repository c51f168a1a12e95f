package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/savepoint-dev/savepoint/backup/ports"
)

// The errors an Authenticator returns when it cannot identify the caller. Both
// become 401 with code unauthenticated; only the detail tells them apart. Wrap
// them with huma.ErrorWithHeaders to send headers such as WWW-Authenticate.
var (
	// ErrNoCredentials: the request carries no credentials at all.
	ErrNoCredentials = errors.New("no credentials")
	// ErrBadCredentials: the request carries credentials that are malformed,
	// unknown or expired.
	ErrBadCredentials = errors.New("bad credentials")
)

// Authenticator identifies the user making a request. The host decides how users
// log in: it reads whatever it needs from the request's headers (Authorization,
// Cookie, an API key) or from ctx, the request's context, where the host's own
// net/http middleware may already have put a session.
//
// It returns ErrNoCredentials or ErrBadCredentials (possibly wrapped) when the
// caller is not authenticated. Any other error means authentication could not be
// decided (e.g. the session store is down): the request fails with the status the
// error table gives it, 500 internal unless it wraps an error the table knows,
// and the cause is logged, not returned. A zero UserID with a nil error is
// treated as a bug in the Authenticator and fails the same way.
type Authenticator func(ctx context.Context, header http.Header) (ports.UserID, error)

// BearerAuth returns an Authenticator for "Authorization: Bearer <token>"
// headers, the scheme the OpenAPI document declares. verify maps a token to its
// user and returns ErrBadCredentials for a token it does not accept; BearerAuth
// itself returns ErrNoCredentials when the header is absent and
// ErrBadCredentials when it is not a bearer token. Its 401s carry
// WWW-Authenticate: Bearer (RFC 6750).
func BearerAuth(verify func(ctx context.Context, token string) (ports.UserID, error)) Authenticator {
	// challenge attaches RFC 6750's WWW-Authenticate; error="invalid_token" only
	// when a token was presented.
	challenge := func(err error, presented bool) error {
		v := `Bearer realm="savepoint"`
		if presented {
			v += `, error="invalid_token"`
		}
		return huma.ErrorWithHeaders(err, http.Header{"Www-Authenticate": {v}})
	}
	return func(ctx context.Context, header http.Header) (ports.UserID, error) {
		values := header.Values("Authorization")
		if len(values) == 0 || strings.TrimSpace(values[0]) == "" {
			return ports.UserID{}, challenge(ErrNoCredentials, false)
		}
		if len(values) > 1 {
			return ports.UserID{}, challenge(fmt.Errorf("%w: more than one Authorization header", ErrBadCredentials), true)
		}
		scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return ports.UserID{}, challenge(fmt.Errorf("%w: not a bearer token", ErrBadCredentials), true)
		}
		user, err := verify(ctx, token)
		if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrNoCredentials) {
			return ports.UserID{}, challenge(err, true)
		}
		return user, err
	}
}

// callerKey is the context key of the authenticated caller.
type callerKey struct{}

// caller is what the authentication middleware learns about a request.
type caller struct {
	user      ports.UserID
	operation string
}

// userFrom returns the caller the middleware authenticated. Its absence means the
// operation was somehow reached without the middleware: refuse, never guess.
func userFrom(ctx context.Context) (ports.UserID, error) {
	c, ok := ctx.Value(callerKey{}).(caller)
	if !ok || c.user.IsZero() {
		return ports.UserID{}, errors.New("savepoint http: request reached a handler without an authenticated user")
	}
	return c.user, nil
}

// authenticate is the group middleware: it runs before input validation, so an
// unauthenticated client learns nothing about its request but that it needs
// credentials.
func (h *handlers) authenticate(ctx huma.Context, next func(huma.Context)) {
	header := http.Header{}
	ctx.EachHeader(func(name, value string) { header.Add(name, value) })
	op := ""
	if o := ctx.Operation(); o != nil {
		op = o.OperationID
	}
	user, err := h.auth(ctx.Context(), header)
	if err == nil && user.IsZero() {
		err = errors.New("savepoint http: the Authenticator returned neither a user nor an error")
	}
	if err != nil {
		var p *Problem
		if errors.As(failure(context.WithValue(ctx.Context(), callerKey{}, caller{operation: op}), h.log, err), &p) {
			writeProblem(ctx, p, err)
		}
		return
	}
	next(huma.WithValue(ctx, callerKey{}, caller{user: user, operation: op}))
}

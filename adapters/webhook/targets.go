package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"syscall"
)

// ErrTargetRefused: an endpoint's URL, or the address its host resolved to,
// is one the dispatcher does not send to (see the package doc's SSRF rules).
var ErrTargetRefused = errors.New("webhook: target refused")

// refusedPrefixes are the ranges netip's predicates do not name, refused
// besides loopback, private, link-local, multicast and unspecified addresses.
var refusedPrefixes = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4 address
// in their last four bytes, which is checked in turn.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// refusedAddr says why a may not be dialled, or "" when it may.
func refusedAddr(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a.IsUnspecified():
		return "unspecified"
	}
	for _, p := range refusedPrefixes {
		if p.prefix.Contains(a) {
			return p.what
		}
	}
	return ""
}

// checkURL validates an endpoint's URL: http(s) as the options allow, a host,
// no userinfo, and no IP literal the dialer would refuse anyway (refused here
// already, so that the error is clear). The error never repeats the URL, which
// may carry a token.
func (o Options) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the URL does not parse", ErrTargetRefused)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && o.AllowHTTP:
	case u.Scheme == "http":
		return nil, fmt.Errorf("%w: http:// needs Options.AllowHTTP; use https://", ErrTargetRefused)
	default:
		return nil, fmt.Errorf("%w: scheme %q is not https", ErrTargetRefused, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: the URL holds a user name or password", ErrTargetRefused)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: the URL has no host", ErrTargetRefused)
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !o.AllowPrivateTargets {
		if why := refusedAddr(a); why != "" {
			return nil, fmt.Errorf("%w: %s is a %s address", ErrTargetRefused, a, why)
		}
	}
	return u, nil
}

// ValidateURL reports whether the dispatcher, with these options, would send
// to raw: a host may call it when a user registers an endpoint. The resolved
// address is checked again at every connection, so a name that resolves to a
// refused address later is still refused then.
func (o Options) ValidateURL(raw string) error {
	_, err := o.checkURL(raw)
	return err
}

// dialControl refuses, unless allowed, a connection to a refused address. It
// runs on the address the connection is about to use, after name resolution,
// so a name that resolves to a public address when validated and a private one
// when dialled (DNS rebinding) is refused all the same.
func dialControl(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot check address %q", ErrTargetRefused, address)
		}
		if why := refusedAddr(ap.Addr()); why != "" {
			return fmt.Errorf("%w: %s resolved to a %s address", ErrTargetRefused, ap.Addr(), why)
		}
		return nil
	}
}

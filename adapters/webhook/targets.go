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

// refusedPrefixes are the special-purpose ranges (IANA's registries) that are
// not globally reachable and that netip's predicates do not name, refused
// besides loopback, private, link-local, multicast and unspecified addresses.
var refusedPrefixes = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	// Teredo (2001::/32) among them: its server and relays, not the
	// dispatcher, decide where a packet to it ends up.
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment (Teredo, benchmarking, ORCHID)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// embeddings are the IPv6 ranges whose addresses reach, or are routed by,
// the IPv4 address they carry: that address is checked in turn. NAT64
// addresses carry it in their last four bytes, the form DNS64 synthesises
// with a /96 prefix (the well-known one is a /96; a site's translator on the
// local-use /48 is expected to use a /96 of it too).
var embeddings = []struct {
	prefix netip.Prefix
	at     int // the IPv4 address's first byte
	what   string
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12, "NAT64"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), 12, "NAT64"},
	{netip.MustParsePrefix("2002::/16"), 2, "6to4"},
	{netip.MustParsePrefix("::/96"), 12, "IPv4-compatible"},
}

// refusedAddr says why a may not be dialled, or "" when it may: it must be a
// global unicast address outside the special-purpose ranges, and so must the
// IPv4 address it embeds, if any.
func refusedAddr(a netip.Addr) string {
	a = a.Unmap()
	if why := refusedRange(a); why != "" {
		return why
	}
	for _, e := range embeddings {
		if e.prefix.Contains(a) {
			b := a.As16()
			if why := refusedRange(netip.AddrFrom4([4]byte(b[e.at : e.at+4]))); why != "" {
				return e.what + "-embedded " + why
			}
			break
		}
	}
	return ""
}

// refusedRange says why a, not looking inside it, may not be dialled.
func refusedRange(a netip.Addr) string {
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
	if !a.IsGlobalUnicast() {
		return "non-unicast"
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

package webhook

import (
	"errors"
	"testing"
)

// TestDialControlRefusesInternalAddresses: the check on the dialled address
// refuses every internal or special-purpose range, however written (IPv4
// embedded in IPv6 by mapping, NAT64, 6to4 or the old compatible form; Teredo
// always), and lets public addresses through, embedded ones included;
// AllowPrivateTargets lets everything through.
func TestDialControlRefusesInternalAddresses(t *testing.T) {
	refuse, allow := dialControl(false), dialControl(true)
	for _, addr := range []string{
		"127.0.0.1:80", "127.1.2.3:443", "[::1]:443", // loopback
		"10.0.0.1:443", "172.16.0.1:443", "172.31.255.255:443", "192.168.1.1:443", "[fc00::1]:443", "[fd12:3456::1]:443", // private
		"169.254.169.254:80", "169.254.0.1:443", "[fe80::1]:443", // link-local, the cloud metadata address
		"100.64.0.1:443", "100.127.255.254:443", // carrier-grade NAT
		"0.0.0.0:443", "[::]:443", "0.1.2.3:443", // unspecified, this network
		"224.0.0.1:443", "239.255.255.250:1900", "[ff02::1]:443", "255.255.255.255:443", // multicast, broadcast
		"[::ffff:127.0.0.1]:443", "[::ffff:10.0.0.1]:443", "[::ffff:169.254.169.254]:80", // IPv4-mapped
		"[64:ff9b::7f00:1]:443", "[64:ff9b::a9fe:a9fe]:80", // NAT64 of loopback and the metadata address
		"[64:ff9b:1::a00:1]:443", "[64:ff9b:1::a9fe:a9fe]:80", // local-use NAT64 of private and the metadata address
		"[::7f00:1]:443", "[::a9fe:a9fe]:80", "[::a00:1]:443", // IPv4-compatible
		"[2002:7f00:1::1]:443", "[2002:a9fe:a9fe::1]:80", "[2002:c0a8:101::1]:443", // 6to4 of loopback, metadata, private
		"[2001:0:4136:e378:8000:63bf:3fff:fdd2]:443", "[2001::1]:443", // Teredo
		"198.18.0.1:443", "198.19.255.254:443", // benchmarking
		"192.0.0.1:443", "192.0.0.170:443", // IETF protocol assignments
		"240.0.0.1:443", "250.1.2.3:443", // reserved
		"192.0.2.1:443", "198.51.100.1:443", "203.0.113.1:443", "[2001:db8::1]:443", // documentation
		"[fec0::1]:443", // site-local
		"[100::1]:443",  // discard-only
		"[ff05::2]:443", // site-local multicast
	} {
		if err := refuse("tcp", addr, nil); !errors.Is(err, ErrTargetRefused) {
			t.Errorf("dialling %s: got %v, want ErrTargetRefused", addr, err)
		}
		if err := allow("tcp", addr, nil); err != nil {
			t.Errorf("dialling %s with AllowPrivateTargets: %v", addr, err)
		}
	}
	for _, addr := range []string{
		"93.184.215.14:443", "8.8.8.8:443", "100.128.0.1:443", "172.32.0.1:443", "198.20.0.1:443", "192.0.3.1:443",
		"[2606:4700::1111]:443", "[2606:4700:4700::1111]:443", "[2001:4860:4860::8888]:443",
		"[64:ff9b::808:808]:443", "[64:ff9b:1::808:808]:443", "[2002:808:808::1]:443", "[::808:808]:443", // public IPv4 embedded
	} {
		if err := refuse("tcp", addr, nil); err != nil {
			t.Errorf("dialling public %s: %v", addr, err)
		}
	}
	if err := refuse("tcp", "not-an-address", nil); !errors.Is(err, ErrTargetRefused) {
		t.Errorf("an address that does not parse: got %v, want ErrTargetRefused", err)
	}
}

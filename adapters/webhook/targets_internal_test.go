package webhook

import (
	"errors"
	"testing"
)

// TestDialControlRefusesInternalAddresses: the check on the dialled address
// refuses every internal range, however written, and lets public addresses
// through; AllowPrivateTargets lets everything through.
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
	} {
		if err := refuse("tcp", addr, nil); !errors.Is(err, ErrTargetRefused) {
			t.Errorf("dialling %s: got %v, want ErrTargetRefused", addr, err)
		}
		if err := allow("tcp", addr, nil); err != nil {
			t.Errorf("dialling %s with AllowPrivateTargets: %v", addr, err)
		}
	}
	for _, addr := range []string{"93.184.215.14:443", "8.8.8.8:443", "100.128.0.1:443", "172.32.0.1:443", "[2606:4700:4700::1111]:443", "[64:ff9b::808:808]:443"} {
		if err := refuse("tcp", addr, nil); err != nil {
			t.Errorf("dialling public %s: %v", addr, err)
		}
	}
	if err := refuse("tcp", "not-an-address", nil); !errors.Is(err, ErrTargetRefused) {
		t.Errorf("an address that does not parse: got %v, want ErrTargetRefused", err)
	}
}

package v2

import (
	"crypto/sha1"
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestNATHash: the NAT detection value is SHA-1(SPIi | SPIr | IP | port) with the address as
// 4 bytes for IPv4 and 16 for IPv6 (RFC 7296 2.23), as a straightforward hash computes it.
func TestNATHash(t *testing.T) {
	for _, ap := range []string{"192.0.2.1:500", "198.51.100.7:4500", "[2001:db8::1]:500", "[::ffff:192.0.2.1]:4500", "0.0.0.0:0"} {
		a := netip.MustParseAddrPort(ap)
		spii, spir := uint64(0x0123456789abcdef), uint64(0xfedcba9876543210)
		h := sha1.New()
		h.Write(binary.BigEndian.AppendUint64(nil, spii))
		h.Write(binary.BigEndian.AppendUint64(nil, spir))
		h.Write(a.Addr().AsSlice())
		h.Write(binary.BigEndian.AppendUint16(nil, a.Port()))
		if got, want := natHash(spii, spir, a), h.Sum(nil); string(got[:]) != string(want) {
			t.Errorf("%v: %x, want %x", ap, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { natHash(1, 2, netip.MustParseAddrPort("192.0.2.1:500")) }); n != 0 {
		t.Errorf("%v allocations, want none", n)
	}
}

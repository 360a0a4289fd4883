package gateway

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
)

// TestChildInstalledText: the "up" event of a new Child SA reads as it did when it was
// formatted with fmt, for prefixes, ranges, ports and several selectors.
func TestChildInstalledText(t *testing.T) {
	sel := func(s, e string, proto uint8, lo, hi uint16) ike.Selector {
		return ike.Selector{StartAddr: netip.MustParseAddr(s), EndAddr: netip.MustParseAddr(e), Proto: proto, StartPort: lo, EndPort: hi}
	}
	for _, c := range []*ike.ChildSA{
		{SPIIn: 0xc1a2b3d4, SPIOut: 0x5, Suite: crypto.Suite{Encr: crypto.EncrAESGCM16, EncrKeyBits: 256},
			LocalTS: []ike.Selector{sel("10.1.0.0", "10.1.0.255", 0, 0, 0xffff)}, RemoteTS: []ike.Selector{sel("10.2.0.0", "10.2.255.255", 0, 0, 0xffff)}},
		{SPIIn: 0xffffffff, SPIOut: 0, Suite: crypto.Suite{Encr: crypto.EncrAESCBC, EncrKeyBits: 128, Integ: crypto.IntegHMACSHA256128, DH: crypto.DHCurve25519, ESN: true},
			LocalTS:  []ike.Selector{sel("10.1.0.1", "10.1.0.9", 6, 443, 443), sel("2001:db8::", "2001:db8::ffff", 0, 0, 0xffff)},
			RemoteTS: []ike.Selector{sel("0.0.0.0", "255.255.255.255", 17, 0, 0xffff)}},
		{},
	} {
		want := fmt.Sprintf("Child SA installed: in 0x%08x out 0x%08x %s %v === %v", c.SPIIn, c.SPIOut, c.Algorithms(), c.LocalTSStrings(), c.RemoteTSStrings())
		if got := childInstalled(c); got != want {
			t.Errorf("childInstalled = %q, want %q", got, want)
		}
	}
}

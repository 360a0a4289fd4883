package gateway

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/ike"
)

// TestPickChildAmbiguous: an SPI that names Child SAs of several tunnels (two peers chose the
// same outbound SPI, or one chose our inbound SPI) is refused with a list of them, never
// resolved by picking one; the tunnel picks one, and the list says how.
func TestPickChildAmbiguous(t *testing.T) {
	child := func(id uint64, tunnel, peer string, in, out uint32) *ike.ChildSA {
		return &ike.ChildSA{ID: id, SPIIn: in, SPIOut: out,
			Tunnel: &ike.Tunnel{Cfg: &ike.TunnelConfig{Name: tunnel}},
			IKE:    &ike.IKESA{Remote: netip.AddrPortFrom(netip.MustParseAddr(peer), 500)}}
	}
	const spi = 0x0000abcd
	mine := child(1, "site-a", "192.0.2.2", spi, 0x1111)
	b := child(2, "site-b", "192.0.2.3", 0xc1000002, spi)
	c := child(3, "site-c", "192.0.2.4", 0xc1000003, spi)

	_, err := pickChild(spi, "", []*ike.ChildSA{c, mine, b})
	if !errors.Is(err, api.ErrConflict) {
		t.Fatalf("three Child SAs with one SPI: %v, want a conflict", err)
	}
	for _, want := range []string{
		"SPI 0x0000abcd is ambiguous: it names 3 Child SAs: ",
		"tunnel site-a (inbound, peer 192.0.2.2), " +
			"tunnel site-b (outbound, peer 192.0.2.3, inbound SPI 0xc1000002), " +
			"tunnel site-c (outbound, peer 192.0.2.4, inbound SPI 0xc1000003)",
		"--tunnel NAME", "?tunnel=NAME", "inbound SPI",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, want := range []*ike.ChildSA{mine, b, c} {
		if got, err := pickChild(spi, want.Tunnel.Cfg.Name, []*ike.ChildSA{c, mine, b}); err != nil || got != want {
			t.Errorf("tunnel %s picks %v, %v", want.Tunnel.Cfg.Name, got, err)
		}
	}
	if got, err := pickChild(spi, "", []*ike.ChildSA{b}); err != nil || got != b {
		t.Errorf("one Child SA: %v, %v", got, err)
	}
	if _, err := pickChild(spi, "site-z", []*ike.ChildSA{b, c}); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("none in the tunnel: %v, want not found", err)
	}
	if _, err := pickChild(spi, "", nil); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("no Child SA: %v, want not found", err)
	}

	// Two of one tunnel (its inbound SPI is the other's outbound one): only the inbound SPI
	// tells them apart, and the list is bounded.
	many := []*ike.ChildSA{child(4, "site-d", "192.0.2.5", spi, 1), child(5, "site-d", "192.0.2.5", 0xc1000005, spi)}
	for i := range 10 {
		many = append(many, child(uint64(10+i), "x", "192.0.2.9", 0xd0000000+uint32(i), spi))
	}
	_, err = pickChild(spi, "site-d", many)
	if !errors.Is(err, api.ErrConflict) || strings.Contains(err.Error(), "--tunnel") || !strings.Contains(err.Error(), "give its inbound SPI") {
		t.Errorf("ambiguous within the tunnel: %v", err)
	}
	_, err = pickChild(spi, "", many)
	if !strings.Contains(err.Error(), "names 12 Child SAs") || !strings.Contains(err.Error(), ", and 4 more") {
		t.Errorf("long list: %v", err)
	}
}

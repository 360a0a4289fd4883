package netns

import (
	"net/netip"
	"testing"
)

// Addresses of the attacker links added by NewAttackTopo.
var (
	// AtkNetA links gwA (AtkGwA, interface AtkIf) with the attacker (AtkAddr, AtkAddr2 on
	// interface AtkIfA): two addresses, so that a test can configure two attacker tunnels.
	AtkNetA  = netip.MustParsePrefix("203.0.113.0/24")
	AtkGwA   = netip.MustParseAddr("203.0.113.1")
	AtkAddr  = netip.MustParseAddr("203.0.113.2")
	AtkAddr2 = netip.MustParseAddr("203.0.113.3")
	// AtkNetB links gwB (AtkGwB) with the attacker (AtkAddrB); it is a /15 so that floods can
	// use many spoofed source addresses that gwB routes back over the same link.
	AtkNetB  = netip.MustParsePrefix("198.18.0.0/15")
	AtkGwB   = netip.MustParseAddr("198.18.0.1")
	AtkAddrB = netip.MustParseAddr("198.18.0.2")
)

// Interface names of the attacker links.
const (
	AtkIf  = "atk0" // in gwA and gwB: the link to the attacker
	AtkIfA = "toa0" // in the attacker namespace: the link to gwA
	AtkIfB = "tob0" // in the attacker namespace: the link to gwB
)

// AttackTopo is the site-to-site topology plus an attacker namespace with a link to each
// gateway:
//
//	hostA ── gwA ──(192.0.2.0/24)── gwB ── hostB
//	          └─(203.0.113.0/24)─ atk ─(198.18.0.0/15)─┘
type AttackTopo struct {
	*Topo
	Atk *NS
}

// NewAttackTopo builds the topology with namespaces "<prefix>-<4 hex>-{hostA,gwA,gwB,hostB,atk}"
// and removes them in t.Cleanup (it skips the test when namespaces are unavailable).
func NewAttackTopo(t testing.TB, prefix string) *AttackTopo {
	t.Helper()
	tp := NewSiteToSite(t, prefix)
	base := tp.GwA.Name[:len(tp.GwA.Name)-len("gwA")]
	atk, err := New(base + "atk")
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := atk.Close(); err != nil {
			t.Errorf("netns cleanup: %v", err)
		}
	})
	p := netip.PrefixFrom
	if err := Veth(tp.GwA, AtkIf, p(AtkGwA, 24), atk, AtkIfA, p(AtkAddr, 24)); err != nil {
		t.Fatalf("netns: %v", err)
	}
	if err := atk.ip("addr", "add", p(AtkAddr2, 24).String(), "dev", AtkIfA); err != nil {
		t.Fatalf("netns: %v", err)
	}
	if err := Veth(tp.GwB, AtkIf, p(AtkGwB, 15), atk, AtkIfB, p(AtkAddrB, 15)); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return &AttackTopo{Topo: tp, Atk: atk}
}

// AddAddr adds a secondary address (with prefix length) to interface dev of n.
func (n *NS) AddAddr(dev string, addr netip.Prefix) error {
	return n.ip("addr", "add", addr.String(), "dev", dev)
}

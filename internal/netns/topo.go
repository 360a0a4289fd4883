package netns

import (
	"net/netip"
	"testing"
)

// Interface names used by NewSiteToSite. Each namespace has its own
// interface list, so the names repeat across namespaces.
const (
	HostIf = "eth0" // hostA's and hostB's link to their gateway
	LANIf  = "lan0" // a gateway's link to its host
	WANIf  = "wan0" // a gateway's link to the other gateway
)

// Addresses used by NewSiteToSite.
var (
	NetA      = netip.MustParsePrefix("10.1.0.0/24")
	NetB      = netip.MustParsePrefix("10.2.0.0/24")
	NetWAN    = netip.MustParsePrefix("192.0.2.0/24")
	HostAAddr = netip.MustParseAddr("10.1.0.2")
	GwALAN    = netip.MustParseAddr("10.1.0.1")
	GwAWAN    = netip.MustParseAddr("192.0.2.1")
	GwBWAN    = netip.MustParseAddr("192.0.2.2")
	GwBLAN    = netip.MustParseAddr("10.2.0.1")
	HostBAddr = netip.MustParseAddr("10.2.0.2")
)

// Topo is the site-to-site topology built by NewSiteToSite:
//
//	hostA(eth0 10.1.0.2/24) ── (lan0 10.1.0.1/24) gwA (wan0 192.0.2.1/24)
//	  ── (wan0 192.0.2.2/24) gwB (lan0 10.2.0.1/24) ── (eth0 10.2.0.2/24) hostB
//
// Hosts have a default route to their gateway; gateways forward but have no
// route to the far site, so host-to-host traffic only flows once an IPsec
// tunnel installs one.
type Topo struct {
	HostA, GwA, GwB, HostB *NS
}

// NewSiteToSite builds the four namespaces named
// "<prefix>-<4 hex>-{hostA,gwA,gwB,hostB}" and removes them in t.Cleanup.
// It skips the test when Available reports an error and fails it when
// building the topology fails.
func NewSiteToSite(t testing.TB, prefix string) *Topo {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	tp, err := BuildSiteToSite(prefix, func(ns *NS) {
		t.Cleanup(func() {
			if err := ns.Close(); err != nil {
				t.Errorf("netns cleanup: %v", err)
			}
		})
	})
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	return tp
}

// BuildSiteToSite builds the site-to-site topology outside tests (benchmarks, tools). Each
// namespace is handed to created as soon as it exists, so that the caller can arrange its
// removal even when a later step fails.
func BuildSiteToSite(prefix string, created func(*NS)) (*Topo, error) {
	base := prefix + "-" + RandHex(4) + "-"
	tp := &Topo{}
	for _, r := range []struct {
		role string
		dst  **NS
	}{{"hostA", &tp.HostA}, {"gwA", &tp.GwA}, {"gwB", &tp.GwB}, {"hostB", &tp.HostB}} {
		ns, err := New(base + r.role)
		if err != nil {
			return nil, err
		}
		created(ns)
		*r.dst = ns
	}
	p := netip.PrefixFrom
	for _, l := range []struct {
		a     *NS
		aIf   string
		aAddr netip.Prefix
		b     *NS
		bIf   string
		bAddr netip.Prefix
	}{
		{tp.HostA, HostIf, p(HostAAddr, 24), tp.GwA, LANIf, p(GwALAN, 24)},
		{tp.GwA, WANIf, p(GwAWAN, 24), tp.GwB, WANIf, p(GwBWAN, 24)},
		{tp.GwB, LANIf, p(GwBLAN, 24), tp.HostB, HostIf, p(HostBAddr, 24)},
	} {
		if err := Veth(l.a, l.aIf, l.aAddr, l.b, l.bIf, l.bAddr); err != nil {
			return nil, err
		}
	}
	def := netip.MustParsePrefix("0.0.0.0/0")
	for _, step := range []func() error{
		func() error { return tp.HostA.AddRoute(def, GwALAN) },
		func() error { return tp.HostB.AddRoute(def, GwBLAN) },
		tp.GwA.EnableForwarding,
		tp.GwB.EnableForwarding,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return tp, nil
}

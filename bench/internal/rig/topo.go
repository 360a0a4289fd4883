package rig

import (
	"fmt"
	"net/netip"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// NewTopo builds the same four namespaces and links as netns.NewSiteToSite, named
// "<prefix>-<4 hex>-{hostA,gwA,gwB,hostB}", without a testing.TB:
//
//	hostA 10.1.0.2 ── 10.1.0.1 gwA 192.0.2.1 ── 192.0.2.2 gwB 10.2.0.1 ── 10.2.0.2 hostB
//
// Each namespace's removal is pushed on cl as soon as it exists, so a failure half-way
// leaves nothing behind once cl runs.
func NewTopo(cl *Cleanup, prefix string) (*netns.Topo, error) {
	if err := netns.Available(); err != nil {
		return nil, err
	}
	base := prefix + "-" + netns.RandHex(4) + "-"
	tp := &netns.Topo{}
	for _, r := range []struct {
		role string
		dst  **netns.NS
	}{{"hostA", &tp.HostA}, {"gwA", &tp.GwA}, {"gwB", &tp.GwB}, {"hostB", &tp.HostB}} {
		ns, err := netns.New(base + r.role)
		if err != nil {
			return nil, err
		}
		cl.Push("namespace "+ns.Name, ns.Close)
		*r.dst = ns
	}
	p := netip.PrefixFrom
	links := []struct {
		a     *netns.NS
		aIf   string
		aAddr netip.Prefix
		b     *netns.NS
		bIf   string
		bAddr netip.Prefix
	}{
		{tp.HostA, netns.HostIf, p(netns.HostAAddr, 24), tp.GwA, netns.LANIf, p(netns.GwALAN, 24)},
		{tp.GwA, netns.WANIf, p(netns.GwAWAN, 24), tp.GwB, netns.WANIf, p(netns.GwBWAN, 24)},
		{tp.GwB, netns.LANIf, p(netns.GwBLAN, 24), tp.HostB, netns.HostIf, p(netns.HostBAddr, 24)},
	}
	for _, l := range links {
		if err := netns.Veth(l.a, l.aIf, l.aAddr, l.b, l.bIf, l.bAddr); err != nil {
			return nil, err
		}
	}
	def := netip.MustParsePrefix("0.0.0.0/0")
	for _, step := range []func() error{
		func() error { return tp.HostA.AddRoute(def, netns.GwALAN) },
		func() error { return tp.HostB.AddRoute(def, netns.GwBLAN) },
		tp.GwA.EnableForwarding,
		tp.GwB.EnableForwarding,
	} {
		if err := step(); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
	}
	return tp, nil
}

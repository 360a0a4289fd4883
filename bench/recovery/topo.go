package main

import (
	"fmt"
	"net/netip"

	"github.com/vigil-ipsec/vigil/internal/netns"
)

// nsPrefix starts the names of every namespace this program creates.
const nsPrefix = "vgr2"

// newTopo builds the topology of netns.NewSiteToSite without a testing.TB, with namespaces
// named "vgr2-<4 hex>-{hostA,gwA,gwB,hostB}":
//
//	hostA 10.1.0.2 ── 10.1.0.1 gwA 192.0.2.1 ── 192.0.2.2 gwB 10.2.0.1 ── 10.2.0.2 hostB
//
// Each namespace's removal (which also kills the processes started in it) is pushed on cl as
// soon as the namespace exists.
func newTopo(cl *cleanup) (*netns.Topo, error) {
	base := nsPrefix + "-" + netns.RandHex(4) + "-"
	tp := &netns.Topo{}
	for _, r := range []struct {
		role string
		dst  **netns.NS
	}{{"hostA", &tp.HostA}, {"gwA", &tp.GwA}, {"gwB", &tp.GwB}, {"hostB", &tp.HostB}} {
		ns, err := netns.New(base + r.role)
		if err != nil {
			return nil, err
		}
		cl.push("namespace "+ns.Name, ns.Close)
		*r.dst = ns
	}
	p := netip.PrefixFrom
	for _, l := range []struct {
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
	} {
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

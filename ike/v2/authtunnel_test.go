package v2

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// TestAuthTunnelBySubnet: of 2,000 tunnels to one peer address with one remote identity
// (2,000 subnets to one site), IKE_AUTH finds the one the initiator's selectors name through
// the subnet index -- with the allocations of one candidate, not of a walk over 2,000 -- and
// falls back on the walk when the selectors are narrower than a configured subnet.
func TestAuthTunnelBySubnet(t *testing.T) {
	const n = 2000
	dp := iketest.NewNet().NewDP(netip.MustParseAddr("192.0.2.1"))
	e := ike.New(ike.Config{}, dp, nil, nil)
	v := &engine{Engine: e}
	peer := netip.MustParseAddrPort("192.0.2.2:500")
	id := ike.Identity{Type: ike.IDFQDN, Data: []byte("site.example")}
	cs := make([]*ike.TunnelConfig, n)
	for i := range cs {
		cs[i] = &ike.TunnelConfig{
			Name: fmt.Sprintf("t%d", i), Version: 2, Remote: peer, RemoteID: id,
			LocalTS:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")},
			RemoteTS: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1 + byte(i>>8), byte(i), 0}), 24)},
		}
	}
	ts := e.AddTunnels(cs) // the engine's loop is not running: this goroutine owns it
	sa := &ike.IKESA{Remote: peer}
	idi := &wire.ID{IDType: wire.IDType(id.Type), Data: id.Data}
	sel := func(p netip.Prefix) *wire.TrafficSelectors {
		first, last := ike.PrefixRange(p)
		return &wire.TrafficSelectors{Selectors: []wire.TrafficSelector{{StartPort: 0, EndPort: 0xffff, StartAddr: first, EndAddr: last}}}
	}
	tsr := sel(netip.MustParsePrefix("10.0.0.0/16"))
	last := ts[n-1]
	if got := v.authTunnel(sa, idi, sel(last.Cfg.RemoteTS[0]), tsr); got != last {
		t.Fatalf("selectors of %s found %v", last.Cfg.Name, got.Cfg.Name)
	}
	allocs := testing.AllocsPerRun(20, func() { v.authTunnel(sa, idi, sel(last.Cfg.RemoteTS[0]), tsr) })
	if allocs > 20 {
		t.Errorf("finding the last of %d tunnels allocates %.0f times: a walk, not a lookup", n, allocs)
	}
	// A host inside the last subnet: no subnet is exactly that, the walk finds it.
	host := netip.PrefixFrom(last.Cfg.RemoteTS[0].Addr().Next(), 32)
	if got := v.authTunnel(sa, idi, sel(host), tsr); got != last {
		t.Errorf("a host of %s found %v", last.Cfg.Name, got.Cfg.Name)
	}
	// Removing tunnels keeps the index right: the removed one is found no more.
	e.RemoveTunnels([]string{last.Cfg.Name}, false)
	if got := v.authTunnel(sa, idi, sel(last.Cfg.RemoteTS[0]), tsr); got == last {
		t.Error("a removed tunnel was found")
	}
}

// TestSelectorPrefix: a selector is a prefix only when it covers every protocol and port and
// its range is one CIDR block.
func TestSelectorPrefix(t *testing.T) {
	r := func(a, b string) ike.Selector {
		return ike.Selector{StartAddr: netip.MustParseAddr(a), EndAddr: netip.MustParseAddr(b), EndPort: 0xffff}
	}
	for _, tc := range []struct {
		s    ike.Selector
		want string
	}{
		{r("10.1.2.0", "10.1.2.255"), "10.1.2.0/24"},
		{r("10.1.2.3", "10.1.2.3"), "10.1.2.3/32"},
		{r("0.0.0.0", "255.255.255.255"), "0.0.0.0/0"},
		{r("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"), "2001:db8::/64"},
		{r("10.1.2.0", "10.1.2.254"), ""},
		{r("10.1.2.1", "10.1.2.255"), ""},
		{r("10.1.2.0", "10.1.3.255"), "10.1.2.0/23"},
		{r("10.1.1.0", "10.1.2.255"), ""},
		{r("10.0.0.0", "2001:db8::1"), ""},
		{ike.Selector{Proto: 6, StartAddr: netip.MustParseAddr("10.0.0.0"), EndAddr: netip.MustParseAddr("10.0.0.255"), EndPort: 0xffff}, ""},
		{ike.Selector{StartAddr: netip.MustParseAddr("10.0.0.0"), EndAddr: netip.MustParseAddr("10.0.0.255"), EndPort: 80}, ""},
	} {
		p, ok := selectorPrefix(tc.s)
		if got := ""; ok {
			got = p.String()
			if got != tc.want {
				t.Errorf("%v-%v: %s, want %q", tc.s.StartAddr, tc.s.EndAddr, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%v-%v: not a prefix, want %s", tc.s.StartAddr, tc.s.EndAddr, tc.want)
		}
	}
}

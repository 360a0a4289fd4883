package ike

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestPeerIndex adds tunnels to two peers, some sharing identities, removes them in random
// order, and after every step compares each lookup with a scan over the tunnels left.
func TestPeerIndex(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}
	var all []*Tunnel
	for i := range 300 {
		c := &TunnelConfig{
			Name:     fmt.Sprintf("t%d", i),
			Version:  1 + i%2,
			Remote:   netip.AddrPortFrom(addrs[i%2], 500),
			LocalID:  Identity{Type: IDFQDN, Data: []byte(fmt.Sprintf("a%d", i%7))},
			RemoteID: Identity{Type: IDFQDN, Data: []byte(fmt.Sprintf("b%d", i%5))},
			RemoteTS: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)},
		}
		if i%11 == 0 {
			c.RemoteID = Identity{} // accepts any remote identity (engine tests only)
		}
		tun := &Tunnel{Cfg: c}
		e.tunnels[c.Name] = tun
		e.indexTunnel(tun)
		all = append(all, tun)
	}
	// Every third tunnel has an established IKE SA.
	for i, tun := range all {
		if i%3 == 0 {
			sa := &IKESA{Tunnel: tun}
			tun.IKE = sa
			e.SetIKEState(sa, IKEInitSent)
			e.SetIKEState(sa, IKEEstablished)
		}
	}
	check := func(step string) {
		t.Helper()
		for _, a := range addrs {
			var want []*Tunnel
			v1, est := 0, false
			for _, tun := range all {
				if tun.Cfg.Remote.Addr() == a {
					want = append(want, tun)
					if tun.Cfg.Version == 1 {
						v1++
					}
					if tun.IKE != nil && tun.IKE.State == IKEEstablished {
						est = true
					}
				}
			}
			if got := e.TunnelsTo(a); !sameSet(got, want) {
				t.Fatalf("%s: TunnelsTo(%v) has %d tunnels, want %d", step, a, len(got), len(want))
			}
			anyID := slices.ContainsFunc(want, func(tun *Tunnel) bool { return len(tun.Cfg.RemoteID.Data) == 0 })
			if got := e.TunnelsToAnyID(a); anyID && !sameSet(got, want) || !anyID && got != nil {
				t.Fatalf("%s: TunnelsToAnyID(%v) has %d tunnels; a tunnel without remote identity: %v", step, a, len(got), anyID)
			}
			wantV := 2
			if len(want) > 0 && v1 == len(want) {
				wantV = 1
			}
			if got := e.peerVersion(a); got != wantV {
				t.Fatalf("%s: peerVersion(%v) = %d, want %d", step, a, got, wantV)
			}
			sa := e.IKEByPeer(a)
			if (sa != nil) != est || (sa != nil && (sa.State != IKEEstablished || sa.Tunnel.Cfg.Remote.Addr() != a)) {
				t.Fatalf("%s: IKEByPeer(%v) = %v, want one: %v", step, a, sa, est)
			}
			for r := range 5 {
				id := Identity{Type: IDFQDN, Data: []byte(fmt.Sprintf("b%d", r))}
				var wantID []*Tunnel
				for _, tun := range want {
					if string(tun.Cfg.RemoteID.Data) == string(id.Data) {
						wantID = append(wantID, tun)
					}
				}
				if got := e.TunnelsFor(a, id); !sameSet(got, wantID) {
					t.Fatalf("%s: TunnelsFor(%v, %s) has %d tunnels, want %d", step, a, id.Data, len(got), len(wantID))
				}
				// By subnet: the tunnel itself once its identity has two or more (a tunnel
				// left alone may stay indexed), never another one.
				for _, tun := range wantID {
					got := e.TunnelsForSubnet(a, id, tun.Cfg.RemoteTS[0])
					if len(wantID) > 1 && !sameSet(got, []*Tunnel{tun}) || len(got) > 1 || len(got) == 1 && got[0] != tun {
						t.Fatalf("%s: TunnelsForSubnet(%v, %s, %v) = %d tunnels, want %s alone", step, a, id.Data, tun.Cfg.RemoteTS[0], len(got), tun.Cfg.Name)
					}
				}
			}
		}
	}
	check("all added")
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for len(all) > 0 {
		tun := all[len(all)-1]
		all = all[:len(all)-1]
		if tun.IKE != nil && rng.IntN(2) == 0 {
			e.SetIKEState(tun.IKE, IKEDeleting) // the SA goes first, or with its tunnel
			tun.IKE = nil
		}
		e.unindexTunnel(tun)
		if tun.IKE != nil {
			e.SetIKEState(tun.IKE, IKEDead)
		}
		check(fmt.Sprintf("%s removed, %d left", tun.Cfg.Name, len(all)))
	}
	if len(e.peers) != 0 || len(e.byPeerID) != 0 || len(e.byRemoteSubnet) != 0 {
		t.Fatalf("indexes not empty after removing every tunnel: %d peers, %d identity lists, %d subnet lists", len(e.peers), len(e.byPeerID), len(e.byRemoteSubnet))
	}
}

func sameSet(a, b []*Tunnel) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

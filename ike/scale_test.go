package ike

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// countHooks counts Child SAs coming up.
type countHooks struct {
	NopHooks
	up chan struct{}
}

func (h *countHooks) ChildUp(c, old *ChildSA) {
	if old == nil {
		h.up <- struct{}{}
	}
}

// BenchmarkHubTunnels sets up n tunnels from n peers to one hub engine over the in-memory
// network and reports the hub's memory per tunnel (IKE SA + Child SA + indexes) and the rate
// of IKE SA + Child SA set-ups. Every lookup on the way (IKE_SA_INIT by peer address,
// IKE_AUTH by identity, messages by SPI) is a map access, so the rate must not fall as n
// grows: compare -bench 'HubTunnels/n=1000' with 'n=10000'.
func BenchmarkHubTunnels(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				hubTunnels(b, n)
			}
		})
	}
}

func hubTunnels(b *testing.B, n int) {
	b.StopTimer()
	fn := &fakeNet{nodes: map[netip.Addr]*fakeDP{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	props := mustProps(b, "aes128gcm16-prfsha256-x25519", true)
	esp := mustProps(b, "aes128gcm16", false)
	hubAddr := netip.MustParseAddr("192.0.2.1")
	mkDP := func(a netip.Addr) *fakeDP {
		return &fakeDP{net: fn, addr: a, sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}}
	}
	cfg := func(name string, local, remote netip.Addr, lid, rid string, lnet, rnet netip.Prefix) *TunnelConfig {
		return &TunnelConfig{
			Name: name, Local: netip.AddrPortFrom(local, 500), Remote: netip.AddrPortFrom(remote, 500),
			LocalID: Identity{IDFQDN, []byte(lid)}, RemoteID: Identity{IDFQDN, []byte(rid)},
			PSK: []byte("hub-pre-shared-key-0123"), LocalTS: []netip.Prefix{lnet}, RemoteTS: []netip.Prefix{rnet},
			IKEProposals: props, ESPProposals: esp, IKELifetime: time.Hour, ChildLifetime: time.Hour,
			DPDTimeout: 10 * time.Second, ReplayWindow: 1024,
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	hubDP := mkDP(hubAddr)
	hubHooks := &countHooks{up: make(chan struct{}, n)}
	hub := New(Config{}, hubDP, hubHooks, nil)
	hubDP.engine = hub
	fn.nodes[hubAddr] = hubDP
	hubNet := netip.MustParsePrefix("10.0.0.0/16")
	spokes := make([]*Engine, n)
	spokeTunnels := make([]*Tunnel, n)
	spokeUp := &countHooks{up: make(chan struct{}, n)}
	for i := 0; i < n; i++ {
		addr := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		spokeNet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)}), 32)
		name := fmt.Sprintf("s%d", i)
		hub.AddTunnel(cfg(name, hubAddr, addr, "hub.example", name+".example", hubNet, spokeNet))
		dp := mkDP(addr)
		e := New(Config{}, dp, spokeUp, nil)
		dp.engine = e
		fn.nodes[addr] = dp
		spokeTunnels[i] = e.AddTunnel(cfg("hub", addr, hubAddr, name+".example", "hub.example", spokeNet, hubNet))
		spokes[i] = e
		go e.Run(ctx)
	}
	go hub.Run(ctx)
	b.StartTimer()
	start := time.Now()
	for i, e := range spokes {
		t := spokeTunnels[i]
		e.Do(func() { e.Initiate(t) })
	}
	for i := 0; i < n; i++ {
		<-hubHooks.up
	}
	elapsed := time.Since(start)
	b.StopTimer()
	hub.Call(func() {})
	// The hub's share: its engine alone (spokes are separate engines in this process, so
	// measure by removing them from the count: each spoke holds one IKE SA and one Child SA,
	// like the hub per tunnel, so the hub's part is about half the growth).
	runtime.GC()
	runtime.ReadMemStats(&m1)
	perTunnel := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(n) / 2
	b.ReportMetric(perTunnel/1024, "KiB/tunnel")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "setups/s")
	var sas int
	hub.Call(func() { sas = len(hub.ikeSAs) })
	if sas != n {
		b.Fatalf("hub has %d IKE SAs, want %d", sas, n)
	}
	cancel()
	b.StartTimer()
}

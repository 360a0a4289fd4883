package gateway

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// udp4 builds an inner IPv4/UDP packet.
func udp4(src, dst string) []byte {
	p := make([]byte, 28+16)
	p[0], p[8], p[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], 4000)
	binary.BigEndian.PutUint16(p[22:], 5000)
	binary.BigEndian.PutUint16(p[24:], 24)
	return p
}

func hasEvent(g *Gateway, tunnel, kind, cause string) bool {
	return countEvents(g, func(ev api.Event) bool { return ev.Tunnel == tunnel && ev.Kind == kind && ev.Cause == cause }) > 0
}

// sendUntil injects A->B packets every 20 ms until cond holds or d passes.
func sendUntil(t *testing.T, a *testGateway, d time.Duration, cond func() bool) {
	t.Helper()
	pkt := udp4("10.1.1.5", "10.1.2.5")
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		mem(a).Inject(pkt)
	}
}

// noInvalidSPI makes B send no INVALID_SPI (per_peer_rate = 0), so that A behaves like a peer
// that ignores it (strongSwan): only B's own repair can help.
const noInvalidSPI = "[global.invalid_spi]\nper_peer_rate = 0\n"

// TestHealChildLostHere: B (responder, start_action none) loses its Child SA silently; A keeps
// sending on it and ignores B's INVALID_SPI. After heal_delay B creates the Child SA itself,
// tells A to drop the stale pair, and traffic flows again over one pair.
func TestHealChildLostHere(t *testing.T) {
	forVersions(t, func(t *testing.T, v string) {
		n := memory.NewNetwork()
		b := startGateway(t, n, parseConf(t, noInvalidSPI+mirrorTOML("ab", addrB, addrA, 1)+v+"heal_delay = \"200ms\"\n"))
		a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`, v)))
		in0, _ := childSPIs(t, b.Gateway, "ab")
		b.engine.Call(func() {
			if got := b.engine.Tunnel("ab").IKE.Version; "version = "+string(rune('0'+got))+"\n" != v {
				t.Fatalf("IKE version %d, want %q", got, v)
			}
		})
		if _, err := b.DeleteChildSA(api.SPI(in0), "", false); err != nil {
			t.Fatal(err)
		}
		sendUntil(t, a, 5*time.Second, func() bool { return hasEvent(b.Gateway, "ab", "recovered", "child-lost-here") })
		for _, k := range []string{"detect", "action"} {
			if !hasEvent(b.Gateway, "ab", k, "child-lost-here") {
				t.Errorf("no %s child-lost-here event", k)
			}
		}
		// Traffic flows over the new pair, and A's stale pair is deleted (B's Delete).
		got := 0
		sendUntil(t, a, 5*time.Second, func() bool {
			select {
			case <-mem(b).Received():
				got++
			default:
			}
			var children int
			a.engine.Call(func() { children = len(a.engine.Tunnel("ab").IKE.Children()) })
			return got > 0 && children == 1
		})
		inA, outA := childSPIs(t, a.Gateway, "ab")
		inB, outB := childSPIs(t, b.Gateway, "ab")
		if inA != outB || outA != inB || inB == in0 {
			t.Errorf("pairs differ: A %08x/%08x B %08x/%08x (lost %08x)", inA, outA, inB, outB, in0)
		}
	})
}

// TestHealChildLostHereDisabled: with heal = false nothing is created from our side.
func TestHealChildLostHereDisabled(t *testing.T) {
	n := memory.NewNetwork()
	b := startGateway(t, n, parseConf(t, noInvalidSPI+mirrorTOML("ab", addrB, addrA, 1)+"heal = false\nheal_delay = \"100ms\"\n"))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`)))
	in0, _ := childSPIs(t, b.Gateway, "ab")
	b.DeleteChildSA(api.SPI(in0), "", false)
	pkt := udp4("10.1.1.5", "10.1.2.5")
	for range 25 {
		mem(a).Inject(pkt)
		time.Sleep(20 * time.Millisecond)
	}
	if hasEvent(b.Gateway, "ab", "action", "child-lost-here") {
		t.Error("healed with heal = false")
	}
	var c *ike.ChildSA
	b.engine.Call(func() { c = b.engine.Tunnel("ab").Child })
	if c != nil {
		t.Error("B created a Child SA with heal = false")
	}
}

// TestHealRestart: B loses everything (as after a restart); A's ESP makes B initiate the
// tunnel's IKE SA with INITIAL_CONTACT although its start_action is none; A drops its old SAs.
func TestHealRestart(t *testing.T) {
	forVersions(t, func(t *testing.T, v string) {
		n := memory.NewNetwork()
		b := startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)+v))
		a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`, `dpd_delay = "0s"`, v)))
		childSPIs(t, b.Gateway, "ab")
		var oldIKE *ike.IKESA
		a.engine.Call(func() { oldIKE = a.engine.Tunnel("ab").IKE })
		b.engine.Call(func() {
			for _, sa := range b.engine.IKESAs() {
				b.engine.RemoveIKE(sa, ike.ErrDeleted) // forget, tell nobody
			}
		})
		sendUntil(t, a, 5*time.Second, func() bool { return hasEvent(b.Gateway, "ab", "recovered", "restart-heal") })
		if !hasEvent(b.Gateway, "ab", "connect", "restart-heal") {
			t.Error("no connect restart-heal event")
		}
		got := false
		sendUntil(t, a, 5*time.Second, func() bool {
			select {
			case <-mem(b).Received():
				got = true
			default:
			}
			var old ike.IKEState
			a.engine.Call(func() { old = oldIKE.State })
			return got && old == ike.IKEDead
		})
	})
}

// TestHealRestartFromIKERequest: a request for an IKE SA B does not have (A's liveness check
// after B lost its state) also makes B re-initiate.
func TestHealRestartFromIKERequest(t *testing.T) {
	n := memory.NewNetwork()
	b := startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`)))
	childSPIs(t, b.Gateway, "ab")
	b.engine.Call(func() {
		for _, sa := range b.engine.IKESAs() {
			b.engine.RemoveIKE(sa, ike.ErrDeleted)
		}
	})
	a.engine.Call(func() { a.engine.Liveness(a.engine.Tunnel("ab").IKE, nil) })
	deadline := time.Now().Add(5 * time.Second)
	for !hasEvent(b.Gateway, "ab", "recovered", "restart-heal") {
		if time.Now().After(deadline) {
			t.Fatal("B did not re-initiate on a request for an unknown IKE SA")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHealRestartSpoofed: ESP with random SPIs from the configured address of a tunnel whose
// peer is down, and from unconfigured addresses, makes at most one IKE_SA_INIT per tunnel per
// 5 s leave, towards the configured address only, and creates no IKE SA state beyond it.
func TestHealRestartSpoofed(t *testing.T) {
	n := memory.NewNetwork()
	b := startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	var inits []netip.AddrPort // one per new IKE SA (retransmissions repeat its SPIi)
	seen := map[uint64]bool{}
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	mem(b).DropIKE(func(_, remote netip.AddrPort, msg []byte) bool {
		if len(msg) > 19 && msg[18] == byte(wire.ExchangeIKESAInit) && msg[19]&0x20 == 0 {
			<-mu
			if spi := binary.BigEndian.Uint64(msg); !seen[spi] {
				seen[spi] = true
				inits = append(inits, remote)
			}
			mu <- struct{}{}
		}
		return true // A is down
	})
	bAddr := netip.MustParseAddrPort(addrB + ":4500")
	esp := make([]byte, 64)
	start := time.Now()
	for i := 0; time.Since(start) < 1500*time.Millisecond; i++ {
		binary.BigEndian.PutUint32(esp, uint32(1000+i))
		binary.BigEndian.PutUint32(esp[4:], 1)
		src := netip.MustParseAddrPort(addrA + ":4500")
		if i%2 == 1 {
			src = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 4500)
		}
		mem(b).InjectESP(src, bAddr, esp)
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	b.engine.Call(func() {}) // the events reach the loop
	<-mu
	defer func() { mu <- struct{}{} }()
	if len(inits) != 1 || inits[0].Addr() != netip.MustParseAddr(addrA) {
		t.Errorf("IKE_SA_INITs sent: %v, want exactly one to %s", inits, addrA)
	}
	var sas int
	b.engine.Call(func() { sas = len(b.engine.IKESAs()) })
	if sas > 1 {
		t.Errorf("%d IKE SAs created", sas)
	}
}

// TestHealVigilPeerReplacesFirst: against a peer that acts on INVALID_SPI (Vigil), the peer's
// replacement arrives long before heal_delay and B creates nothing itself.
func TestHealVigilPeerReplacesFirst(t *testing.T) {
	n := memory.NewNetwork()
	b := startGateway(t, n, parseConf(t, mirrorTOML("ab", addrB, addrA, 1)))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`)))
	in0, _ := childSPIs(t, b.Gateway, "ab")
	b.DeleteChildSA(api.SPI(in0), "", false)
	sendUntil(t, a, 5*time.Second, func() bool { return hasEvent(b.Gateway, "ab", "recovered", "child-lost-here") })
	if hasEvent(b.Gateway, "ab", "action", "child-lost-here") {
		t.Error("B created the Child SA although the peer replaced it")
	}
	if !hasEvent(a.Gateway, "ab", "recovered", "invalid-spi") {
		t.Error("A did not replace the Child SA on B's INVALID_SPI")
	}
}

// TestHealOnlyForGoneSPI: ESP from the peer's address on an SPI that never was ours (a
// spoofer's random SPI) heals nothing; the lost Child SA's own SPI does.
func TestHealOnlyForGoneSPI(t *testing.T) {
	n := memory.NewNetwork()
	b := startGateway(t, n, parseConf(t, noInvalidSPI+mirrorTOML("ab", addrB, addrA, 1)+"heal_delay = \"100ms\"\n"))
	a := startGateway(t, n, parseConf(t, tunnelTOML("ab", addrA, addrB, 1, "start", `child_probe = "0s"`)))
	in0, _ := childSPIs(t, b.Gateway, "ab")
	b.DeleteChildSA(api.SPI(in0), "", false)
	esp := make([]byte, 64)
	for i := range 50 {
		binary.BigEndian.PutUint32(esp, uint32(0x10000+i))
		binary.BigEndian.PutUint32(esp[4:], 1)
		mem(b).InjectESP(netip.MustParseAddrPort(addrA+":500"), netip.MustParseAddrPort(addrB+":500"), esp)
	}
	b.engine.Call(func() {})
	time.Sleep(300 * time.Millisecond) // longer than heal_delay: nothing may have started
	if hasEvent(b.Gateway, "ab", "detect", "child-lost-here") {
		t.Fatal("random SPIs from the peer's address started a heal")
	}
	sendUntil(t, a, 5*time.Second, func() bool { return hasEvent(b.Gateway, "ab", "recovered", "child-lost-here") })
}

package gateway

import (
	"net/netip"
	"testing"
	"time"
)

// TestTunnelDownStaysDownUnderTraffic: a tunnel the operator took down (`vigil tunnel down`)
// stays down while traffic for it keeps arriving (its hold policy still traps: each packet
// would otherwise start a new IKE SA), until `vigil tunnel up`.
func TestTunnelDownStaysDownUnderTraffic(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		if err := l.a.TunnelDown("ab"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the Deletes are answered
		dp := mem(l.a)
		src, dst := netip.MustParseAddr("10.1.1.1"), netip.MustParseAddr("10.1.2.1")
		for range 5 { // acquires are limited to one a second per tunnel
			dp.SendInner(src, dst, []byte("wake up")) // held (the error says so): what raises the acquire
			time.Sleep(1100 * time.Millisecond)
		}
		var up bool
		l.a.engine.Call(func() { up = l.a.engine.Tunnel("ab").IKE != nil })
		if up {
			t.Fatal("traffic brought a tunnel taken down by the operator back up")
		}
		if err := l.a.TunnelUp("ab"); err != nil {
			t.Fatal(err)
		}
		l.waitChild(l.a, 0, time.Second)
	})
}

// TestNoRestartHealRightAfterPeerDelete: when the peer deletes the IKE SA (here: its operator
// takes the tunnel down), its packets still in flight reach a gateway that no longer has the
// SAs. They are no sign that this side lost its state: for peerDeleteQuiet they do not start a
// restart heal; after that, the same signal does.
func TestNoRestartHealRightAfterPeerDelete(t *testing.T) {
	inFakeTime(t, func(t *testing.T, v int) {
		l := startLink(t, v, linkConf{})
		if err := l.a.TunnelDown("ab"); err != nil { // A deletes the IKE SA, telling B
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		ikeAtB := func() (up bool) {
			l.b.engine.Call(func() { up = l.b.engine.Tunnel("ab").IKE != nil })
			return up
		}
		if ikeAtB() {
			t.Fatal("B still has the IKE SA after A's Delete")
		}
		l.b.engine.Call(func() { l.b.healRestart(netip.MustParseAddr(addrA), "ESP on an unknown SPI") })
		time.Sleep(100 * time.Millisecond)
		if ikeAtB() {
			t.Fatal("a packet in flight right after the peer's Delete started a restart heal")
		}
		time.Sleep(peerDeleteQuiet + restartHealInterval)
		l.b.engine.Call(func() { l.b.healRestart(netip.MustParseAddr(addrA), "ESP on an unknown SPI") })
		time.Sleep(10 * time.Millisecond)
		if !ikeAtB() {
			t.Fatal("the same signal long after the Delete did not start a restart heal")
		}
	})
}

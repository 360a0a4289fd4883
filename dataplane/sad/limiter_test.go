package sad

import (
	"net/netip"
	"testing"
	"time"
)

// TestUnknownSPIBudgetReservedForKnownPeers: a flood of random SPIs from spoofed sources uses
// up the strangers' budget, but a known peer's report of a lost SA still gets through, also
// after its last SA went, and a flood with the peer's own address drains only its bucket.
func TestUnknownSPIBudgetReservedForKnownPeers(t *testing.T) {
	l := newSPILimiter(UnknownSPILimits{})
	peer := netip.MustParseAddr("192.0.2.2")
	other := netip.MustParseAddr("192.0.2.3")
	l.addPeer(peer)
	l.addPeer(other)
	now := time.Now().UnixNano()
	l.removePeer(peer, now) // we lost (or deleted) its SA
	passed := 0
	for i := range 100000 {
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		if ok, _ := l.allow(uint32(i)+1000, src, now+int64(i)*int64(time.Microsecond)); ok {
			passed++
		}
	}
	if passed > 110 {
		t.Errorf("%d stranger events in 0.1 s, want about the total budget (100)", passed)
	}
	at := now + int64(100*time.Millisecond)
	if ok, _ := l.allow(0xdead, peer, at); !ok {
		t.Error("the known peer's report was starved by strangers")
	}
	// The peer's own address spoofed with random SPIs: its bucket (10) empties, the other
	// peer's does not.
	for i := range 1000 {
		l.allow(uint32(5000+i), peer, at+1)
	}
	if ok, _ := l.allow(0xbeef, other, at+2); !ok {
		t.Error("a flood from one peer's address starved another peer")
	}
	// Ten minutes after its last SA the peer is a stranger again (the table stays bounded).
	later := now + peerLinger + int64(time.Second)
	if l.knownPeer(peer, later) != nil || len(l.known) != 1 {
		t.Errorf("a peer without SAs lingers for ever: %d known", len(l.known))
	}
}

// TestUnknownSPIPerSourceSPI: the same SPI from a spoofed source does not use up the genuine
// source's allowance for it.
func TestUnknownSPIPerSourceSPI(t *testing.T) {
	l := newSPILimiter(UnknownSPILimits{})
	now := time.Now().UnixNano()
	if ok, _ := l.allow(7, netip.MustParseAddr("198.18.0.1"), now); !ok {
		t.Fatal("first event refused")
	}
	if ok, _ := l.allow(7, netip.MustParseAddr("192.0.2.2"), now); !ok {
		t.Error("another source's event for the same SPI suppressed")
	}
}

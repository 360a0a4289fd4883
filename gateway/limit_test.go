package gateway

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
)

func TestSPILimiter(t *testing.T) {
	l := newSPILimiter(time.Second, 10)
	now := time.Unix(1000, 0)
	peer := netip.MustParseAddr("192.0.2.2")
	if !l.allow(peer, 1, now) || l.allow(peer, 1, now.Add(500*time.Millisecond)) {
		t.Fatal("per-SPI interval not enforced")
	}
	if !l.allow(peer, 1, now.Add(1001*time.Millisecond)) {
		t.Fatal("SPI not allowed again after the interval")
	}
	// Per peer: 10 per second, whatever the SPIs.
	n := 0
	for spi := uint32(100); spi < 200; spi++ {
		if l.allow(peer, spi, now.Add(2*time.Second)) {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("%d notifies allowed in one instant, want 10", n)
	}
	// Another peer has its own budget.
	if !l.allow(netip.MustParseAddr("192.0.2.3"), 100, now.Add(2*time.Second)) {
		t.Fatal("second peer starved by the first")
	}
	// Rate 0 disables sending.
	if newSPILimiter(time.Second, 0).allow(peer, 1, now) {
		t.Fatal("per_peer_rate 0 still sends")
	}
}

func TestSPILimiterBounded(t *testing.T) {
	l := newSPILimiter(time.Second, 1<<30)
	now := time.Unix(1000, 0)
	for i := 0; i < 100000; i++ {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint32(i), now)
	}
	if len(l.bySPI) > maxEntries || len(l.byPeer) > maxEntries {
		t.Fatalf("tables grew to %d/%d entries", len(l.bySPI), len(l.byPeer))
	}
}

func TestEventLog(t *testing.T) {
	l := newEventLog(4)
	ctx, cancel := context.WithCancel(context.Background())
	sub := l.subscribe(ctx, "a")
	for i := 0; i < 6; i++ {
		tun := "a"
		if i%2 == 1 {
			tun = "b"
		}
		l.add(api.Event{Tunnel: tun, Kind: "k"})
	}
	all := l.since("", 0)
	if len(all) != 4 || all[0].Seq != 3 || all[3].Seq != 6 {
		t.Fatalf("ring keeps %+v", all)
	}
	if got := l.since("a", 3); len(got) != 1 || got[0].Seq != 5 {
		t.Fatalf("since(a, 3) = %+v", got)
	}
	for _, want := range []uint64{1, 3, 5} {
		if ev := <-sub; ev.Seq != want || ev.Tunnel != "a" {
			t.Fatalf("subscriber got %+v, want seq %d", ev, want)
		}
	}
	cancel()
	for range sub { // closed after cancel
	}
}

func TestRoundOutage(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{512345 * time.Nanosecond, "512µs"},
		{2077123 * time.Nanosecond, "2.08ms"},
		{3021 * time.Millisecond, "3.021s"},
	} {
		if got := roundOutage(c.in).String(); got != c.want {
			t.Errorf("roundOutage(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

package memory

import (
	"bytes"
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/esp"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	hostA = netip.MustParseAddr("10.1.0.1")
	hostB = netip.MustParseAddr("10.2.0.1")
)

func sel(pfx string) dataplane.Selector {
	p := netip.MustParsePrefix(pfx)
	return dataplane.Selector{StartAddr: p.Masked().Addr(), EndAddr: lastAddr(p), EndPort: 0xffff}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		a[i/8] |= 1 << (7 - i%8)
	}
	r := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return r.Unmap()
	}
	return r
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 36) }

// pair installs a Child SA pair between a (at la) and b (at lb) plus mirrored policies.
func pair(t testing.TB, a, b *Dataplane, spiAB, spiBA uint32, mod func(*dataplane.SAConfig)) {
	t.Helper()
	la, lb := netip.AddrPortFrom(addrA, 4500), netip.AddrPortFrom(addrB, 4500)
	mk := func(spi uint32, dir dataplane.Direction, local, remote netip.AddrPort, k byte) dataplane.SAConfig {
		c := dataplane.SAConfig{SPI: spi, Dir: dir, Tunnel: "t", ChildID: 1, Local: local, Remote: remote,
			Encap: dataplane.EncapUDP, Encr: crypto.EncrAESGCM16, EncrKey: key(k)}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	must(t, a.AddSA(mk(spiAB, dataplane.Out, la, lb, 1)))
	must(t, b.AddSA(mk(spiAB, dataplane.In, lb, la, 1)))
	must(t, b.AddSA(mk(spiBA, dataplane.Out, lb, la, 2)))
	must(t, a.AddSA(mk(spiBA, dataplane.In, la, lb, 2)))
	// b (the responder) is complete before a installs its policy, which may flush held packets.
	must(t, b.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{sel("10.2.0.0/16")},
		RemoteTS: []dataplane.Selector{sel("10.1.0.0/16")}, OutChild: 1}))
	must(t, a.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{sel("10.1.0.0/16")},
		RemoteTS: []dataplane.Selector{sel("10.2.0.0/16")}, OutChild: 1}))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newPair(t testing.TB, ha, hb dataplane.IKEHandler) (*Dataplane, *Dataplane) {
	n := NewNetwork()
	a := n.Attach([]netip.Addr{addrA}, ha)
	b := n.Attach([]netip.Addr{addrB}, hb)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func recv(t *testing.T, d *Dataplane) []byte {
	t.Helper()
	select {
	case p := <-d.Received():
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no packet received")
	}
	return nil
}

func TestIKEDeliveryInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	a, _ := newPair(t, nil, func(local, remote netip.AddrPort, msg []byte) {
		mu.Lock()
		defer mu.Unlock()
		if local != netip.AddrPortFrom(addrB, 500) || remote != netip.AddrPortFrom(addrA, 500) {
			t.Errorf("addresses local=%v remote=%v", local, remote)
		}
		got = append(got, string(msg))
		if len(got) == 3 {
			close(done)
		}
	})
	a.DropIKE(func(_, _ netip.AddrPort, msg []byte) bool { return string(msg) == "drop" })
	for _, m := range []string{"one", "drop", "two", "three"} {
		must(t, a.SendIKE(netip.AddrPortFrom(addrA, 500), netip.AddrPortFrom(addrB, 500), []byte(m)))
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"one", "two", "three"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %q", got)
	}
	if c := a.Counters(); c.IKEOut != 4 || c.IKEDrops != 1 {
		t.Fatalf("counters %+v", c)
	}
	if err := a.SendIKE(netip.AddrPortFrom(addrB, 500), netip.AddrPortFrom(addrA, 500), nil); err == nil {
		t.Fatal("SendIKE from a foreign address succeeded")
	}
}

func TestIKEQueueBounded(t *testing.T) {
	block := make(chan struct{})
	a, b := newPair(t, nil, func(netip.AddrPort, netip.AddrPort, []byte) { <-block })
	defer close(block)
	for range IKEQueueLen + 50 {
		must(t, a.SendIKE(netip.AddrPortFrom(addrA, 500), netip.AddrPortFrom(addrB, 500), []byte("x")))
	}
	// The handler holds one message, the queue IKEQueueLen; the rest are dropped.
	if d := b.Counters().IKEDrops; d < 49 || d > 50 {
		t.Fatalf("IKEDrops = %d, want 49..50", d)
	}
}

func TestIKEQueueLenOption(t *testing.T) {
	block := make(chan struct{})
	n := NewNetwork()
	a := n.Attach([]netip.Addr{addrA}, nil)
	b := n.AttachWith([]netip.Addr{addrB}, func(netip.AddrPort, netip.AddrPort, []byte) { <-block }, Options{IKEQueueLen: 10})
	defer a.Close()
	defer b.Close()
	defer close(block)
	for range 30 {
		must(t, a.SendIKE(netip.AddrPortFrom(addrA, 500), netip.AddrPortFrom(addrB, 500), []byte("x")))
	}
	// The handler holds at most one message, the queue 10; the rest are dropped.
	if d := b.Counters().IKEDrops; d < 19 || d > 20 {
		t.Fatalf("IKEDrops = %d, want 19..20 with a queue of 10", d)
	}
}

func TestInnerPacketsBothWays(t *testing.T) {
	a, b := newPair(t, nil, nil)
	pair(t, a, b, 0x1000, 0x2000, nil)
	must(t, a.SendInner(hostA, hostB, []byte("hello")))
	p := recv(t, b)
	if f, err := sad.ParseFlow(p); err != nil || f.Src != hostA || f.Dst != hostB || !bytes.HasSuffix(p, []byte("hello")) {
		t.Fatalf("got %x (%v)", p, err)
	}
	must(t, b.SendInner(hostB, hostA, []byte("back")))
	if p := recv(t, a); !bytes.HasSuffix(p, []byte("back")) {
		t.Fatalf("got %x", p)
	}
	st, ok := a.SAStats(dataplane.OutSA(1, 0x1000))
	if !ok || st.Packets != 1 || st.Bytes != 28+5 || st.LastUsed.IsZero() {
		t.Fatalf("out stats %+v %v", st, ok)
	}
	st, ok = b.SAStats(dataplane.InSA(0x1000))
	if !ok || st.Packets != 1 {
		t.Fatalf("in stats %+v %v", st, ok)
	}
	// Outside the selectors: no policy.
	if err := a.SendInner(hostA, netip.MustParseAddr("10.3.0.1"), nil); !errors.Is(err, sad.DropNoPolicy) {
		t.Fatalf("err = %v", err)
	}
	if c := a.Counters(); c.PacketsOut != 1 || c.PacketsIn != 1 || c.NoPolicy != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestKeyMismatchIsAuthFailure(t *testing.T) {
	a, b := newPair(t, nil, nil)
	pair(t, a, b, 0x1000, 0x2000, nil)
	must(t, b.DeleteSA(dataplane.InSA(0x1000))) // installed SAs are never replaced
	must(t, b.AddSA(dataplane.SAConfig{SPI: 0x1000, Dir: dataplane.In, Tunnel: "t", Encap: dataplane.EncapUDP,
		Encr: crypto.EncrAESGCM16, EncrKey: key(9)}))
	if err := a.SendInner(hostA, hostB, nil); !errors.Is(err, sad.DropAuth) {
		t.Fatalf("err = %v", err)
	}
	if st, _ := b.SAStats(dataplane.InSA(0x1000)); st.AuthFails != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReplayDropped(t *testing.T) {
	var captured []byte
	a, b := newPair(t, nil, nil)
	pair(t, a, b, 0x1000, 0x2000, nil)
	// Capture a sealed packet by sealing with a second SA object with the same key.
	sa, err := esp.New(esp.Config{SPI: 0x1000, Encr: crypto.EncrAESGCM16, EncrKey: key(1)})
	must(t, err)
	inner, _ := BuildUDP(netip.AddrPortFrom(hostA, 1), netip.AddrPortFrom(hostB, 2), []byte("r"))
	captured, err = sa.Seal(nil, inner, 4)
	must(t, err)
	src, dst := netip.AddrPortFrom(addrA, 4500), netip.AddrPortFrom(addrB, 4500)
	must(t, b.InjectESP(src, dst, captured))
	<-b.Received()
	if err := b.InjectESP(src, dst, captured); !errors.Is(err, sad.DropReplay) {
		t.Fatalf("err = %v", err)
	}
	if st, _ := b.SAStats(dataplane.InSA(0x1000)); st.ReplayDrops != 1 {
		t.Fatalf("stats %+v", st)
	}
	if c := b.Counters(); c.ReplayDrops != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestHoldAcquireAndFlush(t *testing.T) {
	a, b := newPair(t, nil, nil)
	must(t, a.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{sel("10.1.0.0/16")},
		RemoteTS: []dataplane.Selector{sel("10.2.0.0/16")}, Trap: true}))
	for i := range 3 {
		if err := a.SendInner(hostA, hostB, []byte{byte(i)}); !errors.Is(err, ErrHeld) {
			t.Fatalf("err = %v", err)
		}
	}
	ev := <-a.Events()
	if ev.Kind != dataplane.EventAcquire || ev.Tunnel != "t" || ev.Dst.Addr() != hostB {
		t.Fatalf("event %+v", ev)
	}
	pair(t, a, b, 0x1000, 0x2000, nil) // installs SAs, then SetPolicy with OutChild flushes
	for i := range 3 {
		if p := recv(t, b); p[len(p)-1] != byte(i) {
			t.Fatalf("packet %d out of order: %x", i, p)
		}
	}
	if c := a.Counters(); c.Held != 3 || c.PacketsOut != 3 {
		t.Fatalf("counters %+v", c)
	}
}

func TestHardLifetime(t *testing.T) {
	a, b := newPair(t, nil, nil)
	pair(t, a, b, 0x1000, 0x2000, func(c *dataplane.SAConfig) { c.SoftPackets, c.HardPackets = 2, 3 })
	for i := range 3 {
		must(t, a.SendInner(hostA, hostB, []byte{byte(i)}))
	}
	if err := a.SendInner(hostA, hostB, nil); !errors.Is(err, sad.DropExpired) {
		t.Fatalf("4th packet: %v", err)
	}
	var kinds []dataplane.EventKind
	for range 2 {
		select {
		case ev := <-a.Events():
			if ev.SPI != 0x1000 || ev.Dir != dataplane.Out || ev.Tunnel != "t" {
				t.Fatalf("event %+v", ev)
			}
			kinds = append(kinds, ev.Kind)
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far: %v", kinds)
		}
	}
	if kinds[0] != dataplane.EventSoftExpire || kinds[1] != dataplane.EventHardExpire {
		t.Fatalf("events %v", kinds)
	}
	if c := a.Counters(); c.Expired != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestUnknownSPIRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := NewNetwork().Attach([]netip.Addr{addrA}, nil)
		defer a.Close()
		var ms0 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		pkt := make([]byte, 64)
		src := netip.AddrPortFrom(addrB, 4500)
		dst := netip.AddrPortFrom(addrA, 4500)
		const n = 100_000
		for i := range n {
			// Random-looking SPIs from one source: the per-source limit (10/s, burst 10) binds.
			spi := uint32(i)*2654435761 | 0x100
			pkt[0], pkt[1], pkt[2], pkt[3] = byte(spi>>24), byte(spi>>16), byte(spi>>8), byte(spi)
			if err := a.InjectESP(src, dst, pkt); !errors.Is(err, sad.DropUnknownSPI) {
				t.Fatalf("err = %v", err)
			}
		}
		time.Sleep(time.Second) // fake clock: lets one more event through per source after 1s
		if err := a.InjectESP(src, dst, pkt); !errors.Is(err, sad.DropUnknownSPI) {
			t.Fatal(err)
		}
		synctest.Wait()
		events := 0
	loop:
		for {
			select {
			case ev := <-a.Events():
				if ev.Kind != dataplane.EventUnknownSPI || ev.Src != src {
					t.Fatalf("event %+v", ev)
				}
				events++
			default:
				break loop
			}
		}
		if events != 11 {
			t.Fatalf("%d events, want 10 (burst) + 1 (after 1s)", events)
		}
		c := a.Counters()
		if c.UnknownSPI != n+1 || c.UnknownSPISuppressed != n+1-11 {
			t.Fatalf("counters %+v", c)
		}
		var ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		if grow := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grow > 4<<20 {
			t.Fatalf("heap grew by %d bytes", grow)
		}
	})
}

func TestIPv6InnerAndOuter(t *testing.T) {
	n := NewNetwork()
	oa, ob := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	a := n.Attach([]netip.Addr{oa}, nil)
	b := n.Attach([]netip.Addr{ob}, nil)
	defer a.Close()
	defer b.Close()
	la, lb := netip.AddrPortFrom(oa, 4500), netip.AddrPortFrom(ob, 4500)
	sa := func(spi uint32, dir dataplane.Direction, l, r netip.AddrPort) dataplane.SAConfig {
		return dataplane.SAConfig{SPI: spi, Dir: dir, Tunnel: "v6", ChildID: 5, Local: l, Remote: r, Encap: dataplane.EncapUDP,
			Encr: crypto.EncrChaCha20Poly1305, EncrKey: key(7)}
	}
	must(t, a.AddSA(sa(0x5000, dataplane.Out, la, lb)))
	must(t, b.AddSA(sa(0x5000, dataplane.In, lb, la)))
	must(t, b.SetPolicy(dataplane.Policy{Tunnel: "v6", LocalTS: []dataplane.Selector{sel("fd00:2::/64")},
		RemoteTS: []dataplane.Selector{sel("fd00:1::/64"), sel("10.1.0.0/16")}}))
	must(t, a.SetPolicy(dataplane.Policy{Tunnel: "v6", LocalTS: []dataplane.Selector{sel("fd00:1::/64"), sel("10.1.0.0/16")},
		RemoteTS: []dataplane.Selector{sel("fd00:2::/64"), sel("10.2.0.0/16")}, OutChild: 5}))
	must(t, a.SendInner(netip.MustParseAddr("fd00:1::1"), netip.MustParseAddr("fd00:2::1"), []byte("six")))
	if p := recv(t, b); p[0]>>4 != 6 || !bytes.HasSuffix(p, []byte("six")) {
		t.Fatalf("got %x", p)
	}
	// IPv4 inner over the IPv6 outer SA: b's policy has no 10.2.0.0/16 locally -> mismatch.
	if err := a.SendInner(hostA, hostB, nil); !errors.Is(err, sad.DropPolicyMismatch) {
		t.Fatalf("err = %v", err)
	}
}

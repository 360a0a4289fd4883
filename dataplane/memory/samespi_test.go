package memory

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
)

// TestSameOutboundSPITwoPeers runs real ESP from one gateway through two tunnels whose peers
// both chose the same SPI for their inbound (our outbound) SA: each peer gets exactly its own
// traffic, sealed with its own keys, and a third peer claiming the SPI is refused.
func TestSameOutboundSPITwoPeers(t *testing.T) {
	n := NewNetwork()
	addrC := netip.MustParseAddr("192.0.2.3")
	hostC := netip.MustParseAddr("10.3.0.1")
	gw := n.Attach([]netip.Addr{addrA}, nil)
	p1 := n.Attach([]netip.Addr{addrB}, nil)
	p2 := n.Attach([]netip.Addr{addrC}, nil)
	t.Cleanup(func() { gw.Close(); p1.Close(); p2.Close() })

	const shared = 0x00c0ffee // chosen by both peers
	ap := func(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, 4500) }
	mk := func(spi uint32, dir dataplane.Direction, tunnel string, child uint64, local, remote netip.Addr, k byte) dataplane.SAConfig {
		return dataplane.SAConfig{SPI: spi, Dir: dir, Tunnel: tunnel, ChildID: child, Local: ap(local), Remote: ap(remote),
			Encap: dataplane.EncapUDP, Encr: crypto.EncrAESGCM16, EncrKey: key(k)}
	}
	// Tunnel t1: gw <-> p1 (child 1 at gw), t2: gw <-> p2 (child 2 at gw).
	must(t, gw.AddSA(mk(shared, dataplane.Out, "t1", 1, addrA, addrB, 1)))
	must(t, gw.AddSA(mk(shared, dataplane.Out, "t2", 2, addrA, addrC, 2)))
	must(t, p1.AddSA(mk(shared, dataplane.In, "t1", 7, addrB, addrA, 1)))
	must(t, p2.AddSA(mk(shared, dataplane.In, "t2", 7, addrC, addrA, 2)))
	gwLocal := []dataplane.Selector{sel("10.1.0.0/16")}
	must(t, p1.SetPolicy(dataplane.Policy{Tunnel: "t1", LocalTS: []dataplane.Selector{sel("10.2.0.0/16")}, RemoteTS: gwLocal}))
	must(t, p2.SetPolicy(dataplane.Policy{Tunnel: "t2", LocalTS: []dataplane.Selector{sel("10.3.0.0/16")}, RemoteTS: gwLocal}))
	must(t, gw.SetPolicy(dataplane.Policy{Tunnel: "t1", LocalTS: gwLocal, RemoteTS: []dataplane.Selector{sel("10.2.0.0/16")}, OutChild: 1}))
	must(t, gw.SetPolicy(dataplane.Policy{Tunnel: "t2", LocalTS: gwLocal, RemoteTS: []dataplane.Selector{sel("10.3.0.0/16")}, OutChild: 2}))

	send := func() {
		t.Helper()
		must(t, gw.SendInner(hostA, hostB, []byte("to-p1")))
		must(t, gw.SendInner(hostA, hostC, []byte("to-p2")))
		must(t, gw.SendInner(hostA, hostB, []byte("to-p1")))
		for _, c := range []struct {
			d    *Dataplane
			want string
			n    int
		}{{p1, "to-p1", 2}, {p2, "to-p2", 1}} {
			for range c.n {
				if p := recv(t, c.d); !bytes.HasSuffix(p, []byte(c.want)) {
					t.Fatalf("got %q, want %q", p, c.want)
				}
			}
		}
		select {
		case p := <-p1.Received():
			t.Fatalf("p1 got extra %q", p)
		case p := <-p2.Received():
			t.Fatalf("p2 got extra %q", p)
		case <-time.After(10 * time.Millisecond):
		}
	}
	send()
	if c := p1.Counters(); c.AuthFails != 0 || c.PacketsIn != 2 {
		t.Fatalf("p1 counters %+v", c)
	}
	if c := p2.Counters(); c.AuthFails != 0 || c.PacketsIn != 1 {
		t.Fatalf("p2 counters %+v", c)
	}
	s1, ok1 := gw.SAStats(dataplane.OutSA(1, shared))
	s2, ok2 := gw.SAStats(dataplane.OutSA(2, shared))
	if !ok1 || !ok2 || s1.Packets != 2 || s2.Packets != 1 {
		t.Fatalf("stats %+v %+v", s1, s2)
	}

	// p2 (authenticated, say) now claims the same SPI at p1's address for a new Child SA,
	// hoping to take over p1's traffic: refused, and both tunnels carry on.
	err := gw.AddSA(mk(shared, dataplane.Out, "t2", 3, addrA, addrB, 9))
	if !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("hijacking AddSA: %v", err)
	}
	send()

	// Deleting t1's SA leaves t2 alone.
	must(t, gw.DeleteSA(dataplane.OutSA(1, shared)))
	if err := gw.SendInner(hostA, hostB, nil); !errors.Is(err, ErrHeld) {
		t.Fatalf("t1 after delete: %v", err)
	}
	must(t, gw.SendInner(hostA, hostC, []byte("to-p2")))
	if p := recv(t, p2); !bytes.HasSuffix(p, []byte("to-p2")) {
		t.Fatalf("got %q", p)
	}
}

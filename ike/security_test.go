package ike

// Attacks on the engine, each kept as a regression test: unauthenticated senders (half-open
// SAs, spoofed sources, replays) and authenticated peers acting on SAs that are not theirs.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// extraNode adds an engine at local (an address and port of its own, possibly on another
// node's address) with one tunnel to remote.
func extraNode(t *testing.T, fn *fakeNet, cfg Config, local, remote, psk, lid, rid, lnet, rnet string) *node {
	t.Helper()
	la := netip.MustParseAddrPort(local)
	dp := &fakeDP{net: fn, addr: la.Addr(), sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}}
	h := &recHooks{ev: make(chan string, 256)}
	e := New(cfg, dp, h, nil)
	dp.engine = e
	fn.mu.Lock()
	if fn.ports == nil {
		fn.ports = map[netip.AddrPort]*fakeDP{}
	}
	fn.ports[la] = dp
	fn.mu.Unlock()
	n := &node{e: e, dp: dp, hooks: h}
	n.t = e.AddTunnel(testTunnel(t, "t", la, netip.MustParseAddrPort(remote), psk, lid, rid, lnet, rnet))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.Run(ctx)
	return n
}

func testTunnel(t *testing.T, name string, local, remote netip.AddrPort, psk, lid, rid, lnet, rnet string) *TunnelConfig {
	return &TunnelConfig{
		Name: name, Local: local, Remote: remote,
		LocalID: Identity{IDFQDN, []byte(lid)}, RemoteID: Identity{IDFQDN, []byte(rid)},
		PSK: []byte(psk), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
		IKEProposals: mustProps(t, "aes128gcm16-prfsha256-x25519", true), ESPProposals: mustProps(t, "aes128gcm16", false),
		IKELifetime: time.Hour, ChildLifetime: time.Hour, DPDTimeout: 10 * time.Second, ReplayWindow: 1024,
	}
}

// upPair establishes the pair's tunnel and returns B's Child SA SPIs.
func upPair(t *testing.T, a, b *node) (in, out uint32) {
	t.Helper()
	a.e.Do(func() { a.e.Initiate(a.t) })
	a.wait(t, "child-up")
	b.wait(t, "child-up")
	b.e.Call(func() { in, out = b.t.Child.SPIIn, b.t.Child.SPIOut })
	return in, out
}

func childSPIs(n *node) (in, out uint32) {
	n.e.Call(func() {
		if c := n.t.Child; c != nil {
			in, out = c.SPIIn, c.SPIOut
		}
	})
	return in, out
}

func drain(n *node) []string {
	var got []string
	for {
		select {
		case s := <-n.hooks.ev:
			got = append(got, s)
		default:
			return got
		}
	}
}

func stats(n *node) (s Stats) {
	n.e.Call(func() { s = n.e.Stats() })
	return s
}

// TestHalfOpenSACannotSendInformational: an attacker at A's address completes IKE_SA_INIT with B
// (no PSK needed), never authenticates, and sends an encrypted INFORMATIONAL with INVALID_SPI
// and a Delete for the SPI B uses towards A. B must not act on it (item 1).
func TestHalfOpenSACannotSendInformational(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		in0, out0 := upPair(t, a, b)
		x := extraNode(t, fn, Config{}, "192.0.2.1:5000", "192.0.2.2:500", "not-the-psk", "a.example", "b.example", "10.1.0.0/16", "10.2.0.0/16")
		xAddr := netip.MustParseAddrPort("192.0.2.1:5000")
		fn.mu.Lock()
		fn.drop = func(from, to netip.AddrPort, msg []byte) bool {
			return from == xAddr && len(msg) > 18 && msg[18] == byte(wire.ExchangeIKEAuth)
		}
		fn.mu.Unlock()
		x.e.Do(func() { x.e.Initiate(x.t) })
		synctest.Wait()
		drain(b)
		var raw []byte
		x.e.Call(func() {
			sa := x.t.IKE
			if sa == nil || sa.State != IKEAuthSent {
				t.Fatalf("attacker SA not in auth-sent: %v", sa)
			}
			ps := []wire.Payload{
				&wire.Notify{Type: wire.NotifyInvalidSPI, Data: SPIBytes(out0)},
				&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{SPIBytes(out0)}},
			}
			raw = wire.AppendEncrypted(nil, sa.header(wire.ExchangeInformational, 1, false), ps, v2of(sa).out)
		})
		b.e.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), xAddr, raw)
		synctest.Wait()
		for _, ev := range drain(b) {
			if strings.HasPrefix(ev, "invalid-spi") || ev == "child-down" {
				t.Errorf("half-open SA's INFORMATIONAL acted on: %s", ev)
			}
		}
		if in, out := childSPIs(b); in != in0 || out != out0 {
			t.Errorf("B's Child SA changed: %08x/%08x, was %08x/%08x", in, out, in0, out0)
		}
		if s := stats(b); s.Rejected == 0 {
			t.Error("the request was not counted as rejected")
		}
	})
}

// spiRand is a random source that answers every 4-byte read (a Child SA SPI) with spi.
type spiRand struct{ spi uint32 }

func (r spiRand) Read(b []byte) (int, error) {
	if len(b) == 4 {
		binary.BigEndian.PutUint32(b, r.spi)
		return 4, nil
	}
	return io.ReadFull(rand.Reader, b)
}

// peerC adds to B a second tunnel "c" to a peer C that lives on A's address, port 4600, with
// its own identity and PSK, and returns C's node.
func peerC(t *testing.T, fn *fakeNet, b *node, cfg Config) *node {
	t.Helper()
	b.e.Call(func() {
		b.e.AddTunnel(testTunnel(t, "c", netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:4600"),
			"c-secret-c-secret", "b.example", "c.example", "10.2.0.0/16", "10.3.0.0/16"))
	})
	return extraNode(t, fn, cfg, "192.0.2.1:4600", "192.0.2.2:500", "c-secret-c-secret", "c.example", "b.example", "10.3.0.0/16", "10.2.0.0/16")
}

// TestInvalidSPIFromAnotherPeer: authenticated peer C names, in a protected INVALID_SPI, the
// SPI B uses towards A (C sits on A's address). B resolves it among C's own Child SAs only.
func TestInvalidSPIFromAnotherPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		in0, out0 := upPair(t, a, b)
		c := peerC(t, fn, b, Config{})
		c.e.Do(func() { c.e.Initiate(c.t) })
		c.wait(t, "child-up")
		synctest.Wait()
		drain(b)
		c.e.Do(func() { c.e.SendInvalidSPI(c.t.IKE, out0) })
		synctest.Wait()
		evs := drain(b)
		saw := false
		for _, ev := range evs {
			if strings.HasPrefix(ev, "invalid-spi-own") {
				t.Errorf("C's INVALID_SPI resolved to a Child SA: %v", evs)
			}
			saw = saw || strings.HasPrefix(ev, "invalid-spi:")
		}
		if !saw {
			t.Errorf("B did not see the notify at all: %v", evs)
		}
		if in, out := childSPIs(b); in != in0 || out != out0 {
			t.Errorf("B's Child SA to A changed")
		}
	})
}

// TestOwnInvalidSPIResolved: the same notify from A, whose Child SA it is, names that SA.
func TestOwnInvalidSPIResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{})
		_, out0 := upPair(t, a, b)
		drain(b)
		a.e.Do(func() { a.e.SendInvalidSPI(a.t.IKE, out0) })
		b.wait(t, "invalid-spi-own:"+hex8(out0))
	})
}

// TestSPIHijackRefused: authenticated peer C chooses, as its inbound SPI, the SPI B uses
// towards A. B refuses C's Child SA; A's stays installed and indexed (item 2).
func TestSPIHijackRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		in0, out0 := upPair(t, a, b)
		c := peerC(t, fn, b, Config{})
		c.e.Call(func() { c.e.rand = spiRand{out0} })
		c.e.Do(func() { c.e.Initiate(c.t) })
		c.wait(t, "ike-up")
		synctest.Wait()
		if in, out := childSPIs(b); in != in0 || out != out0 {
			t.Fatalf("B's Child SA to A changed")
		}
		b.e.Call(func() {
			ch := b.e.ChildByOutSPI(netip.MustParseAddr("192.0.2.1"), out0)
			if ch == nil || ch.Tunnel.Cfg.Name != "t" {
				t.Errorf("outbound SPI %08x no longer A's: %v", out0, ch)
			}
			if tc := b.e.Tunnel("c"); tc.Child != nil {
				t.Errorf("C's Child SA with a duplicate SPI was installed")
			}
		})
		var id uint64
		b.e.Call(func() { id = b.t.Child.ID })
		if p := b.dp.policy("t"); p.OutChild != id {
			t.Errorf("A's policy points at Child SA %d, want %d", p.OutChild, id)
		}
	})
}

// TestAddressMoveNeedsNAT: an authenticated request from another address moves the IKE SA (and
// re-indexes its Child SAs) only when a NAT was detected (item 3).
func TestAddressMoveNeedsNAT(t *testing.T) {
	for _, nat := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-nat", true: "nat"}[nat], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := newPair(t, pairOpts{})
				_, out0 := upPair(t, a, b)
				if nat {
					b.e.Call(func() { b.t.IKE.NATRemote = true })
				}
				var raw []byte
				a.e.Call(func() {
					sa := a.t.IKE
					raw = wire.AppendEncrypted(nil, sa.header(wire.ExchangeInformational, v2of(sa).nextMsgID, false), nil, v2of(sa).out)
					v2of(sa).nextMsgID++
				})
				moved := netip.MustParseAddrPort("198.51.100.9:4500")
				b.e.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), moved, raw)
				synctest.Wait()
				b.e.Call(func() {
					sa := b.t.IKE
					old := netip.MustParseAddr("192.0.2.1")
					if !nat {
						if sa.Remote.Addr() != old || b.e.ChildByOutSPI(old, out0) == nil {
							t.Errorf("SA moved without NAT: %v", sa.Remote)
						}
						if b.e.Stats().AddressChangesRefused != 1 {
							t.Errorf("refusal not counted")
						}
						return
					}
					if sa.Remote != moved {
						t.Errorf("SA behind NAT did not follow: %v", sa.Remote)
					}
					c := b.e.ChildByOutSPI(moved.Addr(), out0)
					if c == nil || b.e.ChildByOutSPI(old, out0) != nil {
						t.Fatalf("outbound SPI index not moved")
					}
					b.dp.mu.Lock()
					to := b.dp.moved[c.ID]
					b.dp.mu.Unlock()
					if to.Addr() != moved.Addr() {
						t.Errorf("dataplane SA not moved: %v", to)
					}
				})
			})
		})
	}
}

func TestNarrowCapped(t *testing.T) {
	var proposed []Selector
	for i := range 255 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i), 0})
		proposed = append(proposed, Selector{StartAddr: a, EndAddr: netip.AddrFrom4([4]byte{10, 1, byte(i), 255}), EndPort: 0xffff})
	}
	allowed := Selectors([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")})
	if got := narrow(proposed, allowed); got != nil {
		t.Errorf("narrowing to %d selectors accepted", len(got))
	}
	if got := narrow(proposed[:MaxSelectors], allowed); len(got) != MaxSelectors {
		t.Errorf("narrowing to %d distinct selectors gave %d", MaxSelectors, len(got))
	}
}

type panicHooks struct{ *recHooks }

func (panicHooks) InvalidSPI(*IKESA, uint32, *ChildSA) { panic("boom") }

// TestPanicTearsDownOnlyThatSA: a panic while handling a message removes the IKE SA concerned;
// the engine keeps serving (item 4).
func TestPanicTearsDownOnlyThatSA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{})
		_, out0 := upPair(t, a, b)
		b.e.Call(func() { b.e.hooks = panicHooks{b.hooks} })
		a.e.Do(func() { a.e.SendInvalidSPI(a.t.IKE, out0) })
		b.wait(t, "ike-down")
		if s := stats(b); s.InternalErrors != 1 {
			t.Errorf("internal errors = %d", s.InternalErrors)
		}
		b.e.Call(func() { b.e.hooks = b.hooks })
		a.e.Call(func() {
			if a.t.IKE != nil {
				a.e.RemoveIKE(a.t.IKE, errors.New("test"))
			}
		})
		drain(a)
		upPair(t, a, b)
	})
}

// initRequest builds an IKE_SA_INIT request, with a cookie when given.
func initRequest(t *testing.T, spii uint64, cookie []byte) []byte {
	dh, err := crypto.NewDH(crypto.DHCurve25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 32)
	copy(nonce, "fixed nonce for the cookie tests")
	var ps []wire.Payload
	if cookie != nil {
		ps = append(ps, &wire.Notify{Type: wire.NotifyCookie, Data: cookie})
	}
	ps = append(ps,
		&wire.SA{Proposals: proposal.ToWire(mustProps(t, "aes128gcm16-prfsha256-x25519", true), wire.ProtocolIKE, nil)},
		&wire.KE{Group: crypto.DHCurve25519, Data: dh.PublicKey()},
		&wire.Nonce{Data: nonce})
	m := &wire.Message{Header: wire.Header{SPIi: spii, Version: 0x20, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagInitiator}, Payloads: ps}
	return m.Append(nil)
}

// capture records what a node sends, per destination.
func capture(fn *fakeNet, from netip.Addr) *[][]byte {
	var got [][]byte
	fn.mu.Lock()
	fn.drop = func(f, to netip.AddrPort, msg []byte) bool {
		if f.Addr() == from {
			got = append(got, append([]byte(nil), msg...))
		}
		return false
	}
	fn.mu.Unlock()
	return &got
}

func cookieOf(t *testing.T, msg []byte) []byte {
	m, err := wire.ParseMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Notify(wire.NotifyCookie); n != nil {
		return n.Data
	}
	return nil
}

// TestCookieThresholdZeroAlways: cookie_threshold 0 demands a cookie for every IKE_SA_INIT; a
// cookie is bound to the initiator's port and outlives one rotation, not two (item 5).
func TestCookieThresholdZeroAlways(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b, fn := newPair(t, pairOpts{cfg: Config{CookieThreshold: 0}})
		sent := capture(fn, netip.MustParseAddr("192.0.2.2"))
		bLocal := netip.MustParseAddrPort("192.0.2.2:500")
		src := netip.MustParseAddrPort("192.0.2.1:500")
		b.e.HandlePacket(bLocal, src, initRequest(t, 1, nil))
		synctest.Wait()
		if len(*sent) != 1 {
			t.Fatalf("%d answers", len(*sent))
		}
		c := cookieOf(t, (*sent)[0])
		if c == nil {
			t.Fatal("no COOKIE demanded at threshold 0")
		}
		halfOpen := func() (n int) { b.e.Call(func() { n = b.e.nHalf }); return n }
		// The cookie from another port of the same address is refused.
		b.e.HandlePacket(bLocal, netip.MustParseAddrPort("192.0.2.1:501"), initRequest(t, 1, c))
		synctest.Wait()
		if halfOpen() != 0 {
			t.Fatal("cookie accepted from another port")
		}
		// After one rotation it still works.
		time.Sleep(cookieRotate + time.Second)
		b.e.HandlePacket(bLocal, src, initRequest(t, 1, c))
		synctest.Wait()
		if halfOpen() != 1 {
			t.Fatal("cookie refused after one rotation")
		}
		// Two rotations later it is refused.
		time.Sleep(2 * cookieRotate)
		b.e.HandlePacket(bLocal, src, initRequest(t, 2, c))
		synctest.Wait()
		if halfOpen() > 1 {
			t.Fatal("cookie accepted after two rotations")
		}
	})
}

// TestHalfOpenCaps: beyond the per-source cap new IKE_SA_INITs from that source are dropped,
// other sources still get through up to the global cap (item 5).
func TestHalfOpenCaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, b, _ := newPair(t, pairOpts{cfg: Config{CookieThreshold: -1, HalfOpenPerSource: 2, HalfOpenMax: 3}})
		b.e.Call(func() {
			b.e.AddTunnel(testTunnel(t, "d", netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.9:500"),
				"d-secret-d-secret", "b.example", "d.example", "10.2.0.0/16", "10.4.0.0/16"))
		})
		bLocal := netip.MustParseAddrPort("192.0.2.2:500")
		for i := range 3 {
			b.e.HandlePacket(bLocal, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(5000+i)), initRequest(t, uint64(100+i), nil))
		}
		synctest.Wait()
		s := stats(b)
		if s.HalfOpenRefused != 1 {
			t.Errorf("per-source cap: refused %d, want 1", s.HalfOpenRefused)
		}
		for i := range 2 {
			b.e.HandlePacket(bLocal, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), uint16(5000+i)), initRequest(t, uint64(200+i), nil))
		}
		synctest.Wait()
		var n int
		b.e.Call(func() { n = b.e.nHalf })
		if n != 3 {
			t.Errorf("half-open = %d, want the global cap 3", n)
		}
		if s := stats(b); s.HalfOpenRefused != 2 {
			t.Errorf("global cap: refused %d, want 2", s.HalfOpenRefused)
		}
		// They time out and make room again.
		time.Sleep(31 * time.Second)
		synctest.Wait()
		b.e.Call(func() { n = b.e.nHalf + len(b.e.halfBySrc) })
		if n != 0 {
			t.Errorf("half-open accounting leaks: %d", n)
		}
	})
}

// TestNotifyQueueCapped: volunteered INVALID_SPI notifies behind a stuck exchange are capped;
// a rekey queued among them is never dropped (item 8).
func TestNotifyQueueCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		upPair(t, a, b)
		fn.hold(true)
		a.e.Call(func() {
			sa := a.t.IKE
			a.e.Liveness(sa, nil) // in flight, unanswered while held
			a.e.SendInvalidSPI(sa, 1000)
			a.e.RekeyChild(a.t.Child, nil)
			for i := range 20 {
				a.e.SendInvalidSPI(sa, uint32(2000+i))
			}
			notifies, rekeys := 0, 0
			for _, r := range v2of(sa).queue {
				if r.notify {
					notifies++
				} else {
					rekeys++
				}
			}
			if notifies != maxQueuedNotifies || rekeys != 1 {
				t.Errorf("queue holds %d notifies and %d others", notifies, rekeys)
			}
			if d := a.e.Stats().NotifiesDropped; d != 21-maxQueuedNotifies {
				t.Errorf("dropped %d", d)
			}
		})
		fn.hold(false)
	})
}

// seqRand answers 4-byte reads from a list of SPIs, in order.
type seqRand struct{ spis *[]uint32 }

func (r seqRand) Read(b []byte) (int, error) {
	if len(b) == 4 && len(*r.spis) > 0 {
		binary.BigEndian.PutUint32(b, (*r.spis)[0])
		*r.spis = (*r.spis)[1:]
		return 4, nil
	}
	return io.ReadFull(rand.Reader, b)
}

// TestInboundSPIsUnique: an SPI offered in a negotiation still in progress is not offered
// again, even before it is installed (item 2: inbound SPIs are ours, allocated unique).
func TestInboundSPIsUnique(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	spis := []uint32{0x1234, 0x1234, 7, 0x5678}
	e.rand = seqRand{&spis}
	if a, b := e.RandomChildSPI(), e.RandomChildSPI(); a != 0x1234 || b != 0x5678 {
		t.Errorf("allocated %08x then %08x", a, b)
	}
}

package v2

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
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// extraNode adds an engine at local (an address and port of its own, possibly on another
// node's address) with one tunnel to remote.
func extraNode(t *testing.T, fn *iketest.Net, cfg ike.Config, local, remote, psk, lid, rid, lnet, rnet string) *iketest.Node {
	t.Helper()
	la := netip.MustParseAddrPort(local)
	dp := fn.NewDPOn(la)
	h := iketest.NewHooks()
	e := ike.New(cfg, dp, h, nil, protos...)
	dp.Attach(e)
	n := &iketest.Node{E: e, DP: dp, Hooks: h}
	n.T = e.AddTunnel(testTunnel(t, "t", la, netip.MustParseAddrPort(remote), psk, lid, rid, lnet, rnet))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go e.Run(ctx)
	return n
}

func testTunnel(t *testing.T, name string, local, remote netip.AddrPort, psk, lid, rid, lnet, rnet string) *ike.TunnelConfig {
	return &ike.TunnelConfig{
		Name: name, Local: local, Remote: remote,
		LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte(lid)}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte(rid)},
		PSK: []byte(psk), LocalTS: []netip.Prefix{netip.MustParsePrefix(lnet)}, RemoteTS: []netip.Prefix{netip.MustParsePrefix(rnet)},
		IKEProposals: iketest.MustProps(t, "aes128gcm16-prfsha256-x25519", true), ESPProposals: iketest.MustProps(t, "aes128gcm16", false),
		IKELifetime: time.Hour, ChildLifetime: time.Hour, DPDTimeout: 10 * time.Second, ReplayWindow: 1024,
	}
}

// TestHalfOpenSACannotSendInformational: an attacker at A's address completes IKE_SA_INIT with B
// (no PSK needed), never authenticates, and sends an encrypted INFORMATIONAL with INVALID_SPI
// and a Delete for the SPI B uses towards A. B must not act on it (item 1).
func TestHalfOpenSACannotSendInformational(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		in0, out0 := iketest.Up(t, a, b)
		x := extraNode(t, fn, ike.Config{}, "192.0.2.1:5000", "192.0.2.2:500", "not-the-psk", "a.example", "b.example", "10.1.0.0/16", "10.2.0.0/16")
		xAddr := netip.MustParseAddrPort("192.0.2.1:5000")
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool {
			return from == xAddr && len(msg) > 18 && msg[18] == byte(wire.ExchangeIKEAuth)
		})
		x.E.Do(func() { x.E.Initiate(x.T) })
		synctest.Wait()
		b.Drain()
		var raw []byte
		x.E.Call(func() {
			sa := x.T.IKE
			if sa == nil || sa.State != ike.IKEAuthSent {
				t.Fatalf("attacker SA not in auth-sent: %v", sa)
			}
			ps := []wire.Payload{
				&wire.Notify{Type: wire.NotifyInvalidSPI, Data: ike.SPIBytes(out0)},
				&wire.Delete{Protocol: wire.ProtocolESP, SPIs: [][]byte{ike.SPIBytes(out0)}},
			}
			raw = wire.AppendEncrypted(nil, header(sa, wire.ExchangeInformational, 1, false), ps, v2of(sa).out)
		})
		b.E.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), xAddr, raw)
		synctest.Wait()
		for _, ev := range b.Drain() {
			if strings.HasPrefix(ev, "invalid-spi") || ev == "child-down" {
				t.Errorf("half-open SA's INFORMATIONAL acted on: %s", ev)
			}
		}
		if in, out := b.ChildSPIs(); in != in0 || out != out0 {
			t.Errorf("B's Child SA changed: %08x/%08x, was %08x/%08x", in, out, in0, out0)
		}
		if s := b.Stats(); s.Rejected == 0 {
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
func peerC(t *testing.T, fn *iketest.Net, b *iketest.Node, cfg ike.Config) *iketest.Node {
	t.Helper()
	b.E.Call(func() {
		b.E.AddTunnel(testTunnel(t, "c", netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:4600"),
			"c-secret-c-secret", "b.example", "c.example", "10.2.0.0/16", "10.3.0.0/16"))
	})
	return extraNode(t, fn, cfg, "192.0.2.1:4600", "192.0.2.2:500", "c-secret-c-secret", "c.example", "b.example", "10.3.0.0/16", "10.2.0.0/16")
}

// TestInvalidSPIFromAnotherPeer: authenticated peer C names, in a protected INVALID_SPI, the
// SPI B uses towards A (C sits on A's address). B resolves it among C's own Child SAs only.
func TestInvalidSPIFromAnotherPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		in0, out0 := iketest.Up(t, a, b)
		c := peerC(t, fn, b, ike.Config{})
		c.E.Do(func() { c.E.Initiate(c.T) })
		c.Wait(t, "child-up")
		synctest.Wait()
		b.Drain()
		c.E.Do(func() { c.E.SendInvalidSPI(c.T.IKE, out0) })
		synctest.Wait()
		evs := b.Drain()
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
		if in, out := b.ChildSPIs(); in != in0 || out != out0 {
			t.Errorf("B's Child SA to A changed")
		}
	})
}

// TestOwnInvalidSPIResolved: the same notify from A, whose Child SA it is, names that SA.
func TestOwnInvalidSPIResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		_, out0 := iketest.Up(t, a, b)
		b.Drain()
		a.E.Do(func() { a.E.SendInvalidSPI(a.T.IKE, out0) })
		b.Wait(t, "invalid-spi-own:"+hex8(out0))
	})
}

// TestSPIHijackRefused: authenticated peer C chooses, as its inbound SPI, the SPI B uses
// towards A. B refuses C's Child SA; A's stays installed and indexed (item 2).
func TestSPIHijackRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		in0, out0 := iketest.Up(t, a, b)
		c := peerC(t, fn, b, ike.Config{Rand: spiRand{out0}})
		c.E.Do(func() { c.E.Initiate(c.T) })
		c.Wait(t, "ike-up")
		synctest.Wait()
		if in, out := b.ChildSPIs(); in != in0 || out != out0 {
			t.Fatalf("B's Child SA to A changed")
		}
		b.E.Call(func() {
			ch := b.E.ChildByOutSPI(netip.MustParseAddr("192.0.2.1"), out0)
			if ch == nil || ch.Tunnel.Cfg.Name != "t" {
				t.Errorf("outbound SPI %08x no longer A's: %v", out0, ch)
			}
			if tc := b.E.Tunnel("c"); tc.Child != nil {
				t.Errorf("C's Child SA with a duplicate SPI was installed")
			}
		})
		var id uint64
		b.E.Call(func() { id = b.T.Child.ID })
		if p := b.DP.Policy("t"); p.OutChild != id {
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
				a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
				_, out0 := iketest.Up(t, a, b)
				if nat {
					b.E.Call(func() { b.T.IKE.NATRemote = true })
				}
				var raw []byte
				a.E.Call(func() {
					sa := a.T.IKE
					raw = wire.AppendEncrypted(nil, header(sa, wire.ExchangeInformational, v2of(sa).nextMsgID, false), nil, v2of(sa).out)
					v2of(sa).nextMsgID++
				})
				moved := netip.MustParseAddrPort("198.51.100.9:4500")
				b.E.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), moved, raw)
				synctest.Wait()
				b.E.Call(func() {
					sa := b.T.IKE
					old := netip.MustParseAddr("192.0.2.1")
					if !nat {
						if sa.Remote.Addr() != old || b.E.ChildByOutSPI(old, out0) == nil {
							t.Errorf("SA moved without NAT: %v", sa.Remote)
						}
						if b.E.Stats().AddressChangesRefused != 1 {
							t.Errorf("refusal not counted")
						}
						return
					}
					if sa.Remote != moved {
						t.Errorf("SA behind NAT did not follow: %v", sa.Remote)
					}
					c := b.E.ChildByOutSPI(moved.Addr(), out0)
					if c == nil || b.E.ChildByOutSPI(old, out0) != nil {
						t.Fatalf("outbound SPI index not moved")
					}
					to, _ := b.DP.Moved(c.ID)
					if to.Addr() != moved.Addr() {
						t.Errorf("dataplane SA not moved: %v", to)
					}
				})
			})
		})
	}
}

// TestPanicTearsDownOnlyThatSA: a panic while handling a message removes the IKE SA concerned;
// the engine keeps serving (item 4).
func TestPanicTearsDownOnlyThatSA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		_, out0 := iketest.Up(t, a, b)
		b.E.Call(func() {
			b.Hooks.Before = func(ev string) {
				if strings.HasPrefix(ev, "invalid-spi") {
					panic("boom")
				}
			}
		})
		a.E.Do(func() { a.E.SendInvalidSPI(a.T.IKE, out0) })
		b.Wait(t, "ike-down")
		if s := b.Stats(); s.InternalErrors != 1 {
			t.Errorf("internal errors = %d", s.InternalErrors)
		}
		b.E.Call(func() { b.Hooks.Before = nil })
		a.E.Call(func() {
			if a.T.IKE != nil {
				a.E.RemoveIKE(a.T.IKE, errors.New("test"))
			}
		})
		a.Drain()
		iketest.Up(t, a, b)
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
		&wire.SA{Proposals: proposal.ToWire(iketest.MustProps(t, "aes128gcm16-prfsha256-x25519", true), wire.ProtocolIKE, nil)},
		&wire.KE{Group: crypto.DHCurve25519, Data: dh.PublicKey()},
		&wire.Nonce{Data: nonce})
	m := &wire.Message{Header: wire.Header{SPIi: spii, Version: 0x20, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagInitiator}, Payloads: ps}
	return m.Append(nil)
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
		_, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{CookieThreshold: 0}})
		sent := fn.Capture(netip.MustParseAddr("192.0.2.2"))
		bLocal := netip.MustParseAddrPort("192.0.2.2:500")
		src := netip.MustParseAddrPort("192.0.2.1:500")
		b.E.HandlePacket(bLocal, src, initRequest(t, 1, nil))
		synctest.Wait()
		if len(*sent) != 1 {
			t.Fatalf("%d answers", len(*sent))
		}
		c := cookieOf(t, (*sent)[0])
		if c == nil {
			t.Fatal("no COOKIE demanded at threshold 0")
		}
		halfOpen := func() (n int) { b.E.Call(func() { n = b.E.HalfOpenCount() }); return n }
		// The cookie from another port of the same address is refused.
		b.E.HandlePacket(bLocal, netip.MustParseAddrPort("192.0.2.1:501"), initRequest(t, 1, c))
		synctest.Wait()
		if halfOpen() != 0 {
			t.Fatal("cookie accepted from another port")
		}
		// After one rotation it still works.
		time.Sleep(cookieRotate + time.Second)
		b.E.HandlePacket(bLocal, src, initRequest(t, 1, c))
		synctest.Wait()
		if halfOpen() != 1 {
			t.Fatal("cookie refused after one rotation")
		}
		// Two rotations later it is refused.
		time.Sleep(2 * cookieRotate)
		b.E.HandlePacket(bLocal, src, initRequest(t, 2, c))
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
		_, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{CookieThreshold: -1, HalfOpenPerSource: 2, HalfOpenMax: 3}})
		b.E.Call(func() {
			b.E.AddTunnel(testTunnel(t, "d", netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.9:500"),
				"d-secret-d-secret", "b.example", "d.example", "10.2.0.0/16", "10.4.0.0/16"))
		})
		bLocal := netip.MustParseAddrPort("192.0.2.2:500")
		for i := range 3 {
			b.E.HandlePacket(bLocal, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(5000+i)), initRequest(t, uint64(100+i), nil))
		}
		synctest.Wait()
		s := b.Stats()
		if s.HalfOpenRefused != 1 {
			t.Errorf("per-source cap: refused %d, want 1", s.HalfOpenRefused)
		}
		for i := range 2 {
			b.E.HandlePacket(bLocal, netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), uint16(5000+i)), initRequest(t, uint64(200+i), nil))
		}
		synctest.Wait()
		var n int
		b.E.Call(func() { n = b.E.HalfOpenCount() })
		if n != 3 {
			t.Errorf("half-open = %d, want the global cap 3", n)
		}
		if s := b.Stats(); s.HalfOpenRefused != 2 {
			t.Errorf("global cap: refused %d, want 2", s.HalfOpenRefused)
		}
		// They time out and make room again.
		time.Sleep(31 * time.Second)
		synctest.Wait()
		b.E.Call(func() { n = b.E.HalfOpenCount() + b.E.HalfOpenSources() })
		if n != 0 {
			t.Errorf("half-open accounting leaks: %d", n)
		}
	})
}

// TestNotifyQueueCapped: volunteered INVALID_SPI notifies behind a stuck exchange are capped;
// a rekey queued among them is never dropped (item 8).
func TestNotifyQueueCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		iketest.Up(t, a, b)
		fn.Hold(true)
		a.E.Call(func() {
			sa := a.T.IKE
			a.E.Liveness(sa, nil) // in flight, unanswered while held
			a.E.SendInvalidSPI(sa, 1000)
			a.E.RekeyChild(a.T.Child, nil)
			for i := range 20 {
				a.E.SendInvalidSPI(sa, uint32(2000+i))
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
			if d := a.E.Stats().NotifiesDropped; d != 21-maxQueuedNotifies {
				t.Errorf("dropped %d", d)
			}
		})
		fn.Hold(false)
	})
}

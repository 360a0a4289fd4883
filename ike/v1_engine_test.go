package ike

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// v1Up builds an IKEv1 pair and waits until A's Main Mode and Quick Mode are done on both sides.
func v1Up(t *testing.T, o pairOpts) (*node, *node, *fakeNet) {
	t.Helper()
	o.version = 1
	a, b, fn := newPair(t, o)
	a.e.Do(func() { a.e.Initiate(a.t) })
	a.wait(t, "child-up")
	b.wait(t, "child-up")
	return a, b, fn
}

func TestV1EstablishSuites(t *testing.T) {
	for _, tc := range []struct{ ike, esp string }{
		{"aes128-sha256-ecp256", "aes128gcm16"},
		{"aes256-sha256-modp2048", "aes256-sha256"},
		{"aes256-sha384-ecp384", "aes256gcm16"},
		{"aes128-sha512-x25519", "aes128-sha512"},
		{"aes192-sha256-ecp256", "aes128-sha384-modp2048"}, // PFS
	} {
		t.Run(tc.ike+"/"+tc.esp, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, pairOpts{ikeA: tc.ike, espA: tc.esp})
				checkChildPair(t, a, b)
				for _, n := range []*node{a, b} {
					n.e.Call(func() {
						sa := n.t.IKE
						if sa.Version != 1 || sa.State != IKEEstablished {
							t.Errorf("IKE SA version %d state %v", sa.Version, sa.State)
						}
						if got := sa.Suite.String(); got != tc.ike {
							t.Errorf("ISAKMP suite %q, want %q", got, tc.ike)
						}
						if got := n.t.Child.Suite.String(); got != tc.esp {
							t.Errorf("ESP suite %q, want %q", got, tc.esp)
						}
						if n.t.Child.Encap != dataplane.EncapRaw || sa.Local.Port() != 500 {
							t.Errorf("without NAT: encap %v, IKE port %d", n.t.Child.Encap, sa.Local.Port())
						}
					})
				}
			})
		})
	}
}

func TestV1EncapUDP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{encap: EncapUDP})
		in, out := checkChildPair(t, a, b)
		for _, n := range []*node{a, b} {
			n.e.Call(func() {
				if p := n.t.IKE.Local.Port(); p != 4500 {
					t.Errorf("ISAKMP SA did not float: local port %d", p)
				}
			})
		}
		for _, c := range []dataplane.SAConfig{must(a.dp.sa(in, dataplane.In)), must(a.dp.sa(out, dataplane.Out))} {
			if c.Encap != dataplane.EncapUDP || c.Local.Port() != 4500 || c.Remote.Port() != 4500 {
				t.Errorf("SA %08x: encap %v %v -> %v", c.SPI, c.Encap, c.Local, c.Remote)
			}
		}
	})
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("missing")
	}
	return v
}

func TestV1WrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{version: 1, pskB: "another-secret-that-differs"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-down")
		var sa, sb Stats
		a.e.Call(func() {
			sa = a.e.Stats()
			if a.t.IKE != nil || a.t.Child != nil {
				t.Errorf("initiator kept SAs after AUTHENTICATION-FAILED")
			}
		})
		b.e.Call(func() {
			sb = b.e.Stats()
			if len(b.e.ikeSAs) != 0 {
				t.Errorf("responder kept %d ISAKMP SAs", len(b.e.ikeSAs))
			}
		})
		if sb.AuthFailures != 1 || sa.AuthFailures != 1 {
			t.Errorf("auth failures: initiator %d, responder %d", sa.AuthFailures, sb.AuthFailures)
		}
		if n := a.dp.count() + b.dp.count(); n != 0 {
			t.Errorf("%d SAs installed after failed authentication", n)
		}
	})
}

func TestV1RemoteIDMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{version: 1})
		b.e.Call(func() { b.t.Cfg.RemoteID = Identity{IDFQDN, []byte("someone-else.example")} })
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-down")
		b.e.Call(func() {
			if b.e.Stats().AuthFailures != 1 || len(b.e.ikeSAs) != 0 {
				t.Errorf("responder: %d auth failures, %d SAs", b.e.Stats().AuthFailures, len(b.e.ikeSAs))
			}
		})
	})
}

func TestV1NoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{version: 1, ikeA: "aes128-sha256-ecp256", ikeB: "aes256-sha512-modp2048"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-down")
		b.e.Call(func() {
			if len(b.e.ikeSAs) != 0 {
				t.Errorf("responder created an SA")
			}
		})
	})
}

func TestV1ESPNoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := newPair(t, pairOpts{version: 1, espA: "aes128gcm16", espB: "aes256-sha512"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-failed")
		a.e.Call(func() {
			if a.t.IKE == nil || a.t.IKE.State != IKEEstablished || a.t.Child != nil {
				t.Errorf("after a refused Quick Mode: IKE %v, child %v", a.t.IKE, a.t.Child)
			}
		})
	})
}

// TestV1Retransmission drops the first copy of every message in both directions: each side
// must retransmit, or answer a repeated request with its cached answer.
func TestV1Retransmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		seen := map[[32]byte]bool{}
		o := pairOpts{version: 1, cfg: Config{RetransmitTimeout: 100 * time.Millisecond}}
		a, b, fn := newPair(t, o)
		fn.mu.Lock()
		fn.drop = func(from, to netip.AddrPort, msg []byte) bool {
			mu.Lock()
			defer mu.Unlock()
			k := sha256.Sum256(msg)
			if seen[k] {
				return false
			}
			seen[k] = true
			return true
		}
		fn.mu.Unlock()
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		checkChildPair(t, a, b)
		var sa, sb Stats
		a.e.Call(func() { sa = a.e.Stats() })
		b.e.Call(func() { sb = b.e.Stats() })
		if sa.Retransmits == 0 || sb.Retransmits == 0 || sa.ResponsesResent == 0 || sb.ResponsesResent == 0 {
			t.Errorf("retransmits a=%d b=%d, answers resent a=%d b=%d", sa.Retransmits, sb.Retransmits, sa.ResponsesResent, sb.ResponsesResent)
		}
	})
}

func TestV1ChildRekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, pairOpts{})
				in0, out0 := checkChildPair(t, a, b)
				r := a
				if who == "responder" {
					r = b
				}
				done := make(chan error, 1)
				r.e.Do(func() { r.e.RekeyChild(r.t.Child, func(_ *ChildSA, err error) { done <- err }) })
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				a.wait(t, "child-down")
				b.wait(t, "child-down")
				in1, out1 := checkChildPair(t, a, b)
				if in0 == in1 || out0 == out1 {
					t.Fatalf("SPIs unchanged after rekey")
				}
				if _, ok := a.dp.sa(in0, dataplane.In); !ok {
					t.Errorf("old inbound SA removed without grace")
				}
				time.Sleep(rekeyGrace + time.Millisecond)
				synctest.Wait()
				for _, n := range []*node{a, b} {
					if c := n.dp.count(); c != 2 {
						t.Errorf("%d SAs installed, want 2", c)
					}
				}
			})
		})
	}
}

func TestV1ChildRekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := v1Up(t, pairOpts{})
		fn.hold(true)
		a.e.Call(func() { a.e.RekeyChild(a.t.Child, nil) })
		b.e.Call(func() { b.e.RekeyChild(b.t.Child, nil) })
		fn.hold(false)
		synctest.Wait()
		time.Sleep(6 * time.Second) // grace periods and the passive switch
		synctest.Wait()
		var ca, cb int
		a.e.Call(func() { ca = len(a.t.IKE.children) })
		b.e.Call(func() { cb = len(b.t.IKE.children) })
		if ca != 1 || cb != 1 || a.dp.count() != 2 || b.dp.count() != 2 {
			t.Fatalf("after a rekey collision: children a %d b %d, SAs a %d b %d", ca, cb, a.dp.count(), b.dp.count())
		}
		checkChildPair(t, a, b)
	})
}

func TestV1IKERekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, pairOpts{})
				in0, _ := checkChildPair(t, a, b)
				var old string
				a.e.Call(func() { old = a.t.IKE.String() })
				r := a
				if who == "responder" {
					r = b
				}
				r.e.Do(func() { r.e.RekeyIKE(r.t.IKE) })
				a.wait(t, "ike-down")
				b.wait(t, "ike-down")
				synctest.Wait()
				for _, n := range []*node{a, b} {
					n.e.Call(func() {
						if len(n.e.ikeSAs) != 1 || n.t.IKE == nil || n.t.IKE.String() == old || n.t.IKE.State != IKEEstablished {
							t.Errorf("after IKE rekey: %d ISAKMP SAs, tunnel's %v", len(n.e.ikeSAs), n.t.IKE)
						}
						if len(n.t.IKE.children) != 1 {
							t.Errorf("children did not move: %d", len(n.t.IKE.children))
						}
					})
				}
				in1, _ := checkChildPair(t, a, b)
				if in0 != in1 {
					t.Errorf("child changed during IKE rekey")
				}
				// The new ISAKMP SA works: rekey the child over it, from the other side.
				o := b
				if r == b {
					o = a
				}
				o.e.Do(func() { o.e.RekeyChild(o.t.Child, nil) })
				a.wait(t, "child-rekeyed")
				b.wait(t, "child-rekeyed")
			})
		})
	}
}

func TestV1DeleteChildAndIKE(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, pairOpts{})
				x, y := b, a
				if who == "initiator" {
					x, y = a, b
				}
				x.e.Do(func() { x.e.DeleteChild(x.t.Child, true, nil) })
				a.wait(t, "child-down")
				b.wait(t, "child-down")
				if a.dp.count() != 0 || b.dp.count() != 0 {
					t.Fatalf("SAs left after Delete: %d %d", a.dp.count(), b.dp.count())
				}
				if p := y.dp.policy("t"); p.OutChild != 0 {
					t.Errorf("policy still points at child %d", p.OutChild)
				}
				y.e.Do(func() { y.e.CreateChild(y.t, nil) })
				a.wait(t, "child-up")
				b.wait(t, "child-up")
				checkChildPair(t, a, b)
				x.e.Do(func() { x.e.DeleteIKE(x.t.IKE, true) })
				b.wait(t, "ike-down")
				a.wait(t, "ike-down")
				if a.dp.count() != 0 || b.dp.count() != 0 {
					t.Fatalf("SAs left after ISAKMP Delete: %d %d", a.dp.count(), b.dp.count())
				}
				y.e.Call(func() {
					if y.t.IKE != nil || len(y.e.ikeSAs) != 0 {
						t.Errorf("peer kept its ISAKMP SA")
					}
				})
			})
		})
	}
}

func TestV1Liveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{})
		errc := make(chan error, 2)
		a.e.Do(func() {
			a.e.Liveness(a.t.IKE, func(err error) { errc <- err })
			if !a.t.IKE.LivenessPending() {
				t.Errorf("no liveness check pending")
			}
		})
		b.e.Do(func() { b.e.v1Liveness(b.t.IKE, time.Second, func(err error) { errc <- err }) })
		for range 2 {
			if err := <-errc; err != nil {
				t.Fatalf("liveness: %v", err)
			}
		}
		a.e.Call(func() {
			if a.t.IKE.LivenessPending() {
				t.Errorf("liveness check still pending")
			}
		})
	})
}

// TestV1DPDTimeout: unanswered R-U-THEREs declare the peer dead within the retransmission rules.
func TestV1DPDTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, fn := v1Up(t, pairOpts{cfg: Config{RetransmitTimeout: 10 * time.Millisecond, RetransmitTries: 2}})
		fn.mu.Lock()
		fn.drop = func(from, to netipAddrPort, msg []byte) bool { return true }
		fn.mu.Unlock()
		var sent0 int
		a.dp.mu.Lock()
		sent0 = a.dp.sent
		a.dp.mu.Unlock()
		errc := make(chan error, 1)
		start := time.Now()
		a.e.Do(func() { a.e.Liveness(a.t.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("liveness: %v", err)
		}
		// 10 ms, 18 ms, then the third timeout ends it: 3 R-U-THEREs.
		if d := time.Since(start); d < 28*time.Millisecond || d > time.Second {
			t.Errorf("declared dead after %v", d)
		}
		a.dp.mu.Lock()
		sent := a.dp.sent - sent0
		a.dp.mu.Unlock()
		if sent != 3 {
			t.Errorf("%d R-U-THEREs sent, want 3", sent)
		}
		a.e.Call(func() {
			if a.t.IKE != nil || a.dp.count() != 0 {
				t.Errorf("ISAKMP SA survived a failed DPD")
			}
		})
	})
}

func TestV1InvalidSPIProtected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{})
		_, out := checkChildPair(t, a, b)
		b.e.Do(func() { b.e.SendInvalidSPI(b.t.IKE, out) })
		a.wait(t, "invalid-spi:"+hex8(out))
	})
}

// TestV1InvalidSPIEncodings sends protected INVALID-SPI notifications laid out in different
// ways: the SPI is read as an integer from the SPI field, or else from the data.
func TestV1InvalidSPIEncodings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{})
		for _, tc := range []struct {
			n    *v1wire.Notification
			want uint32
		}{
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: []byte{0xc0, 0x01, 0x02, 0x03}, Type: v1wire.NotifyInvalidSPI}, 0xc0010203},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: []byte{0, 0, 1, 0}, Type: v1wire.NotifyInvalidSPI, Data: []byte{9, 9, 9, 9}}, 0x00000100},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Type: v1wire.NotifyInvalidSPI, Data: []byte{0xde, 0xad, 0xbe, 0xef, 1}}, 0xdeadbeef},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoAH, SPI: []byte{1, 2, 3, 4}, Type: v1wire.NotifyInvalidSPI, Data: []byte{0, 0, 0x12, 0x34}}, 0x1234},
		} {
			b.e.Do(func() { b.e.v1SendInfo(b.t.IKE, []v1wire.Payload{tc.n}) })
			a.wait(t, "invalid-spi:"+hex8(tc.want))
		}
	})
}

func TestV1NotifySPI(t *testing.T) {
	for _, tc := range []struct {
		n    v1wire.Notification
		want uint32
	}{
		{v1wire.Notification{Protocol: v1wire.ProtoESP, SPI: []byte{0x12, 0x34, 0x56, 0x78}}, 0x12345678},
		{v1wire.Notification{Protocol: v1wire.ProtoESP, SPI: []byte{0, 0, 0, 1}, Data: []byte{0xff, 0xff, 0xff, 0xff}}, 1},
		{v1wire.Notification{Protocol: v1wire.ProtoESP, SPI: []byte{1, 2}, Data: []byte{0, 0, 0, 7}}, 7},
		{v1wire.Notification{Protocol: v1wire.ProtoISAKMP, SPI: make([]byte, 16), Data: []byte{0xab, 0xcd, 0, 0}}, 0xabcd0000},
		{v1wire.Notification{Data: []byte{1, 2, 3}}, 0},
		{v1wire.Notification{}, 0},
	} {
		if got := v1NotifySPI(&tc.n); got != tc.want {
			t.Errorf("%+v: SPI %08x, want %08x", tc.n, got, tc.want)
		}
	}
}

// TestV1UnprotectedInvalidSPI: INVALID-SPI without a valid HASH(1), outside the SA, with its
// cookies in the clear, or encrypted with a wrong hash, reaches UnprotectedNotify only.
func TestV1UnprotectedInvalidSPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{})
		in0, out := checkChildPair(t, a, b)
		notify := &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: spiBytes(out), Type: v1wire.NotifyInvalidSPI}
		var local, remote netip.AddrPort
		var sa *IKESA
		b.e.Call(func() { sa = b.t.IKE; local, remote = sa.Local, sa.Remote })
		sends := []func(){
			func() { b.e.SendUnprotectedInvalidSPI(local, remote, out) },
			func() {
				h := sa.v1Header(v1wire.ExchangeInformational, 77)
				b.dp.SendIKE(local, remote, (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{notify}}).Append(nil))
			},
			func() {
				cbc, _ := v1of(sa).keys.ExchangeCipher(v1of(sa).p1, 78)
				raw := v1wire.AppendEncrypted(nil, sa.v1Header(v1wire.ExchangeInformational, 78),
					[]v1wire.Payload{&v1wire.Hash{Data: make([]byte, 32)}, notify}, cbc)
				b.dp.SendIKE(local, remote, raw)
			},
		}
		for i, send := range sends {
			b.e.Do(send)
			a.wait(t, fmt.Sprintf("unprotected:%v:%s", HintInvalidSPI, hex8(out)))
			synctest.Wait()
			select {
			case ev := <-a.hooks.ev:
				t.Errorf("send %d: unexpected event %q", i, ev)
			default:
			}
			in1, _ := checkChildPair(t, a, b)
			if in1 != in0 {
				t.Fatalf("send %d: the Child SA changed", i)
			}
		}
	})
}

// TestV1InitialContact: A forgets its SAs and initiates again; its INITIAL-CONTACT makes B
// drop the old ISAKMP SA and its Child SA.
func TestV1InitialContact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, pairOpts{})
		in0, _ := checkChildPair(t, a, b)
		a.e.Do(func() {
			a.e.RemoveIKE(a.t.IKE, ErrDeleted)
			a.e.Initiate(a.t)
		})
		b.wait(t, "ike-down")
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		in1, _ := checkChildPair(t, a, b)
		if in1 == in0 {
			t.Errorf("same Child SA after a restart")
		}
		b.e.Call(func() {
			if len(b.e.ikeSAs) != 1 || b.dp.count() != 2 {
				t.Errorf("B has %d ISAKMP SAs and %d SAs", len(b.e.ikeSAs), b.dp.count())
			}
		})
	})
}

// TestV1SimultaneousInitiate: both sides start Main Mode at once; both keep the same ISAKMP SA
// (the higher CKY-I) with one Child SA pair.
func TestV1SimultaneousInitiate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{version: 1})
		fn.hold(true)
		a.e.Call(func() { a.e.Initiate(a.t) })
		b.e.Call(func() { b.e.Initiate(b.t) })
		fn.hold(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var ia, ib string
		for _, n := range []*node{a, b} {
			n.e.Call(func() {
				if len(n.e.ikeSAs) != 1 || n.t.IKE == nil || len(n.t.IKE.children) != 1 || n.dp.count() != 2 {
					t.Errorf("%d ISAKMP SAs, tunnel's %v, %d SAs in the dataplane", len(n.e.ikeSAs), n.t.IKE, n.dp.count())
				}
			})
		}
		a.e.Call(func() { ia = a.t.IKE.String() })
		b.e.Call(func() { ib = b.t.IKE.String() })
		if ia != ib {
			t.Errorf("the sides kept different ISAKMP SAs: %s, %s", ia, ib)
		}
		checkChildPair(t, a, b)
	})
}

func TestV1AggressiveRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{version: 1})
		h := v1wire.Header{CookieI: 0x1122334455667788, Exchange: v1wire.ExchangeAggressive}
		sa := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP,
			Transforms: v1IKETransforms(mustProps(t, "aes128-sha256-ecp256", true), time.Hour)}}}
		msg := (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{sa, &v1wire.KE{Data: make([]byte, 64)}, &v1wire.Nonce{Data: make([]byte, 32)}, &v1wire.ID{Type: v1wire.IDFQDN, Data: []byte("b.example")}}}).Append(nil)
		var unknown0 uint64
		b.e.Call(func() { unknown0 = b.e.Stats().UnknownSPI })
		b.dp.SendIKE(netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:500"), msg)
		synctest.Wait()
		a.e.Call(func() {
			if len(a.e.ikeSAs) != 0 {
				t.Errorf("Aggressive Mode created an SA")
			}
		})
		b.e.Call(func() {
			if b.e.Stats().UnknownSPI != unknown0+1 {
				t.Errorf("no refusal came back")
			}
		})
	})
}

// FuzzV1Message feeds arbitrary ISAKMP messages to an engine with an IKEv1 tunnel.
func FuzzV1Message(f *testing.F) {
	props := mustProps(f, "aes128-sha256-ecp256", true)
	mm1 := (&v1wire.Message{Header: v1wire.Header{CookieI: 1, Exchange: v1wire.ExchangeMainMode},
		Payloads: []v1wire.Payload{&v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP, Transforms: v1IKETransforms(props, time.Hour)}}},
			&v1wire.VendorID{Data: v1wire.VendorIDNATTRFC3947}}}).Append(nil)
	f.Add(mm1)
	info := (&v1wire.Message{Header: v1wire.Header{CookieI: 5, Exchange: v1wire.ExchangeInformational},
		Payloads: []v1wire.Payload{&v1wire.Notification{DOI: 1, Protocol: v1wire.ProtoESP, SPI: []byte{1, 2, 3, 4}, Type: v1wire.NotifyInvalidSPI}}}).Append(nil)
	f.Add(info)
	enc := append(v1wire.Header{CookieI: 1, CookieR: 2, Version: 0x10, Exchange: v1wire.ExchangeQuickMode, Flags: v1wire.FlagEncryption, MessageID: 3, NextPayload: v1wire.PayloadHash, Length: 28 + 32}.Append(nil), make([]byte, 32)...)
	f.Add(enc)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		fn := &fakeNet{nodes: map[netip.Addr]*fakeDP{}}
		dp := &fakeDP{net: fn, sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}}
		e := New(Config{}, dp, nil, nil)
		e.AddTunnel(&TunnelConfig{
			Name: "t", Version: 1, Local: netip.MustParseAddrPort("192.0.2.1:500"), Remote: netip.MustParseAddrPort("192.0.2.2:500"),
			LocalID: Identity{IDFQDN, []byte("a")}, RemoteID: Identity{IDFQDN, []byte("b")}, PSK: []byte("0123456789abcdef"),
			LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")},
			IKEProposals: props, ESPProposals: mustProps(t, "aes128gcm16", false),
		})
		if len(msg) > 17 {
			msg[17] = 0x10 // always IKEv1
		}
		e.handle(netip.MustParseAddrPort("192.0.2.1:500"), netip.MustParseAddrPort("192.0.2.2:500"), msg)
		// A repeat exercises the duplicate paths.
		e.handle(netip.MustParseAddrPort("192.0.2.1:500"), netip.MustParseAddrPort("192.0.2.2:500"), msg)
		for _, sa := range e.ikeSAs {
			sa.stop()
			e.RemoveIKE(sa, ErrDeleted)
		}
	})
}

// TestV1IKERekeyCollision: both sides start a new Main Mode for the tunnel at once. They
// settle on the same ISAKMP SA and the Child SA carries on.
func TestV1IKERekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := v1Up(t, pairOpts{})
		in0, _ := checkChildPair(t, a, b)
		fn.hold(true)
		a.e.Call(func() { a.e.RekeyIKE(a.t.IKE) })
		b.e.Call(func() { b.e.RekeyIKE(b.t.IKE) })
		fn.hold(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var ia, ib string
		for _, n := range []*node{a, b} {
			n.e.Call(func() {
				if len(n.e.ikeSAs) != 1 || n.t.IKE == nil || len(n.t.IKE.children) != 1 {
					t.Errorf("%d ISAKMP SAs, tunnel's %v", len(n.e.ikeSAs), n.t.IKE)
				}
			})
		}
		a.e.Call(func() { ia = a.t.IKE.String() })
		b.e.Call(func() { ib = b.t.IKE.String() })
		if ia != ib {
			t.Errorf("the sides kept different ISAKMP SAs: %s, %s", ia, ib)
		}
		if in1, _ := checkChildPair(t, a, b); in1 != in0 {
			t.Errorf("the Child SA changed: %08x -> %08x", in0, in1)
		}
		// The kept ISAKMP SA works.
		a.e.Do(func() { a.e.RekeyChild(a.t.Child, nil) })
		a.wait(t, "child-rekeyed")
		b.wait(t, "child-rekeyed")
	})
}

package v1

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
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// v1Up builds an IKEv1 pair and waits until A's Main Mode and Quick Mode are done on both sides.
func v1Up(t *testing.T, o iketest.PairOpts) (*iketest.Node, *iketest.Node, *iketest.Net) {
	t.Helper()
	o.Version, o.Protocols = 1, protos
	a, b, fn := iketest.NewPair(t, o)
	a.E.Do(func() { a.E.Initiate(a.T) })
	a.Wait(t, "child-up")
	b.Wait(t, "child-up")
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
				a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos, IKEA: tc.ike, ESPA: tc.esp})
				iketest.CheckChildPair(t, a, b)
				for _, n := range []*iketest.Node{a, b} {
					n.E.Call(func() {
						sa := n.T.IKE
						if sa.Version != 1 || sa.State != ike.IKEEstablished {
							t.Errorf("IKE SA version %d state %v", sa.Version, sa.State)
						}
						if got := sa.Suite.String(); got != tc.ike {
							t.Errorf("ISAKMP suite %q, want %q", got, tc.ike)
						}
						if got := n.T.Child.Suite.String(); got != tc.esp {
							t.Errorf("ESP suite %q, want %q", got, tc.esp)
						}
						if n.T.Child.Encap != dataplane.EncapRaw || sa.Local.Port() != 500 {
							t.Errorf("without NAT: encap %v, IKE port %d", n.T.Child.Encap, sa.Local.Port())
						}
					})
				}
			})
		})
	}
}

func TestV1EncapUDP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos, Encap: ike.EncapUDP})
		in, out := iketest.CheckChildPair(t, a, b)
		for _, n := range []*iketest.Node{a, b} {
			n.E.Call(func() {
				if p := n.T.IKE.Local.Port(); p != 4500 {
					t.Errorf("ISAKMP SA did not float: local port %d", p)
				}
			})
		}
		for _, c := range []dataplane.SAConfig{must(a.DP.SA(in, dataplane.In)), must(a.DP.SA(out, dataplane.Out))} {
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
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1, PSKB: "another-secret-that-differs"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-down")
		var sa, sb ike.Stats
		a.E.Call(func() {
			sa = a.E.Stats()
			if a.T.IKE != nil || a.T.Child != nil {
				t.Errorf("initiator kept SAs after AUTHENTICATION-FAILED")
			}
		})
		b.E.Call(func() {
			sb = b.E.Stats()
			if len(b.E.IKESAs()) != 0 {
				t.Errorf("responder kept %d ISAKMP SAs", len(b.E.IKESAs()))
			}
		})
		if sb.AuthFailures != 1 || sa.AuthFailures != 1 {
			t.Errorf("auth failures: initiator %d, responder %d", sa.AuthFailures, sb.AuthFailures)
		}
		if n := a.DP.Count() + b.DP.Count(); n != 0 {
			t.Errorf("%d SAs installed after failed authentication", n)
		}
	})
}

func TestV1RemoteIDMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1})
		b.E.Call(func() { b.T.Cfg.RemoteID = ike.Identity{Type: ike.IDFQDN, Data: []byte("someone-else.example")} })
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-down")
		b.E.Call(func() {
			if b.E.Stats().AuthFailures != 1 || len(b.E.IKESAs()) != 0 {
				t.Errorf("responder: %d auth failures, %d SAs", b.E.Stats().AuthFailures, len(b.E.IKESAs()))
			}
		})
	})
}

func TestV1NoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1, IKEA: "aes128-sha256-ecp256", IKEB: "aes256-sha512-modp2048"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-down")
		b.E.Call(func() {
			if len(b.E.IKESAs()) != 0 {
				t.Errorf("responder created an SA")
			}
		})
	})
}

func TestV1ESPNoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1, ESPA: "aes128gcm16", ESPB: "aes256-sha512"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-failed")
		a.E.Call(func() {
			if a.T.IKE == nil || a.T.IKE.State != ike.IKEEstablished || a.T.Child != nil {
				t.Errorf("after a refused Quick Mode: IKE %v, child %v", a.T.IKE, a.T.Child)
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
		o := iketest.PairOpts{Protocols: protos, Version: 1, Cfg: ike.Config{RetransmitTimeout: 100 * time.Millisecond}}
		a, b, fn := iketest.NewPair(t, o)
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool {
			mu.Lock()
			defer mu.Unlock()
			k := sha256.Sum256(msg)
			if seen[k] {
				return false
			}
			seen[k] = true
			return true
		})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		iketest.CheckChildPair(t, a, b)
		var sa, sb ike.Stats
		a.E.Call(func() { sa = a.E.Stats() })
		b.E.Call(func() { sb = b.E.Stats() })
		if sa.Retransmits == 0 || sb.Retransmits == 0 || sa.ResponsesResent == 0 || sb.ResponsesResent == 0 {
			t.Errorf("retransmits a=%d b=%d, answers resent a=%d b=%d", sa.Retransmits, sb.Retransmits, sa.ResponsesResent, sb.ResponsesResent)
		}
	})
}

func TestV1ChildRekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
				in0, out0 := iketest.CheckChildPair(t, a, b)
				r := a
				if who == "responder" {
					r = b
				}
				done := make(chan error, 1)
				r.E.Do(func() { r.E.RekeyChild(r.T.Child, func(_ *ike.ChildSA, err error) { done <- err }) })
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				a.Wait(t, "child-down")
				b.Wait(t, "child-down")
				in1, out1 := iketest.CheckChildPair(t, a, b)
				if in0 == in1 || out0 == out1 {
					t.Fatalf("SPIs unchanged after rekey")
				}
				if _, ok := a.DP.SA(in0, dataplane.In); !ok {
					t.Errorf("old inbound SA removed without grace")
				}
				time.Sleep(ike.RekeyGrace + time.Millisecond)
				synctest.Wait()
				for _, n := range []*iketest.Node{a, b} {
					if c := n.DP.Count(); c != 2 {
						t.Errorf("%d SAs installed, want 2", c)
					}
				}
			})
		})
	}
}

func TestV1ChildRekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := v1Up(t, iketest.PairOpts{Protocols: protos})
		fn.Hold(true)
		a.E.Call(func() { a.E.RekeyChild(a.T.Child, nil) })
		b.E.Call(func() { b.E.RekeyChild(b.T.Child, nil) })
		fn.Hold(false)
		synctest.Wait()
		time.Sleep(6 * time.Second) // grace periods and the passive switch
		synctest.Wait()
		var ca, cb int
		a.E.Call(func() { ca = len(a.T.IKE.Children()) })
		b.E.Call(func() { cb = len(b.T.IKE.Children()) })
		if ca != 1 || cb != 1 || a.DP.Count() != 2 || b.DP.Count() != 2 {
			t.Fatalf("after a rekey collision: children a %d b %d, SAs a %d b %d", ca, cb, a.DP.Count(), b.DP.Count())
		}
		iketest.CheckChildPair(t, a, b)
	})
}

func TestV1IKERekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
				in0, _ := iketest.CheckChildPair(t, a, b)
				var old string
				a.E.Call(func() { old = a.T.IKE.String() })
				r := a
				if who == "responder" {
					r = b
				}
				r.E.Do(func() { r.E.RekeyIKE(r.T.IKE) })
				a.Wait(t, "ike-down")
				b.Wait(t, "ike-down")
				synctest.Wait()
				for _, n := range []*iketest.Node{a, b} {
					n.E.Call(func() {
						if len(n.E.IKESAs()) != 1 || n.T.IKE == nil || n.T.IKE.String() == old || n.T.IKE.State != ike.IKEEstablished {
							t.Errorf("after IKE rekey: %d ISAKMP SAs, tunnel's %v", len(n.E.IKESAs()), n.T.IKE)
						}
						if len(n.T.IKE.Children()) != 1 {
							t.Errorf("children did not move: %d", len(n.T.IKE.Children()))
						}
					})
				}
				in1, _ := iketest.CheckChildPair(t, a, b)
				if in0 != in1 {
					t.Errorf("child changed during IKE rekey")
				}
				// The new ISAKMP SA works: rekey the child over it, from the other side.
				o := b
				if r == b {
					o = a
				}
				o.E.Do(func() { o.E.RekeyChild(o.T.Child, nil) })
				a.Wait(t, "child-rekeyed")
				b.Wait(t, "child-rekeyed")
			})
		})
	}
}

func TestV1DeleteChildAndIKE(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
				x, y := b, a
				if who == "initiator" {
					x, y = a, b
				}
				x.E.Do(func() { x.E.DeleteChild(x.T.Child, true, nil) })
				a.Wait(t, "child-down")
				b.Wait(t, "child-down")
				if a.DP.Count() != 0 || b.DP.Count() != 0 {
					t.Fatalf("SAs left after Delete: %d %d", a.DP.Count(), b.DP.Count())
				}
				if p := y.DP.Policy("t"); p.OutChild != 0 {
					t.Errorf("policy still points at child %d", p.OutChild)
				}
				y.E.Do(func() { y.E.CreateChild(y.T, nil) })
				a.Wait(t, "child-up")
				b.Wait(t, "child-up")
				iketest.CheckChildPair(t, a, b)
				x.E.Do(func() { x.E.DeleteIKE(x.T.IKE, true) })
				b.Wait(t, "ike-down")
				a.Wait(t, "ike-down")
				if a.DP.Count() != 0 || b.DP.Count() != 0 {
					t.Fatalf("SAs left after ISAKMP Delete: %d %d", a.DP.Count(), b.DP.Count())
				}
				y.E.Call(func() {
					if y.T.IKE != nil || len(y.E.IKESAs()) != 0 {
						t.Errorf("peer kept its ISAKMP SA")
					}
				})
			})
		})
	}
}

func TestV1Liveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
		errc := make(chan error, 2)
		a.E.Do(func() {
			a.E.Liveness(a.T.IKE, func(err error) { errc <- err })
			if !a.T.IKE.LivenessPending() {
				t.Errorf("no liveness check pending")
			}
		})
		b.E.Do(func() { v1of(b.T.IKE).e.v1Liveness(b.T.IKE, time.Second, func(err error) { errc <- err }) })
		for range 2 {
			if err := <-errc; err != nil {
				t.Fatalf("liveness: %v", err)
			}
		}
		a.E.Call(func() {
			if a.T.IKE.LivenessPending() {
				t.Errorf("liveness check still pending")
			}
		})
	})
}

// TestV1DPDTimeout: unanswered R-U-THEREs declare the peer dead within the retransmission rules.
func TestV1DPDTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, fn := v1Up(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{RetransmitTimeout: 10 * time.Millisecond, RetransmitTries: 2}})
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool { return true })
		sent0 := a.DP.Sent()
		errc := make(chan error, 1)
		start := time.Now()
		a.E.Do(func() { a.E.Liveness(a.T.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("liveness: %v", err)
		}
		// 10 ms, 18 ms, then the third timeout ends it: 3 R-U-THEREs.
		if d := time.Since(start); d < 28*time.Millisecond || d > time.Second {
			t.Errorf("declared dead after %v", d)
		}
		sent := a.DP.Sent() - sent0
		if sent != 3 {
			t.Errorf("%d R-U-THEREs sent, want 3", sent)
		}
		a.E.Call(func() {
			if a.T.IKE != nil || a.DP.Count() != 0 {
				t.Errorf("ISAKMP SA survived a failed DPD")
			}
		})
	})
}

func TestV1InvalidSPIProtected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
		_, out := iketest.CheckChildPair(t, a, b)
		b.E.Do(func() { b.E.SendInvalidSPI(b.T.IKE, out) })
		a.Wait(t, fmt.Sprintf("invalid-spi:%08x", out))
	})
}

// TestV1InvalidSPIEncodings sends protected INVALID-SPI notifications laid out in different
// ways: the SPI is read as an integer from the SPI field, or else from the data.
func TestV1InvalidSPIEncodings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
		for _, tc := range []struct {
			n    *v1wire.Notification
			want uint32
		}{
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: []byte{0xc0, 0x01, 0x02, 0x03}, Type: v1wire.NotifyInvalidSPI}, 0xc0010203},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: []byte{0, 0, 1, 0}, Type: v1wire.NotifyInvalidSPI, Data: []byte{9, 9, 9, 9}}, 0x00000100},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Type: v1wire.NotifyInvalidSPI, Data: []byte{0xde, 0xad, 0xbe, 0xef, 1}}, 0xdeadbeef},
			{&v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoAH, SPI: []byte{1, 2, 3, 4}, Type: v1wire.NotifyInvalidSPI, Data: []byte{0, 0, 0x12, 0x34}}, 0x1234},
		} {
			b.E.Do(func() { v1of(b.T.IKE).e.v1SendInfo(b.T.IKE, []v1wire.Payload{tc.n}) })
			a.Wait(t, fmt.Sprintf("invalid-spi:%08x", tc.want))
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
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
		in0, out := iketest.CheckChildPair(t, a, b)
		notify := &v1wire.Notification{DOI: v1wire.DOIIPsec, Protocol: v1wire.ProtoESP, SPI: ike.SPIBytes(out), Type: v1wire.NotifyInvalidSPI}
		var local, remote netip.AddrPort
		var sa *ike.IKESA
		b.E.Call(func() { sa = b.T.IKE; local, remote = sa.Local, sa.Remote })
		sends := []func(){
			func() { b.E.SendUnprotectedInvalidSPI(local, remote, out) },
			func() {
				h := v1Header(sa, v1wire.ExchangeInformational, 77)
				b.DP.SendIKE(local, remote, (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{notify}}).Append(nil))
			},
			func() {
				cbc, _ := v1of(sa).keys.ExchangeCipher(v1of(sa).p1, 78)
				raw := v1wire.AppendEncrypted(nil, v1Header(sa, v1wire.ExchangeInformational, 78),
					[]v1wire.Payload{&v1wire.Hash{Data: make([]byte, 32)}, notify}, cbc)
				b.DP.SendIKE(local, remote, raw)
			},
		}
		for i, send := range sends {
			b.E.Do(send)
			a.Wait(t, fmt.Sprintf("unprotected:%v:%s", ike.HintInvalidSPI, fmt.Sprintf("%08x", out)))
			synctest.Wait()
			select {
			case ev := <-a.Hooks.Ev:
				t.Errorf("send %d: unexpected event %q", i, ev)
			default:
			}
			in1, _ := iketest.CheckChildPair(t, a, b)
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
		a, b, _ := v1Up(t, iketest.PairOpts{Protocols: protos})
		in0, _ := iketest.CheckChildPair(t, a, b)
		a.E.Do(func() {
			a.E.RemoveIKE(a.T.IKE, ike.ErrDeleted)
			a.E.Initiate(a.T)
		})
		b.Wait(t, "ike-down")
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		in1, _ := iketest.CheckChildPair(t, a, b)
		if in1 == in0 {
			t.Errorf("same Child SA after a restart")
		}
		b.E.Call(func() {
			if len(b.E.IKESAs()) != 1 || b.DP.Count() != 2 {
				t.Errorf("B has %d ISAKMP SAs and %d SAs", len(b.E.IKESAs()), b.DP.Count())
			}
		})
	})
}

// TestV1SimultaneousInitiate: both sides start Main Mode at once; both keep the same ISAKMP SA
// (the higher CKY-I) with one Child SA pair.
func TestV1SimultaneousInitiate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1})
		fn.Hold(true)
		a.E.Call(func() { a.E.Initiate(a.T) })
		b.E.Call(func() { b.E.Initiate(b.T) })
		fn.Hold(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var ia, ib string
		for _, n := range []*iketest.Node{a, b} {
			n.E.Call(func() {
				if len(n.E.IKESAs()) != 1 || n.T.IKE == nil || len(n.T.IKE.Children()) != 1 || n.DP.Count() != 2 {
					t.Errorf("%d ISAKMP SAs, tunnel's %v, %d SAs in the dataplane", len(n.E.IKESAs()), n.T.IKE, n.DP.Count())
				}
			})
		}
		a.E.Call(func() { ia = a.T.IKE.String() })
		b.E.Call(func() { ib = b.T.IKE.String() })
		if ia != ib {
			t.Errorf("the sides kept different ISAKMP SAs: %s, %s", ia, ib)
		}
		iketest.CheckChildPair(t, a, b)
	})
}

func TestV1AggressiveRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Version: 1})
		h := v1wire.Header{CookieI: 0x1122334455667788, Exchange: v1wire.ExchangeAggressive}
		sa := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP,
			Transforms: v1IKETransforms(iketest.MustProps(t, "aes128-sha256-ecp256", true), time.Hour)}}}
		msg := (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{sa, &v1wire.KE{Data: make([]byte, 64)}, &v1wire.Nonce{Data: make([]byte, 32)}, &v1wire.ID{Type: v1wire.IDFQDN, Data: []byte("b.example")}}}).Append(nil)
		var unknown0 uint64
		b.E.Call(func() { unknown0 = b.E.Stats().UnknownSPI })
		b.DP.SendIKE(netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:500"), msg)
		synctest.Wait()
		a.E.Call(func() {
			if len(a.E.IKESAs()) != 0 {
				t.Errorf("Aggressive Mode created an SA")
			}
		})
		b.E.Call(func() {
			if b.E.Stats().UnknownSPI != unknown0+1 {
				t.Errorf("no refusal came back")
			}
		})
	})
}

// FuzzV1Message feeds arbitrary ISAKMP messages to an engine with an IKEv1 tunnel.
func FuzzV1Message(f *testing.F) {
	props := iketest.MustProps(f, "aes128-sha256-ecp256", true)
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
		dp := iketest.NewNet().NewDP(netip.MustParseAddr("192.0.2.1"))
		e := ike.New(ike.Config{}, dp, nil, nil, New)
		p := New(e)
		e.AddTunnel(&ike.TunnelConfig{
			Name: "t", Version: 1, Local: netip.MustParseAddrPort("192.0.2.1:500"), Remote: netip.MustParseAddrPort("192.0.2.2:500"),
			LocalID: ike.Identity{Type: ike.IDFQDN, Data: []byte("a")}, RemoteID: ike.Identity{Type: ike.IDFQDN, Data: []byte("b")}, PSK: []byte("0123456789abcdef"),
			LocalTS: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, RemoteTS: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")},
			IKEProposals: props, ESPProposals: iketest.MustProps(t, "aes128gcm16", false),
		})
		if len(msg) > 17 {
			msg[17] = 0x10 // always IKEv1
		}
		p.Handle(netip.MustParseAddrPort("192.0.2.1:500"), netip.MustParseAddrPort("192.0.2.2:500"), msg)
		// A repeat exercises the duplicate paths.
		p.Handle(netip.MustParseAddrPort("192.0.2.1:500"), netip.MustParseAddrPort("192.0.2.2:500"), msg)
		for _, sa := range e.IKESAs() {
			e.RemoveIKE(sa, ike.ErrDeleted)
		}
	})
}

// TestV1IKERekeyCollision: both sides start a new Main Mode for the tunnel at once. They
// settle on the same ISAKMP SA and the Child SA carries on.
func TestV1IKERekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := v1Up(t, iketest.PairOpts{Protocols: protos})
		in0, _ := iketest.CheckChildPair(t, a, b)
		fn.Hold(true)
		a.E.Call(func() { a.E.RekeyIKE(a.T.IKE) })
		b.E.Call(func() { b.E.RekeyIKE(b.T.IKE) })
		fn.Hold(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var ia, ib string
		for _, n := range []*iketest.Node{a, b} {
			n.E.Call(func() {
				if len(n.E.IKESAs()) != 1 || n.T.IKE == nil || len(n.T.IKE.Children()) != 1 {
					t.Errorf("%d ISAKMP SAs, tunnel's %v", len(n.E.IKESAs()), n.T.IKE)
				}
			})
		}
		a.E.Call(func() { ia = a.T.IKE.String() })
		b.E.Call(func() { ib = b.T.IKE.String() })
		if ia != ib {
			t.Errorf("the sides kept different ISAKMP SAs: %s, %s", ia, ib)
		}
		if in1, _ := iketest.CheckChildPair(t, a, b); in1 != in0 {
			t.Errorf("the Child SA changed: %08x -> %08x", in0, in1)
		}
		// The kept ISAKMP SA works.
		a.E.Do(func() { a.E.RekeyChild(a.T.Child, nil) })
		a.Wait(t, "child-rekeyed")
		b.Wait(t, "child-rekeyed")
	})
}

// protos gives the test engines IKEv1.
var protos = []func(*ike.Engine) ike.Protocol{New}

package v2

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

func TestEstablishSuites(t *testing.T) {
	for _, tc := range []struct{ ike, esp string }{
		{"aes128gcm16-prfsha256-x25519", "aes128gcm16"},
		{"aes256-sha256-modp2048", "aes256-sha256"},
		{"chacha20poly1305-prfsha256-ecp256", "chacha20poly1305"},
		{"aes256gcm16-prfsha384-ecp384", "aes256gcm16-esn"},
		{"aes128-sha512-x25519", "aes128-sha512-modp2048"},
	} {
		t.Run(tc.ike, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, IKEA: tc.ike, ESPA: tc.esp})
				a.E.Do(func() { a.E.Initiate(a.T) })
				a.Wait(t, "child-up")
				b.Wait(t, "child-up")
				iketest.CheckChildPair(t, a, b)
				var algs string
				a.E.Call(func() { algs = a.T.IKE.Suite.String() })
				if algs != tc.ike {
					t.Errorf("IKE suite %q, want %q", algs, tc.ike)
				}
			})
		})
	}
}

func TestWrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, PSKB: "another-secret-that-differs"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-down")
		var st ike.Stats
		b.E.Call(func() { st = b.E.Stats() })
		if st.AuthFailures != 1 {
			t.Errorf("responder counted %d auth failures", st.AuthFailures)
		}
		a.E.Call(func() {
			if a.T.IKE != nil || a.T.Child != nil {
				t.Errorf("initiator kept SAs after AUTHENTICATION_FAILED")
			}
		})
		if n := a.DP.Count() + b.DP.Count(); n != 0 {
			t.Errorf("%d SAs installed after failed authentication", n)
		}
	})
}

func TestInvalidKEPayloadRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A proposes x25519 first, B only accepts ecp256: B answers INVALID_KE_PAYLOAD.
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, IKEA: "aes128gcm16-prfsha256-x25519-ecp256", IKEB: "aes128gcm16-prfsha256-ecp256"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		a.E.Call(func() {
			if g := a.T.IKE.Suite.DH; g != 19 {
				t.Errorf("DH group %d, want 19", g)
			}
		})
	})
}

func TestCookie(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Threshold 0: every IKE_SA_INIT must carry a cookie.
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{CookieThreshold: 0}})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-up")
		var st ike.Stats
		b.E.Call(func() { st = b.E.Stats() })
		if st.CookiesSent != 1 {
			t.Errorf("cookies sent = %d, want 1", st.CookiesSent)
		}
	})
}

func TestNoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, IKEA: "aes128gcm16-prfsha256-x25519", IKEB: "aes256-sha512-modp2048"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "ike-down")
	})
}

func TestChildRekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
				a.E.Do(func() { a.E.Initiate(a.T) })
				a.Wait(t, "child-up")
				b.Wait(t, "child-up")
				in0, out0 := iketest.CheckChildPair(t, a, b)
				r := a
				if who == "responder" {
					r = b
				}
				r.E.Do(func() { r.E.RekeyChild(r.T.Child, nil) })
				a.Wait(t, "child-down")
				b.Wait(t, "child-down")
				in1, out1 := iketest.CheckChildPair(t, a, b)
				// The old inbound SA outlives the rekey by ike.RekeyGrace (fake time).
				if _, ok := a.DP.SA(in0, dataplane.In); !ok {
					t.Errorf("old inbound SA removed without grace")
				}
				time.Sleep(ike.RekeyGrace + time.Millisecond)
				synctest.Wait()
				if in0 == in1 || out0 == out1 {
					t.Fatalf("SPIs unchanged after rekey")
				}
				if _, ok := a.DP.SA(in0, dataplane.In); ok {
					t.Errorf("old inbound SA still installed")
				}
				if n := a.DP.Count(); n != 2 {
					t.Errorf("a has %d SAs installed, want 2", n)
				}
			})
		})
	}
}

func TestChildRekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		// Both rekey at once: both requests are on the wire before either arrives.
		fn.Hold(true)
		a.E.Call(func() { a.E.RekeyChild(a.T.Child, nil) })
		b.E.Call(func() { b.E.RekeyChild(b.T.Child, nil) })
		fn.Hold(false)
		synctest.Wait()
		time.Sleep(ike.RekeyGrace + time.Millisecond)
		synctest.Wait()
		var ca, cb int
		a.E.Call(func() { ca = len(a.T.IKE.Children()) })
		b.E.Call(func() { cb = len(b.T.IKE.Children()) })
		if ca != 1 || cb != 1 {
			t.Fatalf("children after collision: a %d, b %d", ca, cb)
		}
		if a.DP.Count() != 2 || b.DP.Count() != 2 {
			t.Fatalf("after collision a has %d SAs, b has %d", a.DP.Count(), b.DP.Count())
		}
		iketest.CheckChildPair(t, a, b)
	})
}

func TestIKERekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
				a.E.Do(func() { a.E.Initiate(a.T) })
				a.Wait(t, "child-up")
				b.Wait(t, "child-up")
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
				var now string
				a.E.Call(func() { now = a.T.IKE.String() })
				if now == old {
					t.Fatalf("IKE SA unchanged")
				}
				in1, _ := iketest.CheckChildPair(t, a, b)
				if in0 != in1 {
					t.Errorf("child changed during IKE rekey")
				}
				// The new IKE SA works: rekey the child over it.
				a.E.Do(func() { a.E.RekeyChild(a.T.Child, nil) })
				a.Wait(t, "child-rekeyed")
				b.E.Call(func() {
					if len(b.E.IKESAs()) != 1 {
						t.Errorf("b has %d IKE SAs", len(b.E.IKESAs()))
					}
				})
			})
		})
	}
}

func TestDeleteChildAndIKE(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		b.E.Do(func() { b.E.DeleteChild(b.T.Child, true, nil) })
		a.Wait(t, "child-down")
		b.Wait(t, "child-down")
		if a.DP.Count() != 0 || b.DP.Count() != 0 {
			t.Fatalf("SAs left after Delete: %d %d", a.DP.Count(), b.DP.Count())
		}
		if p := a.DP.Policy("t"); p.OutChild != 0 {
			t.Errorf("policy still points at child %d", p.OutChild)
		}
		a.E.Do(func() { a.E.CreateChild(a.T, nil) })
		a.Wait(t, "child-up")
		iketest.CheckChildPair(t, a, b)
		a.E.Do(func() { a.E.DeleteIKE(a.T.IKE, true) })
		b.Wait(t, "ike-down")
		a.Wait(t, "ike-down")
		if a.DP.Count() != 0 || b.DP.Count() != 0 {
			t.Fatalf("SAs left after IKE Delete")
		}
	})
}

func TestInvalidSPINotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		_, out := iketest.CheckChildPair(t, a, b)
		b.E.Do(func() { b.E.SendInvalidSPI(b.T.IKE, out) })
		a.Wait(t, "invalid-spi:"+hex8(out))
	})
}

func hex8(v uint32) string {
	const d = "0123456789abcdef"
	var b [8]byte
	for i := 7; i >= 0; i-- {
		b[i] = d[v&15]
		v >>= 4
	}
	return string(b[:])
}

func TestLivenessTimeoutKillsSA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, Cfg: ike.Config{RetransmitTimeout: 10e6, RetransmitTries: 2}})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool { return true })
		errc := make(chan error, 1)
		a.E.Do(func() { a.E.Liveness(a.T.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("liveness: %v", err)
		}
		a.E.Call(func() {
			if a.T.IKE != nil {
				t.Errorf("IKE SA survived a failed liveness check")
			}
		})
	})
}

func TestIKERekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		in0, _ := iketest.CheckChildPair(t, a, b)
		fn.Hold(true)
		a.E.Call(func() { a.E.RekeyIKE(a.T.IKE) })
		b.E.Call(func() { b.E.RekeyIKE(b.T.IKE) })
		fn.Hold(false)
		synctest.Wait()
		time.Sleep(20 * time.Second) // let every Delete and retransmission finish (fake time)
		synctest.Wait()
		var na, nb int
		var sa, sb string
		a.E.Call(func() { na = len(a.E.IKESAs()); sa = a.T.IKE.String() })
		b.E.Call(func() { nb = len(b.E.IKESAs()); sb = b.T.IKE.String() })
		if na != 1 || nb != 1 || sa != sb {
			t.Fatalf("after IKE rekey collision: a has %d IKE SAs (%s), b has %d (%s)", na, sa, nb, sb)
		}
		in1, _ := iketest.CheckChildPair(t, a, b)
		if in1 != in0 {
			t.Errorf("child changed")
		}
		// The surviving IKE SA works.
		a.E.Do(func() { a.E.RekeyChild(a.T.Child, nil) })
		a.Wait(t, "child-rekeyed")
	})
}

// TestRetransmitAndResponseCache: a lost response makes the initiator retransmit with back-off;
// the responder answers the retransmission from its cache without processing it twice.
func TestRetransmitAndResponseCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		dropped := 0
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool {
			// Drop B's first two responses to A's next request.
			if from.Addr() == b.DP.Addr() && dropped < 2 && msg[19]&0x20 != 0 {
				dropped++
				return true
			}
			return false
		})
		start := time.Now()
		errc := make(chan error, 1)
		a.E.Do(func() { a.E.Liveness(a.T.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		// 500 ms, then 900 ms: answered after the second retransmission.
		if took < 1400*time.Millisecond || took > 1500*time.Millisecond {
			t.Errorf("answered after %v, want 1.4 s of back-off", took)
		}
		var sa, sb ike.Stats
		a.E.Call(func() { sa = a.E.Stats() })
		b.E.Call(func() { sb = b.E.Stats() })
		if sa.Retransmits != 2 || sb.ResponsesResent != 2 {
			t.Errorf("retransmits %d, responses resent %d; want 2 and 2", sa.Retransmits, sb.ResponsesResent)
		}
	})
}

func TestNATKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		// Not behind a NAT: no keepalives.
		time.Sleep(ike.KeepaliveInterval + time.Second)
		synctest.Wait()
		if a.DP.Keepalives() != 0 {
			t.Fatalf("keepalive sent without NAT")
		}
		a.E.Call(func() { a.T.IKE.NATLocal = true; a.E.ScheduleKeepalive(a.T.IKE) })
		time.Sleep(2*ike.KeepaliveInterval + time.Second)
		synctest.Wait()
		if n := a.DP.Keepalives(); n != 2 {
			t.Fatalf("%d keepalives in two intervals, want 2", n)
		}
	})
}

// TestSimultaneousInitiation: both sides initiate at the same moment (start_action start on
// both); their IKE_AUTH exchanges cross. They must end with the same single IKE SA and a
// working Child SA pair.
func TestSimultaneousInitiation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		fn.Hold(true)
		a.E.Call(func() { a.E.Initiate(a.T) })
		b.E.Call(func() { b.E.Initiate(b.T) })
		fn.Hold(false) // both IKE_SA_INIT requests cross
		synctest.Wait()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		var na, nb int
		var sa, sb string
		a.E.Call(func() { na = len(a.E.IKESAs()); sa = a.T.IKE.String() })
		b.E.Call(func() { nb = len(b.E.IKESAs()); sb = b.T.IKE.String() })
		if na != 1 || nb != 1 || sa != sb {
			t.Fatalf("a has %d IKE SAs (%s), b has %d (%s)", na, sa, nb, sb)
		}
		iketest.CheckChildPair(t, a, b)
	})
}

// TestPeerInitiatesWhileOurInitIsUnanswered: B starts first and its IKE_SA_INIT gets no answer
// (A is not up yet); then A initiates. B drops its own half-done SA for A's.
func TestPeerInitiatesWhileOurInitIsUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		fn.SetDrop(func(from, to netip.AddrPort, msg []byte) bool { return to.Addr() == a.DP.Addr() })
		b.E.Call(func() { b.E.Initiate(b.T) })
		time.Sleep(100 * time.Millisecond)
		fn.SetDrop(nil)
		a.E.Call(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		time.Sleep(30 * time.Second)
		synctest.Wait()
		var na, nb int
		a.E.Call(func() { na = len(a.E.IKESAs()) })
		b.E.Call(func() { nb = len(b.E.IKESAs()) })
		if na != 1 || nb != 1 {
			t.Fatalf("a has %d IKE SAs, b has %d", na, nb)
		}
		iketest.CheckChildPair(t, a, b)
	})
}

// TestQuietIKESAHoldsNoCipherState: an established IKE SA's SK ciphers hold only their keys,
// on both sides, after the handshake and after each later exchange (100,000 quiet IKE SAs
// would otherwise hold some kilobytes of AES-GCM tables each).
func TestQuietIKESAHoldsNoCipherState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos, IKEA: "aes128gcm16-prfsha256-x25519"})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		held := func(when string) {
			t.Helper()
			for _, p := range []*iketest.Node{a, b} {
				p.E.Call(func() {
					s := v2of(p.T.IKE)
					if crypto.SKHoldsState(s.in) || crypto.SKHoldsState(s.out) {
						t.Errorf("%s: %s's IKE SA holds SK cipher state (in %v, out %v)", when, name(p, a),
							crypto.SKHoldsState(s.in), crypto.SKHoldsState(s.out))
					}
				})
			}
		}
		held("after IKE_AUTH")
		done := make(chan error, 1)
		a.E.Do(func() { a.E.Liveness(a.T.IKE, func(err error) { done <- err }) })
		if err := <-done; err != nil {
			t.Fatalf("liveness check: %v", err)
		}
		held("after a liveness check")
	})
}

func name(p, a *iketest.Node) string {
	if p == a {
		return "initiator"
	}
	return "responder"
}

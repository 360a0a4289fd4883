package ike

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
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
				a, b, _ := newPair(t, pairOpts{ikeA: tc.ike, espA: tc.esp})
				a.e.Do(func() { a.e.Initiate(a.t) })
				a.wait(t, "child-up")
				b.wait(t, "child-up")
				checkChildPair(t, a, b)
				var algs string
				a.e.Call(func() { algs = a.t.IKE.Suite.String() })
				if algs != tc.ike {
					t.Errorf("IKE suite %q, want %q", algs, tc.ike)
				}
			})
		})
	}
}

func TestWrongPSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{pskB: "another-secret-that-differs"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-down")
		var st Stats
		b.e.Call(func() { st = b.e.Stats() })
		if st.AuthFailures != 1 {
			t.Errorf("responder counted %d auth failures", st.AuthFailures)
		}
		a.e.Call(func() {
			if a.t.IKE != nil || a.t.Child != nil {
				t.Errorf("initiator kept SAs after AUTHENTICATION_FAILED")
			}
		})
		if n := a.dp.count() + b.dp.count(); n != 0 {
			t.Errorf("%d SAs installed after failed authentication", n)
		}
	})
}

func TestInvalidKEPayloadRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A proposes x25519 first, B only accepts ecp256: B answers INVALID_KE_PAYLOAD.
		a, b, _ := newPair(t, pairOpts{ikeA: "aes128gcm16-prfsha256-x25519-ecp256", ikeB: "aes128gcm16-prfsha256-ecp256"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		a.e.Call(func() {
			if g := a.t.IKE.Suite.DH; g != 19 {
				t.Errorf("DH group %d, want 19", g)
			}
		})
	})
}

func TestCookie(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{cfg: Config{CookieThreshold: -1}})
		b.e.Call(func() { b.e.cfg.CookieThreshold = 1; b.e.nHalf = 5 })
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-up")
		var st Stats
		b.e.Call(func() { st = b.e.Stats() })
		if st.CookiesSent != 1 {
			t.Errorf("cookies sent = %d, want 1", st.CookiesSent)
		}
	})
}

func TestNoProposalChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := newPair(t, pairOpts{ikeA: "aes128gcm16-prfsha256-x25519", ikeB: "aes256-sha512-modp2048"})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "ike-down")
	})
}

func TestChildRekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := newPair(t, pairOpts{})
				a.e.Do(func() { a.e.Initiate(a.t) })
				a.wait(t, "child-up")
				b.wait(t, "child-up")
				in0, out0 := checkChildPair(t, a, b)
				r := a
				if who == "responder" {
					r = b
				}
				r.e.Do(func() { r.e.RekeyChild(r.t.Child, nil) })
				a.wait(t, "child-down")
				b.wait(t, "child-down")
				in1, out1 := checkChildPair(t, a, b)
				// The old inbound SA outlives the rekey by RekeyGrace (fake time).
				if _, ok := a.dp.sa(in0, dataplane.In); !ok {
					t.Errorf("old inbound SA removed without grace")
				}
				time.Sleep(RekeyGrace + time.Millisecond)
				synctest.Wait()
				if in0 == in1 || out0 == out1 {
					t.Fatalf("SPIs unchanged after rekey")
				}
				if _, ok := a.dp.sa(in0, dataplane.In); ok {
					t.Errorf("old inbound SA still installed")
				}
				if n := a.dp.count(); n != 2 {
					t.Errorf("a has %d SAs installed, want 2", n)
				}
			})
		})
	}
}

func TestChildRekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		// Both rekey at once: both requests are on the wire before either arrives.
		fn.hold(true)
		a.e.Call(func() { a.e.RekeyChild(a.t.Child, nil) })
		b.e.Call(func() { b.e.RekeyChild(b.t.Child, nil) })
		fn.hold(false)
		synctest.Wait()
		time.Sleep(RekeyGrace + time.Millisecond)
		synctest.Wait()
		var ca, cb int
		a.e.Call(func() { ca = len(a.t.IKE.children) })
		b.e.Call(func() { cb = len(b.t.IKE.children) })
		if ca != 1 || cb != 1 {
			t.Fatalf("children after collision: a %d, b %d", ca, cb)
		}
		if a.dp.count() != 2 || b.dp.count() != 2 {
			t.Fatalf("after collision a has %d SAs, b has %d", a.dp.count(), b.dp.count())
		}
		checkChildPair(t, a, b)
	})
}

func TestIKERekeyBothSides(t *testing.T) {
	for _, who := range []string{"initiator", "responder"} {
		t.Run(who, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := newPair(t, pairOpts{})
				a.e.Do(func() { a.e.Initiate(a.t) })
				a.wait(t, "child-up")
				b.wait(t, "child-up")
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
				var now string
				a.e.Call(func() { now = a.t.IKE.String() })
				if now == old {
					t.Fatalf("IKE SA unchanged")
				}
				in1, _ := checkChildPair(t, a, b)
				if in0 != in1 {
					t.Errorf("child changed during IKE rekey")
				}
				// The new IKE SA works: rekey the child over it.
				a.e.Do(func() { a.e.RekeyChild(a.t.Child, nil) })
				a.wait(t, "child-rekeyed")
				b.e.Call(func() {
					if len(b.e.ikeSAs) != 1 {
						t.Errorf("b has %d IKE SAs", len(b.e.ikeSAs))
					}
				})
			})
		})
	}
}

func TestDeleteChildAndIKE(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		b.e.Do(func() { b.e.DeleteChild(b.t.Child, true, nil) })
		a.wait(t, "child-down")
		b.wait(t, "child-down")
		if a.dp.count() != 0 || b.dp.count() != 0 {
			t.Fatalf("SAs left after Delete: %d %d", a.dp.count(), b.dp.count())
		}
		if p := a.dp.policy("t"); p.OutChild != 0 {
			t.Errorf("policy still points at child %d", p.OutChild)
		}
		a.e.Do(func() { a.e.CreateChild(a.t, nil) })
		a.wait(t, "child-up")
		checkChildPair(t, a, b)
		a.e.Do(func() { a.e.DeleteIKE(a.t.IKE, true) })
		b.wait(t, "ike-down")
		a.wait(t, "ike-down")
		if a.dp.count() != 0 || b.dp.count() != 0 {
			t.Fatalf("SAs left after IKE Delete")
		}
	})
}

func TestInvalidSPINotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		_, out := checkChildPair(t, a, b)
		b.e.Do(func() { b.e.SendInvalidSPI(b.t.IKE, out) })
		a.wait(t, "invalid-spi:"+hex8(out))
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
		a, b, fn := newPair(t, pairOpts{cfg: Config{RetransmitTimeout: 10e6, RetransmitTries: 2}})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		fn.mu.Lock()
		fn.drop = func(from, to netipAddrPort, msg []byte) bool { return true }
		fn.mu.Unlock()
		errc := make(chan error, 1)
		a.e.Do(func() { a.e.Liveness(a.t.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("liveness: %v", err)
		}
		a.e.Call(func() {
			if a.t.IKE != nil {
				t.Errorf("IKE SA survived a failed liveness check")
			}
		})
	})
}

func TestIKERekeyCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		in0, _ := checkChildPair(t, a, b)
		fn.hold(true)
		a.e.Call(func() { a.e.RekeyIKE(a.t.IKE) })
		b.e.Call(func() { b.e.RekeyIKE(b.t.IKE) })
		fn.hold(false)
		synctest.Wait()
		time.Sleep(20 * time.Second) // let every Delete and retransmission finish (fake time)
		synctest.Wait()
		var na, nb int
		var sa, sb string
		a.e.Call(func() { na = len(a.e.ikeSAs); sa = a.t.IKE.String() })
		b.e.Call(func() { nb = len(b.e.ikeSAs); sb = b.t.IKE.String() })
		if na != 1 || nb != 1 || sa != sb {
			t.Fatalf("after IKE rekey collision: a has %d IKE SAs (%s), b has %d (%s)", na, sa, nb, sb)
		}
		in1, _ := checkChildPair(t, a, b)
		if in1 != in0 {
			t.Errorf("child changed")
		}
		// The surviving IKE SA works.
		a.e.Do(func() { a.e.RekeyChild(a.t.Child, nil) })
		a.wait(t, "child-rekeyed")
	})
}

// TestRetransmitAndResponseCache: a lost response makes the initiator retransmit with back-off;
// the responder answers the retransmission from its cache without processing it twice.
func TestRetransmitAndResponseCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		dropped := 0
		fn.mu.Lock()
		fn.drop = func(from, to netipAddrPort, msg []byte) bool {
			// Drop B's first two responses to A's next request.
			if from.Addr() == b.dp.addr && dropped < 2 && msg[19]&0x20 != 0 {
				dropped++
				return true
			}
			return false
		}
		fn.mu.Unlock()
		start := time.Now()
		errc := make(chan error, 1)
		a.e.Do(func() { a.e.Liveness(a.t.IKE, func(err error) { errc <- err }) })
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		// 500 ms, then 900 ms: answered after the second retransmission.
		if took < 1400*time.Millisecond || took > 1500*time.Millisecond {
			t.Errorf("answered after %v, want 1.4 s of back-off", took)
		}
		var sa, sb Stats
		a.e.Call(func() { sa = a.e.Stats() })
		b.e.Call(func() { sb = b.e.Stats() })
		if sa.Retransmits != 2 || sb.ResponsesResent != 2 {
			t.Errorf("retransmits %d, responses resent %d; want 2 and 2", sa.Retransmits, sb.ResponsesResent)
		}
	})
}

// kaDP is a fakeDP that records NAT keepalives.
type kaDP struct {
	*fakeDP
	n chan netipAddrPort
}

func (d kaDP) SendKeepalive(local, remote netipAddrPort) error {
	d.n <- remote
	return nil
}

func TestNATKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, _ := newPair(t, pairOpts{})
		ka := kaDP{fakeDP: a.dp, n: make(chan netipAddrPort, 10)}
		a.e.Call(func() { a.e.dp = ka })
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		// Not behind a NAT: no keepalives.
		time.Sleep(keepaliveInterval + time.Second)
		synctest.Wait()
		if len(ka.n) != 0 {
			t.Fatalf("keepalive sent without NAT")
		}
		a.e.Call(func() { a.t.IKE.NATLocal = true; a.e.ScheduleKeepalive(a.t.IKE) })
		time.Sleep(2*keepaliveInterval + time.Second)
		synctest.Wait()
		if len(ka.n) != 2 {
			t.Fatalf("%d keepalives in two intervals, want 2", len(ka.n))
		}
	})
}

// TestSimultaneousInitiation: both sides initiate at the same moment (start_action start on
// both); their IKE_AUTH exchanges cross. They must end with the same single IKE SA and a
// working Child SA pair.
func TestSimultaneousInitiation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		fn.hold(true)
		a.e.Call(func() { a.e.Initiate(a.t) })
		b.e.Call(func() { b.e.Initiate(b.t) })
		fn.hold(false) // both IKE_SA_INIT requests cross
		synctest.Wait()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		var na, nb int
		var sa, sb string
		a.e.Call(func() { na = len(a.e.ikeSAs); sa = a.t.IKE.String() })
		b.e.Call(func() { nb = len(b.e.ikeSAs); sb = b.t.IKE.String() })
		if na != 1 || nb != 1 || sa != sb {
			t.Fatalf("a has %d IKE SAs (%s), b has %d (%s)", na, sa, nb, sb)
		}
		checkChildPair(t, a, b)
	})
}

// TestPeerInitiatesWhileOurInitIsUnanswered: B starts first and its IKE_SA_INIT gets no answer
// (A is not up yet); then A initiates. B drops its own half-done SA for A's.
func TestPeerInitiatesWhileOurInitIsUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := newPair(t, pairOpts{})
		fn.mu.Lock()
		fn.drop = func(from, to netipAddrPort, msg []byte) bool { return to.Addr() == a.dp.addr }
		fn.mu.Unlock()
		b.e.Call(func() { b.e.Initiate(b.t) })
		time.Sleep(100 * time.Millisecond)
		fn.mu.Lock()
		fn.drop = nil
		fn.mu.Unlock()
		a.e.Call(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		time.Sleep(30 * time.Second)
		synctest.Wait()
		var na, nb int
		a.e.Call(func() { na = len(a.e.ikeSAs) })
		b.e.Call(func() { nb = len(b.e.ikeSAs) })
		if na != 1 || nb != 1 {
			t.Fatalf("a has %d IKE SAs, b has %d", na, nb)
		}
		checkChildPair(t, a, b)
	})
}

package gateway

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestV1RekeyDeletesOldSALater: after our ISAKMP SA rekey (a new Main Mode), the Child SA
// moves to the new SA at once, but the old ISAKMP SA is deleted (with a Delete notify) only
// after v1DeleteRekeyedDelay: strongSwan adopts its IPsec SAs to the new ISAKMP SA in a job of
// its own, and an earlier Delete of the old SA took them down with it. The Child SA survives
// the delete at both ends. Each Main Mode A initiated is timed as one exchange.
func TestV1RekeyDeletesOldSALater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := startLink(t, 1, linkConf{})
		in, out := l.agree()
		if err := l.a.RekeyIKESA("ab"); err != nil {
			t.Fatal(err)
		}
		// The new Main Mode and the move take a few round trips; the delete waits 2 s.
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if s := l.a.Status(); s.IKESAs != 2 || s.ChildSAs != 1 {
			t.Errorf("0.5 s after the rekey, A has %d IKE SAs, %d Child SAs; want the old and the new, and the Child SA", s.IKESAs, s.ChildSAs)
		}
		// B, the responder, adopts the children and forgets its old SA (as strongSwan does).
		if s := l.b.Status(); s.IKESAs != 1 || s.ChildSAs != 1 {
			t.Errorf("0.5 s after the rekey, B has %d IKE SAs, %d Child SAs; want 1 and 1", s.IKESAs, s.ChildSAs)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, g := range []*testGateway{l.a, l.b} {
			if s := g.Status(); s.IKESAs != 1 || s.ChildSAs != 1 || s.TunnelsUp != 1 {
				t.Errorf("2.5 s after the rekey: %d IKE SAs, %d Child SAs, %d up; want 1, 1, 1", s.IKESAs, s.ChildSAs, s.TunnelsUp)
			}
		}
		// Both Main Modes A initiated are in vigil_ike_exchange_seconds; B initiated none.
		if n := metric(t, l.a, "vigil_ike_exchange_seconds", "exchange", "MAIN_MODE"); n != 2 {
			t.Errorf("A observed %v Main Modes, want 2", n)
		}
		if n := metric(t, l.b, "vigil_ike_exchange_seconds", "exchange", "MAIN_MODE"); n != 0 {
			t.Errorf("B observed %v Main Modes, want none", n)
		}
		if in2, out2 := l.agree(); in2 != in || out2 != out {
			t.Errorf("Child SA changed with the ISAKMP SA rekey: %08x/%08x -> %08x/%08x", in, out, in2, out2)
		}
	})
}

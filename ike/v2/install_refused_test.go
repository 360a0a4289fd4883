package v2

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

// TestRefusedInstallKeepsChild: when the dataplane refuses a new Child SA (for example because
// the peer chose an outbound SPI that clashes with another peer's, dataplane.ErrExists), the
// responder answers with an error notify and the existing Child SA, its SAs and the policy
// stay as they were on both sides.
func TestRefusedInstallKeepsChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		a.E.Do(func() { a.E.Initiate(a.T) })
		a.Wait(t, "child-up")
		b.Wait(t, "child-up")
		in0, out0 := iketest.CheckChildPair(t, a, b)
		var ca0, cb0 *ike.ChildSA
		a.E.Call(func() { ca0 = a.T.Child })
		b.E.Call(func() { cb0 = b.T.Child })

		refused := 0
		b.DP.SetAddErr(func(c dataplane.SAConfig) error {
			if c.Dir == dataplane.Out {
				refused++
				return dataplane.ErrExists
			}
			return nil
		})

		errc := make(chan error, 1)
		a.E.Do(func() { a.E.RekeyChild(a.T.Child, func(_ *ike.ChildSA, err error) { errc <- err }) })
		err := <-errc
		if !errors.Is(err, ike.ErrTemporaryFailure) && !errors.Is(err, ike.ErrNoProposalChosen) {
			t.Fatalf("rekey answered %v, want an error notify", err)
		}
		synctest.Wait()
		if refused != 1 {
			t.Fatalf("%d outbound installs refused, want 1", refused)
		}
		in1, out1 := iketest.CheckChildPair(t, a, b)
		if in1 != in0 || out1 != out0 {
			t.Fatalf("SPIs changed: %08x/%08x -> %08x/%08x", in0, out0, in1, out1)
		}
		var ca1, cb1 *ike.ChildSA
		a.E.Call(func() { ca1 = a.T.Child })
		b.E.Call(func() { cb1 = b.T.Child })
		if ca1 != ca0 || cb1 != cb0 || ca1.State != ike.ChildInstalled || cb1.State != ike.ChildInstalled {
			t.Fatalf("children changed: a %p->%p b %p->%p", ca0, ca1, cb0, cb1)
		}
		if p := b.DP.Policy("t"); p.OutChild != cb0.ID {
			t.Fatalf("b's policy points at child %d, want %d", p.OutChild, cb0.ID)
		}
		for _, n := range []*iketest.Node{a, b} {
			if c := n.DP.Count(); c != 2 {
				t.Errorf("%d SAs installed, want 2 (the refused install's inbound half is removed)", c)
			}
		}
		b.E.Call(func() {
			if b.E.ChildByID(cb0.ID) != cb0 || b.E.ChildByInSPI(cb0.SPIIn) != cb0 {
				t.Error("b's indexes lost the child")
			}
		})
	})
}

// TestInitiatorRefusedInstallDeletesPeerHalf: when our own dataplane refuses the Child SA the
// peer has just installed for our CREATE_CHILD_SA, we tell the peer to delete it, so neither
// side keeps a half nobody uses.
func TestInitiatorRefusedInstallDeletesPeerHalf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := iketest.NewPair(t, iketest.PairOpts{Protocols: protos})
		iketest.Up(t, a, b)
		a.DP.SetAddErr(func(c dataplane.SAConfig) error { return dataplane.ErrExists })
		errc := make(chan error, 1)
		a.E.Do(func() { a.E.CreateChild(a.T, func(_ *ike.ChildSA, err error) { errc <- err }) })
		if err := <-errc; err == nil {
			t.Fatal("CreateChild succeeded with a refusing dataplane")
		}
		synctest.Wait()
		if c := b.DP.Count(); c != 2 {
			t.Errorf("b holds %d SAs, want 2 (its half of the refused Child SA deleted)", c)
		}
	})
}

package ike

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// TestRefusedInstallKeepsChild: when the dataplane refuses a new Child SA (for example because
// the peer chose an outbound SPI that clashes with another peer's, dataplane.ErrExists), the
// responder answers with an error notify and the existing Child SA, its SAs and the policy
// stay as they were on both sides.
func TestRefusedInstallKeepsChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := newPair(t, pairOpts{})
		a.e.Do(func() { a.e.Initiate(a.t) })
		a.wait(t, "child-up")
		b.wait(t, "child-up")
		in0, out0 := checkChildPair(t, a, b)
		var ca0, cb0 *ChildSA
		a.e.Call(func() { ca0 = a.t.Child })
		b.e.Call(func() { cb0 = b.t.Child })

		refused := 0
		b.dp.mu.Lock()
		b.dp.addErr = func(c dataplane.SAConfig) error {
			if c.Dir == dataplane.Out {
				refused++
				return dataplane.ErrExists
			}
			return nil
		}
		b.dp.mu.Unlock()

		errc := make(chan error, 1)
		a.e.Do(func() { a.e.RekeyChild(a.t.Child, func(_ *ChildSA, err error) { errc <- err }) })
		err := <-errc
		if !errors.Is(err, ErrTemporaryFailure) && !errors.Is(err, ErrNoProposalChosen) {
			t.Fatalf("rekey answered %v, want an error notify", err)
		}
		synctest.Wait()
		if refused != 1 {
			t.Fatalf("%d outbound installs refused, want 1", refused)
		}
		in1, out1 := checkChildPair(t, a, b)
		if in1 != in0 || out1 != out0 {
			t.Fatalf("SPIs changed: %08x/%08x -> %08x/%08x", in0, out0, in1, out1)
		}
		var ca1, cb1 *ChildSA
		a.e.Call(func() { ca1 = a.t.Child })
		b.e.Call(func() { cb1 = b.t.Child })
		if ca1 != ca0 || cb1 != cb0 || ca1.State != ChildInstalled || cb1.State != ChildInstalled {
			t.Fatalf("children changed: a %p->%p b %p->%p", ca0, ca1, cb0, cb1)
		}
		if p := b.dp.policy("t"); p.OutChild != cb0.ID {
			t.Fatalf("b's policy points at child %d, want %d", p.OutChild, cb0.ID)
		}
		for _, n := range []*node{a, b} {
			if c := n.dp.count(); c != 2 {
				t.Errorf("%d SAs installed, want 2 (the refused install's inbound half is removed)", c)
			}
		}
		b.e.Call(func() {
			if b.e.ChildByID(cb0.ID) != cb0 || b.e.ChildByInSPI(cb0.SPIIn) != cb0 {
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
		a, b, _ := newPair(t, pairOpts{})
		upPair(t, a, b)
		a.dp.mu.Lock()
		a.dp.addErr = func(c dataplane.SAConfig) error { return dataplane.ErrExists }
		a.dp.mu.Unlock()
		errc := make(chan error, 1)
		a.e.Do(func() { a.e.CreateChild(a.t, func(_ *ChildSA, err error) { errc <- err }) })
		if err := <-errc; err == nil {
			t.Fatal("CreateChild succeeded with a refusing dataplane")
		}
		synctest.Wait()
		if c := b.dp.count(); c != 2 {
			t.Errorf("b holds %d SAs, want 2 (its half of the refused Child SA deleted)", c)
		}
	})
}

package ike_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
)

// counts reads n's totals on its loop.
func counts(n *iketest.Node) (c ike.Counts) {
	n.E.Call(func() { c = n.E.Counts() })
	return c
}

// wantCounts checks the totals of a node against the expected tunnels up, established IKE
// SAs and installed Child SAs, with no SA in any other state, and against a recount.
func wantCounts(t *testing.T, step string, n *iketest.Node, tunnels, up, ikeUp, installed int) {
	t.Helper()
	var want ike.Counts
	want.Tunnels, want.TunnelsUp = tunnels, up
	want.IKE[ike.IKEEstablished], want.Child[ike.ChildInstalled] = ikeUp, installed
	if got := counts(n); got != want {
		t.Errorf("%s: counts %+v, want %+v", step, got, want)
	}
	iketest.CheckCounts(t, n.E)
}

// settle lets every exchange and grace period in progress end (fake time).
func settle() {
	synctest.Wait()
	time.Sleep(ike.RekeyGrace + time.Second)
	synctest.Wait()
}

// TestCountsFollowLifecycle takes a tunnel through set-up, Child SA and IKE SA rekeys, deletes
// and its removal, and checks the engine's totals (what vigil status and the metrics report)
// at every step on both ends, in flight too; the harness compares them with a recount after
// every event besides.
func TestCountsFollowLifecycle(t *testing.T) {
	eachVersion(t, func(t *testing.T, v int) {
		synctest.Test(t, func(t *testing.T) {
			a, b, fn := pair(t, v, ike.Config{})
			wantCounts(t, "configured", a, 1, 0, 0, 0)
			iketest.Up(t, a, b)
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "up", n, 1, 1, 1, 1)
			}

			fn.Hold(true)
			a.E.Call(func() { a.E.RekeyChild(a.T.Child, nil) })
			if c := counts(a); c.Child[ike.ChildRekeying] != 1 || c.Child[ike.ChildInstalled] != 0 || c.TunnelsUp != 1 {
				t.Errorf("Child SA rekey in flight: counts %+v, want one rekeying Child SA, tunnel up", c)
			}
			fn.Hold(false)
			settle()
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "Child SA rekeyed", n, 1, 1, 1, 1)
			}

			a.E.Call(func() { a.E.RekeyIKE(a.T.IKE) })
			settle()
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "IKE SA rekeyed", n, 1, 1, 1, 1)
			}

			a.E.Call(func() { a.E.DeleteChild(a.T.Child, true, nil) })
			settle()
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "Child SA deleted", n, 1, 0, 1, 0)
			}

			a.E.Call(func() { a.E.CreateChild(a.T, nil) })
			settle()
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "Child SA created", n, 1, 1, 1, 1)
			}

			a.E.Call(func() { a.E.DeleteIKE(a.T.IKE, true) })
			settle()
			for _, n := range []*iketest.Node{a, b} {
				wantCounts(t, "IKE SA deleted", n, 1, 0, 0, 0)
			}

			// Removed while up: the tunnel goes from the totals at once, its SAs when their
			// Delete is answered.
			a.E.Call(func() { a.E.Initiate(a.T) })
			settle()
			wantCounts(t, "up again", a, 1, 1, 1, 1)
			a.E.Call(func() { a.E.RemoveTunnel("t", true) })
			if c := counts(a); c.Tunnels != 0 || c.TunnelsUp != 0 {
				t.Errorf("tunnel removed: counts %+v, want no tunnels", c)
			}
			settle()
			wantCounts(t, "tunnel removed", a, 0, 0, 0, 0)
			wantCounts(t, "peer's tunnel deleted", b, 1, 0, 0, 0)
		})
	})
}

package ike

import (
	"testing"
	"testing/synctest"
)

// TestBothSidesCreateChild: both sides create a new Child SA for the tunnel at once (the peer
// replacing one we lost while we heal it ourselves). One pair remains, the same on both sides.
func TestBothSidesCreateChild(t *testing.T) {
	for _, v := range []int{2, 1} {
		t.Run(map[int]string{1: "ikev1", 2: "ikev2"}[v], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, fn := newPair(t, pairOpts{version: v})
				upPair(t, a, b)
				// Both lose the pair, then both create a new one; the requests cross.
				for _, n := range []*node{a, b} {
					n.e.Call(func() { n.e.RemoveChild(n.t.Child, ErrDeleted) })
				}
				fn.hold(true)
				a.e.Call(func() { a.e.CreateChild(a.t, nil) })
				b.e.Call(func() { b.e.CreateChild(b.t, nil) })
				fn.hold(false)
				synctest.Wait()
				count := func(n *node) (k int) {
					n.e.Call(func() {
						for _, c := range n.t.IKE.children {
							if c.State == ChildInstalled {
								k++
							}
						}
					})
					return k
				}
				if ca, cb := count(a), count(b); ca != 1 || cb != 1 {
					t.Fatalf("installed Child SAs: a %d, b %d; want one pair", ca, cb)
				}
				checkChildPair(t, a, b)
			})
		})
	}
}

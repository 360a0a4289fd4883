package ike_test

// Core behaviour with both IKE versions: these tests run the real protocols (ike/v1 and the
// built-in IKEv2) through the in-memory harness.

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ike/iketest"
	v1 "github.com/vigil-ipsec/vigil/ike/v1"
	v2 "github.com/vigil-ipsec/vigil/ike/v2"
)

var protos = []func(*ike.Engine) ike.Protocol{v1.New, v2.New}

func pair(t *testing.T, version int, cfg ike.Config) (*iketest.Node, *iketest.Node, *iketest.Net) {
	return iketest.NewPair(t, iketest.PairOpts{Version: version, Cfg: cfg, Protocols: protos})
}

func eachVersion(t *testing.T, f func(t *testing.T, version int)) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("ikev%d", v), func(t *testing.T) { f(t, v) })
	}
}

func unknownSPI(spi uint32, src string) dataplane.Event {
	return dataplane.Event{Kind: dataplane.EventUnknownSPI, SPI: spi,
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), 0), Dst: netip.MustParseAddrPort("192.0.2.1:0")}
}

// TestBothSidesCreateChild: both sides create a new Child SA for the tunnel at once (the peer
// replacing one we lost while we heal it ourselves). One pair remains, the same on both sides.
func TestBothSidesCreateChild(t *testing.T) {
	eachVersion(t, func(t *testing.T, v int) {
		synctest.Test(t, func(t *testing.T) {
			a, b, fn := pair(t, v, ike.Config{})
			iketest.Up(t, a, b)
			// Both lose the pair, then both create a new one; the requests cross.
			for _, n := range []*iketest.Node{a, b} {
				n.E.Call(func() { n.E.RemoveChild(n.T.Child, ike.ErrDeleted) })
			}
			fn.Hold(true)
			a.E.Call(func() { a.E.CreateChild(a.T, nil) })
			b.E.Call(func() { b.E.CreateChild(b.T, nil) })
			fn.Hold(false)
			synctest.Wait()
			count := func(n *iketest.Node) (k int) {
				n.E.Call(func() {
					for _, c := range n.T.IKE.Children() {
						if c.State == ike.ChildInstalled {
							k++
						}
					}
				})
				return k
			}
			if ca, cb := count(a), count(b); ca != 1 || cb != 1 {
				t.Fatalf("installed Child SAs: a %d, b %d; want one pair", ca, cb)
			}
			iketest.CheckChildPair(t, a, b)
		})
	})
}

// TestUnknownSPIAnsweredInIKESA: ESP from a peer on an SPI we do not know is answered by the
// engine itself with a protected INVALID_SPI in the IKE SA with that peer, which resolves it
// to its own Child SA; the hooks learn that it was answered.
func TestUnknownSPIAnsweredInIKESA(t *testing.T) {
	eachVersion(t, func(t *testing.T, v int) {
		a, b, _ := pair(t, v, ike.Config{})
		_, bOut := iketest.Up(t, a, b)
		a.DP.Emit(unknownSPI(bOut, "192.0.2.2"))
		a.Wait(t, fmt.Sprintf("unknown-spi:%08x:ike=true:answered=true", bOut))
		b.Wait(t, fmt.Sprintf("invalid-spi-own:%08x", bOut))
	})
}

// TestQuietOnUnknownSPI: per_peer_rate = 0 sends nothing, but the hooks still learn about the
// packet (healing needs it).
func TestQuietOnUnknownSPI(t *testing.T) {
	eachVersion(t, func(t *testing.T, v int) {
		a, b, _ := pair(t, v, ike.Config{QuietOnUnknownSPI: true})
		_, bOut := iketest.Up(t, a, b)
		a.DP.Emit(unknownSPI(bOut, "192.0.2.2"))
		a.Wait(t, fmt.Sprintf("unknown-spi:%08x:ike=true:answered=false", bOut))
		// A liveness check goes out after anything sent before it: once it is answered, an
		// INVALID_SPI sent first would have arrived.
		done := make(chan error, 1)
		a.E.Do(func() { a.E.Liveness(a.T.IKE, func(err error) { done <- err }) })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		b.E.Call(func() {})
		for _, ev := range b.Drain() {
			if strings.HasPrefix(ev, "invalid-spi") {
				t.Fatalf("peer got %s although per_peer_rate = 0", ev)
			}
		}
	})
}

// TestUnprotectedInvalidSPIRate: without an IKE SA with the sender, nothing is sent unless
// configured, and then at most UnprotectedInvalidSPIRate notifies a second.
func TestUnprotectedInvalidSPIRate(t *testing.T) {
	for _, rate := range []float64{0, 2} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dp := iketest.NewNet().NewDP(netip.MustParseAddr("192.0.2.1"))
				h := iketest.NewHooks()
				e := ike.New(ike.Config{UnprotectedInvalidSPIRate: rate}, dp, h, nil, protos...)
				dp.Attach(e)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go e.Run(ctx)
				answered := 0
				for i := range 10 {
					dp.Emit(unknownSPI(uint32(0x1000+i), "198.51.100.9"))
					if got := <-h.Ev; strings.HasSuffix(got, "answered=true") {
						answered++
					}
				}
				if want := int(rate); answered != want || dp.Sent() != want {
					t.Errorf("%d events answered, %d sent, want %d (a burst of the rate)", answered, dp.Sent(), want)
				}
				time.Sleep(time.Second) // the fake clock: the bucket refills
				dp.Emit(unknownSPI(0x2000, "198.51.100.9"))
				if got := <-h.Ev; strings.HasSuffix(got, "answered=true") != (rate > 0) {
					t.Errorf("after a second: %s", got)
				}
			})
		})
	}
}

// TestReplaceChild: the new Child SA comes first, then the dead one goes; traffic moves to a
// pair with new SPIs on both sides.
func TestReplaceChild(t *testing.T) {
	eachVersion(t, func(t *testing.T, v int) {
		a, b, _ := pair(t, v, ike.Config{})
		iketest.Up(t, a, b)
		oldIn, oldOut := iketest.CheckChildPair(t, a, b)
		a.Drain()
		fellBack := make(chan error, 1)
		a.E.Do(func() {
			a.E.ReplaceChild(a.T.Child, 5*time.Second, func(why error) bool { fellBack <- why; return true })
		})
		a.Wait(t, "child-down")
		in, out := a.ChildSPIs()
		for in == oldIn || in == 0 {
			a.Wait(t, "child-up")
			in, out = a.ChildSPIs()
		}
		b.E.Call(func() {})
		gotIn, gotOut := iketest.CheckChildPair(t, a, b)
		if gotIn != in || gotOut != out || out == oldOut {
			t.Fatalf("after replacement in=%08x out=%08x (was %08x/%08x)", gotIn, gotOut, oldIn, oldOut)
		}
		if _, ok := a.DP.SA(oldIn, dataplane.In); ok {
			t.Errorf("the replaced inbound SA %08x is still installed", oldIn)
		}
		select {
		case why := <-fellBack:
			t.Errorf("fell back to a new IKE SA: %v", why)
		default:
		}
	})
}

// TestReplaceChildFallsBack: when the peer does not answer the new Child SA in time, the
// fallback is asked and the IKE SA replaced; a fallback that says no leaves everything alone.
func TestReplaceChildFallsBack(t *testing.T) {
	for _, agree := range []bool{true, false} {
		t.Run(fmt.Sprint(agree), func(t *testing.T) {
			a, b, fn := pair(t, 2, ike.Config{})
			iketest.Up(t, a, b)
			var oldIKE *ike.IKESA
			a.E.Call(func() { oldIKE = a.T.IKE })
			fn.Hold(true)
			fellBack := make(chan error, 1)
			a.E.Do(func() {
				a.E.ReplaceChild(a.T.Child, 200*time.Millisecond, func(why error) bool { fellBack <- why; return agree })
			})
			why := <-fellBack
			if !strings.Contains(why.Error(), "not answered") {
				t.Errorf("fallback reason %q", why)
			}
			var cur *ike.IKESA
			a.E.Call(func() { cur = a.T.IKE })
			if agree == (cur == oldIKE) {
				t.Fatalf("fallback said %v, but the IKE SA is %p (was %p)", agree, cur, oldIKE)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	e := ike.New(ike.Config{}, nil, nil, nil, protos...)
	h := func(ver, next, exch, flags byte) []byte {
		b := make([]byte, 28)
		b[16], b[17], b[18], b[19] = next, ver<<4, exch, flags
		return b
	}
	for _, c := range []struct {
		msg  []byte
		want ike.MsgClass
	}{
		{h(2, 41, 37, 0), ike.ClassOther},     // IKEv2 INFORMATIONAL, N first
		{h(2, 46, 37, 0), ike.ClassProtected}, // IKEv2 INFORMATIONAL, SK
		{h(2, 53, 35, 0), ike.ClassProtected}, // IKE_AUTH, SKF
		{h(2, 41, 36, 0), ike.ClassOther},     // CREATE_CHILD_SA without SK
		{h(2, 41, 43, 0), ike.ClassOther},     // an unknown exchange type
		{h(2, 33, 34, 0), ike.ClassSetup},     // IKE_SA_INIT
		{h(1, 11, 5, 0), ike.ClassOther},      // ISAKMP Informational, clear
		{h(1, 8, 5, 1), ike.ClassProtected},   // ISAKMP Informational, encrypted
		{h(1, 1, 2, 0), ike.ClassSetup},       // Main Mode
		{h(1, 1, 4, 0), ike.ClassOther},       // Aggressive Mode
		{h(1, 8, 32, 0), ike.ClassOther},      // Quick Mode without encryption
		{[]byte{1, 2, 3}, ike.ClassOther},     // short
	} {
		if got := e.Classify(c.msg); got != c.want {
			t.Errorf("%x: %v, want %v", c.msg[16:20:20], got, c.want)
		}
	}
}

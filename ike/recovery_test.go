package ike

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

func unknownSPIEvent(spi uint32, src string) dataplane.Event {
	return dataplane.Event{Kind: dataplane.EventUnknownSPI, SPI: spi,
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), 0), Dst: netip.MustParseAddrPort("192.0.2.1:0")}
}

// TestUnknownSPIAnsweredInIKESA: ESP from a peer on an SPI we do not know is answered by the
// engine itself with a protected INVALID_SPI in the IKE SA with that peer, which resolves it
// to its own Child SA; the hooks learn that it was answered.
func TestUnknownSPIAnsweredInIKESA(t *testing.T) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			a, b, _ := newPair(t, pairOpts{version: v})
			_, bOut := upPair(t, a, b)
			a.e.Do(func() { a.e.dataplaneEvent(unknownSPIEvent(bOut, "192.0.2.2")) })
			a.wait(t, fmt.Sprintf("unknown-spi:%08x:ike=true:answered=true", bOut))
			b.wait(t, fmt.Sprintf("invalid-spi-own:%08x", bOut))
		})
	}
}

// TestQuietOnUnknownSPI: per_peer_rate = 0 sends nothing, but the hooks still learn about the
// packet (healing needs it).
func TestQuietOnUnknownSPI(t *testing.T) {
	a, b, _ := newPair(t, pairOpts{cfg: Config{QuietOnUnknownSPI: true}})
	_, bOut := upPair(t, a, b)
	a.e.Do(func() { a.e.dataplaneEvent(unknownSPIEvent(bOut, "192.0.2.2")) })
	a.wait(t, fmt.Sprintf("unknown-spi:%08x:ike=true:answered=false", bOut))
	// A liveness check goes through the same request window: once it is answered, an
	// INVALID_SPI sent before it would have been processed.
	done := make(chan error, 1)
	a.e.Do(func() { a.e.Liveness(a.t.IKE, func(err error) { done <- err }) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, ev := range drain(b) {
		if strings.HasPrefix(ev, "invalid-spi") {
			t.Fatalf("peer got %s although per_peer_rate = 0", ev)
		}
	}
}

// TestUnprotectedInvalidSPIRate: without an IKE SA with the sender, nothing is sent unless
// configured, and then at most UnprotectedInvalidSPIRate notifies a second, in the IKE
// version the tunnels to that address speak.
func TestUnprotectedInvalidSPIRate(t *testing.T) {
	for _, rate := range []float64{0, 2} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn := &fakeNet{nodes: map[netip.Addr]*fakeDP{}}
				dp := &fakeDP{net: fn, addr: netip.MustParseAddr("192.0.2.1"), sas: map[dpKey]dataplane.SAConfig{}, policies: map[string]dataplane.Policy{}}
				h := &recHooks{ev: make(chan string, 256)}
				e := New(Config{UnprotectedInvalidSPIRate: rate}, dp, h, nil)
				answered := 0
				for i := range 10 {
					e.dataplaneEvent(unknownSPIEvent(uint32(0x1000+i), "198.51.100.9"))
					if got := <-h.ev; strings.HasSuffix(got, "answered=true") {
						answered++
					}
				}
				if want := int(rate); answered != want || dp.sent != want {
					t.Errorf("%d events answered, %d sent, want %d (a burst of the rate)", answered, dp.sent, want)
				}
				time.Sleep(time.Second) // the fake clock: the bucket refills
				e.dataplaneEvent(unknownSPIEvent(0x2000, "198.51.100.9"))
				if got := <-h.ev; strings.HasSuffix(got, "answered=true") != (rate > 0) {
					t.Errorf("after a second: %s", got)
				}
			})
		})
	}
}

// TestReplaceChild: the new Child SA comes first, then the dead one goes; traffic moves to a
// pair with new SPIs on both sides.
func TestReplaceChild(t *testing.T) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			a, b, _ := newPair(t, pairOpts{version: v})
			upPair(t, a, b)
			oldIn, oldOut := checkChildPair(t, a, b)
			drain(a)
			fellBack := make(chan error, 1)
			a.e.Do(func() {
				a.e.ReplaceChild(a.t.Child, 5*time.Second, func(why error) bool { fellBack <- why; return true })
			})
			a.wait(t, "child-down")
			in, out := childSPIs(a)
			for in == oldIn || in == 0 {
				a.wait(t, "child-up")
				in, out = childSPIs(a)
			}
			b.e.Call(func() {})
			gotIn, gotOut := checkChildPair(t, a, b)
			if gotIn != in || gotOut != out || out == oldOut {
				t.Fatalf("after replacement in=%08x out=%08x (was %08x/%08x)", gotIn, gotOut, oldIn, oldOut)
			}
			if _, ok := a.dp.sa(oldIn, dataplane.In); ok {
				t.Errorf("the replaced inbound SA %08x is still installed", oldIn)
			}
			select {
			case why := <-fellBack:
				t.Errorf("fell back to a new IKE SA: %v", why)
			default:
			}
		})
	}
}

// TestReplaceChildFallsBack: when the peer does not answer the new Child SA in time, the
// fallback is asked and the IKE SA replaced; a fallback that says no leaves everything alone.
func TestReplaceChildFallsBack(t *testing.T) {
	for _, agree := range []bool{true, false} {
		t.Run(fmt.Sprint(agree), func(t *testing.T) {
			a, b, fn := newPair(t, pairOpts{})
			upPair(t, a, b)
			var oldIKE *IKESA
			a.e.Call(func() { oldIKE = a.t.IKE })
			fn.hold(true)
			fellBack := make(chan error, 1)
			a.e.Do(func() {
				a.e.ReplaceChild(a.t.Child, 200*time.Millisecond, func(why error) bool { fellBack <- why; return agree })
			})
			why := <-fellBack
			if !strings.Contains(why.Error(), "not answered") {
				t.Errorf("fallback reason %q", why)
			}
			var cur *IKESA
			a.e.Call(func() { cur = a.t.IKE })
			if agree == (cur == oldIKE) {
				t.Fatalf("fallback said %v, but the IKE SA is %p (was %p)", agree, cur, oldIKE)
			}
		})
	}
}

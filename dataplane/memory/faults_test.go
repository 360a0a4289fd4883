package memory

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// ikeRecorder is an IKE handler that records what arrives and when.
type ikeRecorder struct {
	mu   sync.Mutex
	msgs []string
	at   []time.Time
}

func (r *ikeRecorder) handle(_, _ netip.AddrPort, msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(msg))
	r.at = append(r.at, time.Now())
}

func (r *ikeRecorder) got() ([]string, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...), append([]time.Time(nil), r.at...)
}

var ikeA, ikeB = netip.AddrPortFrom(addrA, 500), netip.AddrPortFrom(addrB, 500)

// TestOfflineCutsBothWays: an offline dataplane sends and receives nothing, IKE or ESP, keeps
// its SAs, and works again once back online.
func TestOfflineCutsBothWays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ra, rb ikeRecorder
		a, b := newPair(t, ra.handle, rb.handle)
		pair(t, a, b, 0x1000, 0x2000, nil)
		b.SetOffline(true)
		if !b.Offline() || a.Offline() {
			t.Fatal("Offline does not report SetOffline")
		}
		if err := a.SendInner(hostA, hostB, []byte("to b")); !errors.Is(err, sad.DropNoRoute) {
			t.Errorf("ESP to an offline peer: %v, want no-route", err)
		}
		if err := b.SendInner(hostB, hostA, []byte("from b")); !errors.Is(err, sad.DropNoRoute) {
			t.Errorf("ESP from an offline dataplane: %v, want no-route", err)
		}
		esp := make([]byte, 64)
		if err := b.InjectESP(netip.AddrPortFrom(addrA, 4500), netip.AddrPortFrom(addrB, 4500), esp); !errors.Is(err, sad.DropNoRoute) {
			t.Errorf("ESP injected into an offline dataplane: %v, want no-route", err)
		}
		must(t, a.SendIKE(ikeA, ikeB, []byte("to b")))
		must(t, b.SendIKE(ikeB, ikeA, []byte("from b")))
		synctest.Wait()
		if m, _ := rb.got(); len(m) != 0 {
			t.Errorf("offline dataplane received IKE %q", m)
		}
		if m, _ := ra.got(); len(m) != 0 {
			t.Errorf("offline dataplane sent IKE %q", m)
		}
		if c := a.Counters(); c.IKEDrops != 1 || c.NoRoute != 1 {
			t.Errorf("a's counters %+v, want 1 IKE drop and 1 no-route", c)
		}
		if c := b.Counters(); c.IKEDrops != 1 || c.NoRoute != 2 {
			t.Errorf("b's counters %+v, want 1 IKE drop and 2 no-route", c)
		}
		if n := len(b.SAs()); n != 2 {
			t.Errorf("offline dataplane has %d SAs, want its 2", n)
		}

		b.SetOffline(false)
		must(t, a.SendInner(hostA, hostB, []byte("again")))
		<-b.Received()
		must(t, b.SendIKE(ikeB, ikeA, []byte("back")))
		synctest.Wait()
		if m, _ := ra.got(); len(m) != 1 || m[0] != "back" {
			t.Errorf("after going online again a received %q", m)
		}
	})
}

// TestIKELatency: IKE messages arrive the set latency after they were sent, in order; ESP is
// not delayed; messages on their way to a dataplane that goes offline are lost.
func TestIKELatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rb ikeRecorder
		n := NewNetwork()
		a := n.Attach([]netip.Addr{addrA}, nil)
		b := n.Attach([]netip.Addr{addrB}, rb.handle)
		defer a.Close()
		defer b.Close()
		pair(t, a, b, 0x1000, 0x2000, nil)
		const lat = 10 * time.Millisecond
		n.SetIKELatency(lat)
		if n.IKELatency() != lat {
			t.Fatalf("IKELatency = %v", n.IKELatency())
		}
		start := time.Now()
		for i, m := range []string{"one", "two", "three"} {
			if i > 0 {
				time.Sleep(time.Millisecond)
			}
			must(t, a.SendIKE(ikeA, ikeB, []byte(m)))
		}
		must(t, a.SendInner(hostA, hostB, nil)) // ESP: delivered before the call returns
		if time.Since(start) != 2*time.Millisecond {
			t.Fatalf("ESP took %v of fake time", time.Since(start)-2*time.Millisecond)
		}
		time.Sleep(lat + 5*time.Millisecond)
		msgs, at := rb.got()
		if len(msgs) != 3 || msgs[0] != "one" || msgs[1] != "two" || msgs[2] != "three" {
			t.Fatalf("received %q", msgs)
		}
		for i, when := range at {
			if want := start.Add(lat + time.Duration(i)*time.Millisecond); !when.Equal(want) {
				t.Errorf("message %d arrived at +%v, want +%v", i, when.Sub(start), want.Sub(start))
			}
		}

		must(t, a.SendIKE(ikeA, ikeB, []byte("lost")))
		time.Sleep(lat / 2)
		b.SetOffline(true)
		time.Sleep(lat)
		if msgs, _ := rb.got(); len(msgs) != 3 {
			t.Errorf("a message on its way to an offline dataplane arrived: %q", msgs)
		}
		if c := b.Counters(); c.IKEDrops != 1 {
			t.Errorf("b's IKE drops = %d, want 1", c.IKEDrops)
		}
	})
}

// TestRestartOnSameAddress: the way a test restarts a peer. The old dataplane goes offline and
// a new one listens on its address: IKE and ESP reach the new one only, the old one's sends go
// nowhere, and closing the old one leaves the new one attached.
func TestRestartOnSameAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ra, rOld, rNew ikeRecorder
		n := NewNetwork()
		a := n.Attach([]netip.Addr{addrA}, ra.handle)
		old := n.Attach([]netip.Addr{addrB}, rOld.handle)
		defer a.Close()
		pair(t, a, old, 0x1000, 0x2000, nil)
		old.SetOffline(true)
		fresh := n.Attach([]netip.Addr{addrB}, rNew.handle)
		defer fresh.Close()

		must(t, a.SendIKE(ikeA, ikeB, []byte("hello")))
		must(t, old.SendIKE(ikeB, ikeA, []byte("ghost")))
		// a's ESP reaches the fresh dataplane, which has no SA for it.
		if err := a.SendInner(hostA, hostB, nil); !errors.Is(err, sad.DropUnknownSPI) {
			t.Errorf("ESP to the restarted peer: %v, want unknown-spi there", err)
		}
		must(t, old.Close())
		must(t, a.SendIKE(ikeA, ikeB, []byte("still there")))
		synctest.Wait()
		if m, _ := rNew.got(); len(m) != 2 || m[0] != "hello" || m[1] != "still there" {
			t.Errorf("restarted dataplane received %q", m)
		}
		if m, _ := rOld.got(); len(m) != 0 {
			t.Errorf("old dataplane received %q", m)
		}
		if m, _ := ra.got(); len(m) != 0 {
			t.Errorf("the old dataplane's message arrived: %q", m)
		}
		if ev := <-fresh.Events(); ev.Kind != dataplane.EventUnknownSPI || ev.SPI != 0x1000 {
			t.Errorf("event %+v, want unknown-spi 0x1000", ev)
		}
	})
}

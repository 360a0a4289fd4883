package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/internal/attacker"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// TestAttackHalfOpenBackoff: B goes away; A keeps re-initiating with its back-off (0, 250 ms,
// doubling up to 30 s; each attempt gives up after dpd_timeout, 2 s here). Meanwhile an
// attacker at B's address sends an IKE_SA_INIT every 500 ms: each leaves a half-open IKE SA
// on A that times out 30 s later. Those timeouts are not failures of A's tunnel and must not
// restart its back-off timer: once B is back (33 s after it went), A must bring the tunnel up
// within its normal back-off (at most 30 s plus one attempt), although the trickle goes on.
func TestAttackHalfOpenBackoff(t *testing.T) {
	r := newAtkRig(t, rigOpts{noProbes: true, mod: func(ta, tb *vigiltest.Tunnel) {
		ta.DPDDelay, ta.DPDTimeout = "1s", "2s"
	}})
	m := r.v2(r.topo.GwB, netip.AddrPortFrom(netns.GwBWAN, 5000), netip.AddrPortFrom(netns.GwAWAN, 500))
	stop := make(chan struct{})
	done := make(chan int)
	defer func() { close(stop); t.Logf("%d spoofed IKE_SA_INITs sent", <-done) }()
	r.b.Stop() // SIGTERM: B deletes its SAs; A starts reconnecting
	down := time.Now()
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			raw, _, _, err := m.InitRequest(attacker.RandomSPI64(), nil)
			if err == nil && m.T.Send(raw) == nil {
				n++
			}
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			for { // drain A's answers
				if _, err := m.T.Recv(time.Millisecond); err != nil {
					break
				}
			}
		}
	}()
	r.pause(time.Until(down.Add(33 * time.Second)))
	r.b.Restart()
	back := time.Now()
	ctx, cancel := context.WithTimeout(r.ctx, 35*time.Second)
	defer cancel()
	if _, err := r.a.WaitFor(ctx, "A's child", vigiltest.HasChild("site")); err != nil {
		t.Errorf("tunnel not up %v after the peer came back (30 s back-off cap + a 2 s attempt): %v", time.Since(back).Round(time.Second), err)
		return
	}
	t.Logf("tunnel up %v after the peer came back", time.Since(back).Round(100*time.Millisecond))
}

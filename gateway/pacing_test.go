package gateway

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/config"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
)

// TestPacedStart: a gateway starting 3 × maxInitiating tunnels to one peer never has more
// than maxInitiating of its IKE SAs in negotiation, so the peer (cookie threshold 500) never
// asks for a COOKIE, nothing is retransmitted, and every tunnel comes up.
func TestPacedStart(t *testing.T) {
	const n = 3 * maxInitiating
	cfgA, cfgB := scaleConfigs(t, n, false)
	synctest.Test(t, func(t *testing.T) {
		gwA, gwB, stop := runPair(t, cfgA, cfgB, n)
		defer stop()
		most := 0
		for range 600 { // bounded: 60 s of fake time
			synctest.Wait()
			gwA.callIfRunning(func() { most = max(most, len(gwA.pace.inflight)) })
			if gwA.Status().TunnelsUp == n && gwB.Status().TunnelsUp == n {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if up := gwA.Status().TunnelsUp; up != n {
			t.Errorf("%d of %d tunnels up", up, n)
		}
		if most > maxInitiating {
			t.Errorf("%d initiations in flight at once, want at most %d", most, maxInitiating)
		}
		var sa, sb uint64
		gwA.callIfRunning(func() { sa = gwA.engine.Stats().Retransmits })
		gwB.callIfRunning(func() { sb = gwB.engine.Stats().CookiesSent })
		if sa != 0 || sb != 0 {
			t.Errorf("A retransmitted %d requests, B sent %d COOKIEs; want none", sa, sb)
		}
	})
}

// TestMassStartReusesDH: tunnels set up within dh_reuse of each other share one
// Diffie-Hellman value per side (the engines make one and reuse it), and all come up; as the
// peer reuses its value too, each side computes one shared secret and remembers it for the
// other exchanges. With dh_reuse = "0s" every exchange makes its own value and secret.
func TestMassStartReusesDH(t *testing.T) {
	const n = 2 * maxInitiating
	for _, tc := range []struct {
		name                 string
		reuse                time.Duration
		made, reused         float64
		computed, remembered float64 // secrets of shared values
	}{{"1s", time.Second, 1, n - 1, 1, n - 1}, {"off", 0, n, 0, 0, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			cfgA, cfgB := scaleConfigs(t, n, false)
			cfgA.Global.DHReuse, cfgB.Global.DHReuse = tc.reuse, tc.reuse
			synctest.Test(t, func(t *testing.T) {
				gwA, gwB, stop := runPair(t, cfgA, cfgB, n)
				defer stop()
				for range 100 { // bounded; fake time stands still while they compute
					synctest.Wait()
					if gwA.Status().TunnelsUp == n && gwB.Status().TunnelsUp == n {
						break
					}
					time.Sleep(time.Millisecond)
				}
				if a, b := gwA.Status().TunnelsUp, gwB.Status().TunnelsUp; a != n || b != n {
					t.Errorf("%d and %d of %d tunnels up", a, b, n)
				}
				for _, g := range []*Gateway{gwA, gwB} {
					tg := &testGateway{Gateway: g}
					if made, reused := metric(t, tg, "vigil_ike_dh_values_total", "source", "made"), metric(t, tg, "vigil_ike_dh_values_total", "source", "reused"); made != tc.made || reused != tc.reused {
						t.Errorf("DH values made %v, reused %v; want %v and %v", made, reused, tc.made, tc.reused)
					}
					if c, r := metric(t, tg, "vigil_ike_dh_secrets_total", "source", "computed"), metric(t, tg, "vigil_ike_dh_secrets_total", "source", "remembered"); c != tc.computed || r != tc.remembered {
						t.Errorf("DH secrets computed %v, remembered %v; want %v and %v", c, r, tc.computed, tc.remembered)
					}
				}
			})
		})
	}
}

// runPair starts B, then A (n tunnels, IKE queues deep enough for all of them at once) on an
// in-memory network; stop ends both and waits for them.
func runPair(t *testing.T, cfgA, cfgB *config.Config, n int) (gwA, gwB *Gateway, stop func()) {
	t.Helper()
	gwA, gwB = newPair(t, cfgA, cfgB, n)
	ctx, cancel := context.WithCancel(context.Background())
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { gwB.Run(ctx); close(doneB) }()
	go func() { gwA.Run(ctx); close(doneA) }()
	return gwA, gwB, func() { cancel(); <-doneA; <-doneB }
}

// newPair builds gateways A and B (not started) on a new in-memory network whose IKE queues
// hold a message from each of n tunnels at once.
func newPair(tb testing.TB, cfgA, cfgB *config.Config, n int) (gwA, gwB *Gateway) {
	tb.Helper()
	net := memory.NewNetwork()
	open := func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return net.AttachWith(nil, h, memory.Options{IKEQueueLen: 2*n + memory.IKEQueueLen}), nil
	}
	gwB, err := New(cfgB, Options{OpenDataplane: open})
	if err != nil {
		tb.Fatal(err)
	}
	gwA, err = New(cfgA, Options{OpenDataplane: open})
	if err != nil {
		tb.Fatal(err)
	}
	return gwA, gwB
}

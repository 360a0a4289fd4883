package gateway

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

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
		net := memory.NewNetwork()
		open := func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
			return net.AttachWith(nil, h, memory.Options{IKEQueueLen: 2*n + memory.IKEQueueLen}), nil
		}
		gwB, err := New(cfgB, Options{OpenDataplane: open})
		if err != nil {
			t.Fatal(err)
		}
		gwA, err := New(cfgA, Options{OpenDataplane: open})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		doneA, doneB := make(chan struct{}), make(chan struct{})
		go func() { gwB.Run(ctx); close(doneB) }()
		go func() { gwA.Run(ctx); close(doneA) }()
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
		cancel()
		<-doneA
		<-doneB
	})
}

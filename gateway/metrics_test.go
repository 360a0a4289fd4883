package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/memory"
	"github.com/vigil-ipsec/vigil/ike"
)

// idleTunnels renders tunnels prefix0... with numbers [from, to), which do not start; number i
// has the subnets 10.i/32 and 172.16+i/32.
func idleTunnels(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "\n[tunnel.%s%d]\nlocal_addr = %q\nremote_addr = %q\nlocal_id = \"fqdn:b%d.example\"\n"+
			"remote_id = \"fqdn:a%d.example\"\npsk = \"scrape-test-psk-%08d-xxxxxxxxx\"\n"+
			"local_subnets = [\"10.%d.%d.%d/32\"]\nremote_subnets = [\"172.%d.%d.%d/32\"]\nstart_action = \"none\"\n",
			prefix, i, addrA, addrB, i, i, i, i>>16, i>>8&255, i&255, 16+i>>16, i>>8&255, i&255)
	}
	return b.String()
}

// manyTunnels is a running gateway with n configured tunnels that do not start.
func manyTunnels(t *testing.T, n int) *Gateway {
	t.Helper()
	net := memory.NewNetwork()
	g, err := New(parseConf(t, idleTunnels("t", 0, n)), Options{OpenDataplane: func(h dataplane.IKEHandler) (dataplane.Dataplane, error) {
		return net.Attach([]netip.Addr{netip.MustParseAddr(addrA)}, h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

// holdFor runs f on g's loop and returns how long it held the loop.
func holdFor(g *Gateway, f func()) time.Duration {
	var d time.Duration
	g.engine.Call(func() {
		t0 := time.Now()
		f()
		d = time.Since(t0)
	})
	return d
}

// TestScrapeLoopHold100k: with 100,000 configured tunnels a scrape reads the tunnels in turns
// of scrapeSlice on the engine loop, every tunnel once, and the totals (Status, vigil_sas) in
// one O(1) turn. It logs the longest hold of the loop next to what one walk over every tunnel
// (the collector before) and a recount (Status before) hold it for. (Timing is logged, not
// asserted: the machine is shared.)
func TestScrapeLoopHold100k(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 tunnels")
	}
	const n = 100000
	g := manyTunnels(t, n)

	mfs, err := g.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	for name, want := range map[string]int{"vigil_tunnel_up": n, "vigil_tunnel_bytes_total": 2 * n, "vigil_esp_auth_failures_total": n, "vigil_sas": 9} {
		if series[name] != want {
			t.Errorf("%s has %d series, want %d", name, series[name], want)
		}
	}
	if got := metric(t, &testGateway{Gateway: g}, "vigil_tunnels"); got != n {
		t.Errorf("vigil_tunnels = %v, want %d", got, n)
	}
	sc := g.metrics.lastScrape.Load()
	wantTurns := 2 + n/scrapeSlice // the totals, the full turns, the one that finds the end
	if sc == nil || sc.tunnels != n || sc.turns != wantTurns {
		t.Fatalf("scrape %+v, want %d tunnels in %d turns on the loop", sc, n, wantTurns)
	}

	var rows int
	oneGo := holdFor(g, func() {
		for name, tun := range g.engine.Tunnels() {
			_ = g.metrics.tunnelRow(name, tun)
			rows++
		}
	})
	var c ike.Counts
	counts := holdFor(g, func() { c = g.engine.Counts() })
	recount := holdFor(g, func() { _ = g.engine.Recount() })
	if rows != n || c.Tunnels != n {
		t.Errorf("walked %d tunnels, counted %d; want %d", rows, c.Tunnels, n)
	}
	t.Logf("%d tunnels: a scrape holds the loop %d times, longest %v, %v in all; one walk over every tunnel (the collector before) holds it %v",
		n, sc.turns, sc.longest, sc.total, oneGo)
	t.Logf("status totals: Counts holds the loop %v, a recount (Status before) %v", counts, recount)
}

// TestScrapeWhileTunnelsChange: tunnels come and go (reloads) while scrapes walk the tunnels
// in turns. No scrape reports a tunnel twice (the registry refuses duplicate series), and
// every tunnel configured throughout is in every scrape.
func TestScrapeWhileTunnelsChange(t *testing.T) {
	const keep, churn = 2500, 1500
	base := idleTunnels("keep", 0, keep)
	g := startGateway(t, memory.NewNetwork(), parseConf(t, base))
	confs := []string{base + idleTunnels("churn", keep, keep+churn), base}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 6 {
			g.next.Store(parseConf(t, confs[i%2]))
			if _, err := g.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	partial := 0
	for scrapes := 0; ; scrapes++ {
		select {
		case <-done:
			if scrapes == 0 {
				t.Error("no scrape ran during the reloads")
			}
			t.Logf("%d scrapes during 6 reloads, %d saw only part of the tunnels that came and went", scrapes, partial)
			return
		default:
		}
		mfs, err := g.metrics.reg.Gather()
		if err != nil {
			t.Fatalf("scrape %d: %v", scrapes, err)
		}
		kept, churned := 0, 0
		for _, mf := range mfs {
			if mf.GetName() != "vigil_tunnel_up" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if strings.HasPrefix(m.GetLabel()[0].GetValue(), "keep") {
					kept++
				} else {
					churned++
				}
			}
		}
		if kept != keep {
			t.Fatalf("scrape %d reports %d of the %d tunnels configured throughout", scrapes, kept, keep)
		}
		if churned != 0 && churned != churn {
			partial++
		}
	}
}

package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/config"
)

// BenchmarkSetup sets up n tunnels between two gateways on the in-memory network: A has one
// tunnel per spoke address (198.18.x.y, start_action "start"), B is the hub (192.0.2.2) with
// n tunnels that only respond. Everything on the way is the daemon's: configuration from TOML,
// the gateway, the IKE engine (IKE_SA_INIT, IKE_AUTH with the first Child SA), the SA database
// with real ESP state, policies, events and metrics. It reports
//
//   - tunnels/s: n over the time from A's start to every tunnel being up at both ends. Every
//     lookup on the way (IKE_SA_INIT by peer address, IKE_AUTH by identity, messages by SPI)
//     is a map access, so the rate must not fall as n grows: compare n=100 with n=1000.
//   - bytes/tunnel: the heap the established tunnels hold, per gateway (half the growth from
//     before A's start to all up, both gateways holding one IKE SA, one Child SA, two dataplane
//     SAs and their indexes and bookkeeping per tunnel).
//
// The gateways run the daemon's defaults, so beyond 500 half-open IKE SAs the hub demands a
// COOKIE (one more round trip). The hub's IKE queue holds every initiation at once: the
// benchmark measures the control plane's work, not a socket buffer's losses and the
// retransmissions after them.
//
// BenchmarkSetup/hub has one spoke address per tunnel at A; BenchmarkSetup/pair puts every
// tunnel between one pair of addresses (192.0.2.1 and 192.0.2.2), told apart by their
// identities (a.tI and b.tI), which is what the responder's configuration lookup must index.
func BenchmarkSetup(b *testing.B) {
	for _, shape := range []string{"hub", "pair"} {
		for _, n := range []int{100, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/n=%d", shape, n), func(b *testing.B) {
				cfgA, cfgB := scaleConfigs(b, n, shape == "hub")
				for b.Loop() {
					setupTunnels(b, n, cfgA, cfgB)
				}
			})
		}
	}
}

// scaleConfigs returns A's and B's configuration for n tunnels. Tunnel i has the subnets
// 10.i.0/25 at A and 10.i.128/25 at B (i in the two middle bytes), so that no two tunnels of
// a gateway share remote subnets. With hub, A's end of tunnel i is the spoke address
// 198.18.x.y; otherwise it is 192.0.2.1 for all, with the identities a.tI and b.tI.
func scaleConfigs(b testing.TB, n int, hub bool) (*config.Config, *config.Config) {
	var sa, sb strings.Builder
	for i := range n {
		spoke := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		ids := ""
		if !hub {
			spoke = netip.MustParseAddr("192.0.2.1")
			ids = fmt.Sprintf("local_id = \"fqdn:a.t%d\"\nremote_id = \"fqdn:b.t%d\"\n", i, i)
		}
		mid := fmt.Sprintf("10.%d.%d", i>>8, i&0xff)
		fmt.Fprintf(&sa, "[tunnel.t%d]\nlocal_addr = %q\nremote_addr = %q\npsk = %q\n%slocal_subnets = [\"%s.0/25\"]\nremote_subnets = [\"%s.128/25\"]\nstart_action = \"start\"\n",
			i, spoke, addrB, psk, ids, mid, mid)
		if !hub {
			ids = fmt.Sprintf("local_id = \"fqdn:b.t%d\"\nremote_id = \"fqdn:a.t%d\"\n", i, i)
		}
		fmt.Fprintf(&sb, "[tunnel.t%d]\nlocal_addr = %q\nremote_addr = %q\npsk = %q\n%slocal_subnets = [\"%s.128/25\"]\nremote_subnets = [\"%s.0/25\"]\n",
			i, addrB, spoke, psk, ids, mid, mid)
	}
	return parseConf(b, sa.String()), parseConf(b, sb.String())
}

// setupTunnels runs one measurement: it builds both gateways (untimed), starts B, then A, and
// waits until all n tunnels are up on both.
func setupTunnels(b *testing.B, n int, cfgA, cfgB *config.Config) {
	b.StopTimer()
	gwA, gwB := newPair(b, cfgA, cfgB, n)
	ctx, cancel := context.WithCancel(context.Background())
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { gwB.Run(ctx); close(doneB) }()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)

	b.StartTimer()
	start := time.Now()
	go func() { gwA.Run(ctx); close(doneA) }()
	// The gateways have no per-tunnel hook a benchmark could wait on: poll their status,
	// which costs one call on each engine's loop per 10 ms.
	tk := time.NewTicker(10 * time.Millisecond)
	for gwA.Status().TunnelsUp < n || gwB.Status().TunnelsUp < n {
		<-tk.C
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("after 10 minutes %d of %d tunnels are up at A, %d at B", gwA.Status().TunnelsUp, n, gwB.Status().TunnelsUp)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	tk.Stop()

	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "tunnels/s")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(n)/2, "bytes/tunnel")
	if st := gwB.Status(); st.IKESAs != n || st.ChildSAs != n {
		b.Fatalf("the hub has %d IKE SAs and %d Child SAs, want %d of each", st.IKESAs, st.ChildSAs, n)
	}
	cancel()
	<-doneA
	<-doneB
	b.StartTimer()
}

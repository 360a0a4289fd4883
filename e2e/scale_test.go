package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/scaleplan"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// scaleTunnels is how many tunnels TestScale2000 brings up; scaleBound bounds the whole test.
// The bound is generous on purpose: this is a correctness test, bench/scale measures the
// speed (2,000 tunnels take about 6 s on a 2-core machine).
const (
	scaleTunnels = 2000
	scaleBound   = 180 * time.Second
)

// TestScale2000 brings up 2,000 tunnels between two Vigils, each with its own IKE SA and
// Child SA, identities, PSK and /28 subnets (internal/scaleplan), A starting them all at once.
// It checks that both daemons count every tunnel up with exactly one IKE SA and one Child SA,
// that every Child SA's SPIs pair up across the two daemons, and that traffic passes through
// a sample of the tunnels in both directions and is counted on that tunnel's Child SA.
func TestScale2000(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 tunnels: skipped with -short")
	}
	topo := netns.NewSiteToSite(t, "vgc")
	plan, err := scaleplan.New(scaleTunnels, 1)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := scaleplan.VigilConfs(plan, "start")
	b := launchQuiet(t, topo.GwB, "b", cb)
	a := launchQuiet(t, topo.GwA, "a", ca)
	ctx := ctxT(t, scaleBound)

	for _, v := range []*vigiltest.Vigil{a, b} {
		waitTunnelsUp(t, ctx, v, scaleTunnels)
	}
	for _, v := range []*vigiltest.Vigil{a, b} {
		checkEveryTunnel(t, ctx, v, scaleTunnels)
	}
	checkSPIsPair(t, ctx, a, b, scaleTunnels)

	for _, i := range []int{0, 1, 777, scaleTunnels / 2, scaleTunnels - 1} {
		tun := plan[i]
		t.Run(tun.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // the tunnel is up: pings answer at once
			defer cancel()
			aHost, bHost := routeThrough(t, ctx, topo, tun)
			if err := topo.HostA.Ping(ctx, bHost); err != nil {
				t.Fatalf("ping %v -> %v through %s: %v", aHost, bHost, tun.Name, err)
			}
			if err := topo.HostB.Ping(ctx, aHost); err != nil {
				t.Fatalf("ping %v -> %v through %s: %v", bHost, aHost, tun.Name, err)
			}
			sas, err := a.Client.SAs(ctx, tun.Name)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := vigiltest.Child(sas, tun.Name)
			if !ok || c.PacketsOut == 0 || c.PacketsIn == 0 {
				t.Errorf("A's Child SA of %s did not carry the pings: %+v", tun.Name, c)
			}
		})
	}
}

// launchQuiet starts vigild at log level info (debug would log tens of thousands of lines),
// stops it at the end of the test and, if the test failed, logs the tail of its log.
func launchQuiet(t *testing.T, ns *netns.NS, name string, conf vigiltest.Conf) *vigiltest.Vigil {
	t.Helper()
	v, err := vigiltest.Launch(ns, t.TempDir(), name, conf, vigiltest.LaunchOptions{Binary: vigiltest.Binary(t), LogLevel: "info"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		v.Stop()
		if t.Failed() {
			t.Logf("vigild %s, last lines of the log:\n%s", name, lastLines(v.Log(), 40))
		}
	})
	return v
}

// waitTunnelsUp polls v's status until it counts n tunnels up.
func waitTunnelsUp(t *testing.T, ctx context.Context, v *vigiltest.Vigil, n int) {
	t.Helper()
	waitStatus(t, ctx, v, fmt.Sprintf("%d tunnels up", n), func(s api.Status) bool { return s.TunnelsUp == n })
}

// waitStatus polls v's status until cond holds and fails the test when ctx ends first.
func waitStatus(t *testing.T, ctx context.Context, v *vigiltest.Vigil, what string, cond func(api.Status) bool) {
	t.Helper()
	tick := time.NewTicker(200 * time.Millisecond) // each status read walks every tunnel
	defer tick.Stop()
	var last api.Status
	for {
		s, err := v.Client.Status(ctx)
		if err == nil && cond(s) {
			return
		}
		if err == nil {
			last = s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("vigild in %s: waiting for %s: %d tunnels, %d up, %d IKE SAs, %d Child SAs when the bound ran out: %v",
				v.NS.Name, what, last.Tunnels, last.TunnelsUp, last.IKESAs, last.ChildSAs, ctx.Err())
		case <-tick.C:
		}
	}
}

// checkEveryTunnel checks that v holds n IKE SAs and n Child SAs, one of each per tunnel. A
// responder may still hold half-open IKE SAs of initiations the initiator gave up on when all
// tunnels are up; they expire within 30 s, so the totals are waited for.
func checkEveryTunnel(t *testing.T, ctx context.Context, v *vigiltest.Vigil, n int) {
	t.Helper()
	waitStatus(t, ctx, v, fmt.Sprintf("%d tunnels, IKE SAs and Child SAs", n), func(s api.Status) bool {
		return s.Tunnels == n && s.TunnelsUp == n && s.IKESAs == n && s.ChildSAs == n
	})
	tuns, err := v.Client.Tunnels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, tun := range tuns {
		if tun.State != api.StateUp || tun.IKESAs != 1 || tun.ChildSAs != 1 {
			if bad++; bad <= 5 {
				t.Errorf("vigild in %s: tunnel %s is %s with %d IKE SAs and %d Child SAs, want up with 1 each",
					v.NS.Name, tun.Name, tun.State, tun.IKESAs, tun.ChildSAs)
			}
		}
	}
	if bad > 5 {
		t.Errorf("vigild in %s: %d tunnels in all are not up with 1 IKE SA and 1 Child SA", v.NS.Name, bad)
	}
}

// checkSPIsPair checks that every Child SA of a has its mirror image on b: the same tunnel,
// A's outbound SPI inbound at B and the other way round.
func checkSPIsPair(t *testing.T, ctx context.Context, a, b *vigiltest.Vigil, n int) {
	t.Helper()
	children := func(v *vigiltest.Vigil) []api.ChildSA {
		sas, err := v.Client.SAs(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []api.ChildSA
		for _, sa := range sas {
			out = append(out, sa.Children...)
		}
		return out
	}
	atB := map[api.SPI]api.ChildSA{}
	for _, c := range children(b) {
		atB[c.SPIIn] = c
	}
	ca := children(a)
	if len(ca) != n || len(atB) != n {
		t.Fatalf("%d Child SAs at A, %d distinct inbound SPIs at B; want %d", len(ca), len(atB), n)
	}
	for _, c := range ca {
		m, ok := atB[c.SPIOut]
		if !ok || m.Tunnel != c.Tunnel || m.SPIOut != c.SPIIn {
			t.Fatalf("A's Child SA %s in %v out %v has no mirror at B (found %+v)", c.Tunnel, c.SPIIn, c.SPIOut, m)
		}
	}
}

// routeThrough gives hostA and hostB an address in tun's subnets, used as the source towards
// the other subnet, and routes those addresses from their gateways, so that traffic between
// them takes tun. It returns the two addresses.
func routeThrough(t *testing.T, ctx context.Context, topo *netns.Topo, tun scaleplan.Tunnel) (aHost, bHost netip.Addr) {
	t.Helper()
	aHost, bHost = tun.Hosts()
	for _, c := range []struct {
		ns   *netns.NS
		args []string
	}{
		{topo.HostA, []string{"address", "add", aHost.String() + "/32", "dev", netns.HostIf}},
		{topo.HostA, []string{"route", "add", tun.BNet.String(), "via", netns.GwALAN.String(), "src", aHost.String()}},
		{topo.GwA, []string{"route", "add", aHost.String() + "/32", "via", netns.HostAAddr.String()}},
		{topo.HostB, []string{"address", "add", bHost.String() + "/32", "dev", netns.HostIf}},
		{topo.HostB, []string{"route", "add", tun.ANet.String(), "via", netns.GwBLAN.String(), "src", bHost.String()}},
		{topo.GwB, []string{"route", "add", bHost.String() + "/32", "via", netns.HostBAddr.String()}},
	} {
		if _, err := c.ns.Run(ctx, append([]string{"ip"}, c.args...)...); err != nil {
			t.Fatalf("%s: ip %v: %v", c.ns.Name, c.args, err)
		}
	}
	return aHost, bHost
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return s
	}
	return "...\n" + strings.Join(lines[len(lines)-n:], "\n")
}

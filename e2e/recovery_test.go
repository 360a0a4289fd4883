package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/probe"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// startProbes runs a 1 ms UDP probe stream hostA -> hostB and waits until it flows.
func startProbes(t *testing.T, ctx context.Context, topo *netns.Topo) *probe.Stream {
	t.Helper()
	return startProbeStream(t, ctx, topo.HostA, topo.HostB, netns.HostBAddr, 9999)
}

// startProbeStream runs a 1 ms UDP probe stream from one host to another (which echoes it on
// dst:port) and waits until it flows.
func startProbeStream(t *testing.T, ctx context.Context, from, to *netns.NS, dst netip.Addr, port int) *probe.Stream {
	t.Helper()
	s, err := probe.Start(from, to, dst, port, time.Millisecond, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if err := s.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func vigilPair(t *testing.T, topo *netns.Topo, mod func(a, b *vigiltest.Tunnel)) (*vigiltest.Vigil, *vigiltest.Vigil) {
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction, tb.StartAction = "start", "start"
	if mod != nil {
		mod(&ta, &tb)
	}
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	return a, b
}

func recovered(ev api.Event) bool { return ev.Kind == "recovered" }

// TestRecoverSilentChildLossInvalidSPI: B silently drops its Child SA; A's ESP reaches B on an
// unknown SPI, B answers with a protected INVALID_SPI, A deletes and re-creates the Child SA.
func TestRecoverSilentChildLossInvalidSPI(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgr")
	a, b := vigilPair(t, topo, func(ta, tb *vigiltest.Tunnel) {
		ta.ChildProbe, tb.ChildProbe = "0s", "0s" // prove the INVALID_SPI path alone
		tb.StartAction = "none"
	})
	ctx := ctxT(t, 60*time.Second)
	ca, cb := pairUp(t, ctx, a, b, "site")
	probes := startProbes(t, ctx, topo)
	seq := a.LastSeq(ctx)

	fault := time.Now()
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
		t.Fatal(err)
	}
	ev, err := a.WaitEvent(ctx, seq, recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("outage %v (events: %.1f ms), probes lost %d", res.Outage, ev.OutageMS, res.Lost)
	if ev.Cause != "invalid-spi" {
		t.Errorf("recovered by %q, want invalid-spi", ev.Cause)
	}
	evs, _ := a.Client.Events(ctx, "site", seq)
	var detect *api.Event
	for i := range evs {
		if evs[i].Kind == "detect" && evs[i].Cause == "invalid-spi" {
			detect = &evs[i]
		}
	}
	if detect == nil || detect.Protected == nil || !*detect.Protected || detect.SPI != ca.SPIOut {
		t.Errorf("no protected INVALID_SPI detection for our outbound SPI %v: %+v", ca.SPIOut, evs)
	}
	// B sent the notify in its IKE SA.
	bevs, _ := b.Client.Events(ctx, "site", 0)
	sent := false
	for _, e := range bevs {
		sent = sent || (e.Kind == "action" && e.Cause == "unknown-spi" && e.SPI == cb.SPIIn)
	}
	if !sent {
		t.Errorf("B did not report sending INVALID_SPI for %v", cb.SPIIn)
	}
	ca2, _ := pairUp(t, ctx, a, b, "site")
	if ca2.SPIOut == ca.SPIOut {
		t.Errorf("A still uses the dead SPI")
	}
	ping(t, ctx, topo)
}

// TestRecoverSilentChildLossProbe: the peer says nothing (B sends no INVALID_SPI), so A finds
// the dead Child SA with its probe: outbound without inbound -> rekey -> CHILD_SA_NOT_FOUND.
func TestRecoverSilentChildLossProbe(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgr")
	ta, tb := sideA("site"), sideB("site")
	ta.StartAction, ta.ChildProbe = "start", "1s"
	// B never sends INVALID_SPI and does not repair what it lost itself (like strongSwan):
	// this test is about A's probe.
	tb.Extra = append(tb.Extra, "heal = false")
	b := vigiltest.Start(t, topo.GwB, "b", vigiltest.Conf{Global: []string{"[global.invalid_spi]", "per_peer_rate = 0"}, Tunnels: []vigiltest.Tunnel{tb}})
	a := vigiltest.Start(t, topo.GwA, "a", vigiltest.Conf{Tunnels: []vigiltest.Tunnel{ta}})
	ctx := ctxT(t, 60*time.Second)
	_, cb := pairUp(t, ctx, a, b, "site")
	probes := startProbes(t, ctx, topo)
	seq := a.LastSeq(ctx)
	fault := time.Now()
	if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
		t.Fatal(err)
	}
	ev, err := a.WaitEvent(ctx, seq, recovered)
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("recovered by %s; outage %v", ev.Cause, res.Outage)
	if ev.Cause != "child-probe" {
		t.Errorf("recovered by %q, want child-probe", ev.Cause)
	}
	if res.Outage > 5*time.Second {
		t.Errorf("outage %v with a 1 s child probe", res.Outage)
	}
}

// TestRecoverPeerRestart: B is killed (all state lost) and restarted; traffic flows again.
func TestRecoverPeerRestart(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgr")
	a, b := vigilPair(t, topo, nil)
	ctx := ctxT(t, 60*time.Second)
	pairUp(t, ctx, a, b, "site")
	probes := startProbes(t, ctx, topo)
	fault := time.Now()
	b.Kill9()
	b.Restart()
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("outage after restart %v", res.Outage)
	if res.Outage > 5*time.Second {
		t.Errorf("outage %v", res.Outage)
	}
	pairUp(t, ctx, a, b, "site")
	// A keeps only the new IKE SA (INITIAL_CONTACT removed the old one).
	sas, _ := a.Client.SAs(ctx, "site")
	if len(sas) != 1 {
		t.Errorf("A has %d IKE SAs after the peer restart", len(sas))
	}
}

// TestRecoverDPD: the child probe is off; B is restarted without state and without starting
// anything itself (start_action none), so only A's liveness check finds that its IKE SA is
// dead (the restarted B answers it with an unprotected INVALID_IKE_SPI, a hint, never a
// proof); A declares the peer dead when the check goes unanswered and re-initiates.
func TestRecoverDPD(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgr")
	a, b := vigilPair(t, topo, func(ta, tb *vigiltest.Tunnel) {
		ta.ChildProbe, ta.DPDDelay, ta.DPDTimeout = "0s", "1s", "2s"
		tb.StartAction = "none"
		// B does not re-initiate on A's packets after its restart (heal; see the heal tests):
		// this test is about A's liveness check.
		tb.Extra = append(tb.Extra, "heal = false")
	})
	ctx := ctxT(t, 60*time.Second)
	pairUp(t, ctx, a, b, "site")
	probes := startProbes(t, ctx, topo)
	seq := a.LastSeq(ctx)
	fault := time.Now()
	b.Kill9()
	b.Restart()
	ev, err := a.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == "down" && ev.Cause == "dpd" })
	if err != nil {
		t.Fatal(err)
	}
	if err := probes.WaitFlowing(ctx); err != nil {
		t.Fatal(err)
	}
	res := probes.Result(fault)
	t.Logf("dead peer found at %v after the restart; outage %v", ev.Time.Sub(fault).Round(time.Millisecond), res.Outage)
	if res.Outage > 6*time.Second {
		t.Errorf("outage %v with dpd_delay 1s, dpd_timeout 2s", res.Outage)
	}
	pairUp(t, ctx, a, b, "site")
}

// TestTrap: a tunnel with start_action trap comes up when traffic needs it, and the packet that
// triggered it is delivered once the SA exists.
func TestTrap(t *testing.T) {
	topo := netns.NewSiteToSite(t, "vgr")
	a, b := vigilPair(t, topo, func(ta, tb *vigiltest.Tunnel) {
		ta.StartAction, tb.StartAction = "trap", "none"
	})
	ctx := ctxT(t, 30*time.Second)
	if sas, _ := a.Client.SAs(ctx, ""); len(sas) != 0 {
		t.Fatalf("trap tunnel up before any traffic: %+v", sas)
	}
	// The first ping triggers the tunnel; its echo request waits in the queue and is answered.
	if err := topo.HostA.Ping(ctx, netns.HostBAddr); err != nil {
		t.Fatal(err)
	}
	pairUp(t, ctx, a, b, "site")
	evs, _ := a.Client.Events(ctx, "site", 0)
	if len(evs) == 0 || evs[0].Kind != "connect" || evs[0].Cause != "acquire" {
		t.Errorf("first event %+v, want connect/acquire", evs)
	}
}

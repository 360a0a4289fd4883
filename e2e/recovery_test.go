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

func recovered(ev api.Event) bool { return ev.Kind == "recovered" }

// probeOutage bounds the outage when the child probe (every probe) finds a Child SA the peer
// lost: the probe acts once the silence reaches child_probe and the replacement takes one
// exchange; the rest is room for a busy machine.
func probeOutage(probe time.Duration) time.Duration { return probe + 2*time.Second }

// probeReplacement is the event kind of this version's replacement of a Child SA that the
// child probe found dead. The probe rekeys the Child SA: in IKEv2 the peer refuses the rekey
// with CHILD_SA_NOT_FOUND and the SA is re-created ("recovered", cause child-probe); IKEv1 has
// no such notify, the probe's new Quick Mode simply succeeds and traffic moves to it ("rekey").
func (iv ikeVersion) probeReplacement() string {
	if iv.num == 1 {
		return "rekey"
	}
	return "recovered"
}

// waitProbeReplaced waits for v's replacement of a lost Child SA (see probeReplacement) after
// event seq, and checks that the child probe found the loss first and that no liveness check
// was involved.
func waitProbeReplaced(t *testing.T, ctx context.Context, iv ikeVersion, v *vigiltest.Vigil, seq uint64) api.Event {
	t.Helper()
	kind := iv.probeReplacement()
	ev, err := v.WaitEvent(ctx, seq, func(ev api.Event) bool { return ev.Kind == kind })
	if err != nil {
		evs, _ := v.Client.Events(ctx, "", seq)
		t.Fatalf("no %s event for the lost Child SA: %v\n%s", kind, err, eventList(evs))
	}
	if ev.Kind == "recovered" && ev.Cause != "child-probe" {
		t.Errorf("recovered by %q, want child-probe", ev.Cause)
	}
	evs, _ := v.Client.Events(ctx, "site", seq)
	detect, dpd := false, false
	for _, e := range evs {
		detect = detect || e.Seq < ev.Seq && e.Kind == "detect" && e.Cause == "child-probe"
		dpd = dpd || e.Cause == "dpd"
	}
	if !detect || dpd {
		t.Errorf("want a child-probe detection before the %s, and no liveness check:\n%s", kind, eventList(evs))
	}
	return ev
}

// TestRecoverSilentChildLossInvalidSPI: B silently drops its Child SA; A's ESP reaches B on an
// unknown SPI, B answers with a protected INVALID_SPI (IKEv1: an INVALID-SPI Informational
// with HASH(1)), A deletes and re-creates the Child SA.
func TestRecoverSilentChildLossInvalidSPI(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgr")
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
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
		t.Logf("recovered by %s, outage %v (events: %.1f ms), probes lost %d", ev.Cause, res.Outage, ev.OutageMS, res.Lost)
		if ev.Cause != "invalid-spi" {
			t.Errorf("recovered by %q, want invalid-spi", ev.Cause)
		}
		if res.Outage > 2*time.Second {
			t.Errorf("outage %v, want <= 2 s", res.Outage)
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
	})
}

// TestRecoverSilentChildLossProbe: the peer says nothing (B sends no INVALID_SPI), so A finds
// the dead Child SA with its probe: outbound without inbound -> rekey -> replaced (see
// probeReplacement).
func TestRecoverSilentChildLossProbe(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgr")
		// B never sends INVALID_SPI and does not repair what it lost itself (like strongSwan):
		// this test is about A's probe.
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
			ta.ChildProbe = "1s"
			tb.StartAction = "none"
			tb.Extra = append(tb.Extra, "heal = false")
		}, "[global.invalid_spi]", "per_peer_rate = 0")
		ctx := ctxT(t, 60*time.Second)
		ca, cb := pairUp(t, ctx, a, b, "site")
		probes := startProbes(t, ctx, topo)
		seq := a.LastSeq(ctx)
		fault := time.Now()
		if _, err := b.Client.DeleteChildSA(ctx, cb.SPIIn, false); err != nil {
			t.Fatal(err)
		}
		ev := waitProbeReplaced(t, ctx, iv, a, seq)
		if err := probes.WaitFlowing(ctx); err != nil {
			t.Fatal(err)
		}
		res := probes.Result(fault)
		t.Logf("replaced (%s/%s); outage %v", ev.Kind, ev.Cause, res.Outage)
		if bound := probeOutage(time.Second); res.Outage > bound {
			t.Errorf("outage %v with a 1 s child probe, want <= %v", res.Outage, bound)
		}
		ca2, _ := pairUp(t, ctx, a, b, "site")
		if ca2.SPIOut == ca.SPIOut {
			t.Errorf("A still uses the dead SPI")
		}
	})
}

// TestRecoverPeerRestart: B is killed (all state lost) and restarted; traffic flows again.
func TestRecoverPeerRestart(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgr")
		a, b := vigilPair(t, topo, iv, nil)
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
		if sas := ikeSAs(t, ctx, a); len(sas) != 1 {
			t.Errorf("A has %d IKE SAs after the peer restart", len(sas))
		}
	})
}

// TestRecoverDPD: the child probe is off; B is restarted without state and without starting
// anything itself (start_action none), so only A's liveness check finds that its IKE SA is
// dead (the restarted B may answer it with an unprotected notify about an SPI it does not know,
// a hint, never a proof); A declares the peer dead when the check goes unanswered and
// re-initiates.
func TestRecoverDPD(t *testing.T) {
	forVersionsParallel(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgr")
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
			ta.ChildProbe, ta.DPDDelay, ta.DPDTimeout = "0s", "1s", "2s"
			tb.StartAction = "none"
			// B does not re-initiate on A's packets after its restart (heal; see the heal
			// tests): this test is about A's liveness check.
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
	})
}

// TestTrap: a tunnel with start_action trap comes up when traffic needs it, and the packet that
// triggered it is delivered once the SA exists.
func TestTrap(t *testing.T) {
	forVersions(t, func(t *testing.T, iv ikeVersion) {
		topo := netns.NewSiteToSite(t, "vgr")
		a, b := vigilPair(t, topo, iv, func(ta, tb *vigiltest.Tunnel) {
			ta.StartAction, tb.StartAction = "trap", "none"
		})
		ctx := ctxT(t, 30*time.Second)
		if sas, _ := a.Client.SAs(ctx, ""); len(sas) != 0 {
			t.Fatalf("trap tunnel up before any traffic: %+v", sas)
		}
		// The first ping triggers the tunnel; its echo request waits in the queue and is
		// answered.
		if err := topo.HostA.Ping(ctx, netns.HostBAddr); err != nil {
			t.Fatal(err)
		}
		pairUp(t, ctx, a, b, "site")
		evs, _ := a.Client.Events(ctx, "site", 0)
		if len(evs) == 0 || evs[0].Kind != "connect" || evs[0].Cause != "acquire" {
			t.Errorf("first event %+v, want connect/acquire", evs)
		}
	})
}

package gateway

// Stale-SA recovery: the three parts of the INVALID_SPI fix, and dead-SA detection.
//
//  1. Send: ESP on an SPI we do not know, from a peer we have an IKE SA with, is answered by the
//     engine with a protected INVALID_SPI notify (ike/recovery.go; the dataplane rate-limits the
//     events per SPI and per peer). Without an IKE SA it stays silent unless configured to send
//     an unprotected notify (globally rate-limited). Here: counters, timeline, healing.
//  2. Receive: a protected INVALID_SPI names one of our outbound SPIs to that peer; that Child SA
//     is deleted and re-created at once (Engine.ReplaceChild: CREATE_CHILD_SA, or a new IKE SA
//     with INITIAL_CONTACT if the peer refuses or does not answer). An unprotected one changes
//     nothing: it only starts a rate-limited liveness check (RFC 7296 2.4, 2.21.4), the one DPD
//     runs.
//  3. Detect: a Child SA that sends but receives nothing for child_probe is probed by rekeying
//     it; an error answer (CHILD_SA_NOT_FOUND) replaces it. An IKE SA that sends but hears
//     nothing for dpd_delay gets a liveness check; if unanswered, the peer is dead and the tunnel
//     is re-initiated.
//
// Every function here runs on the engine's loop.

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
)

const (
	// replaceTimeout is how long a replacement CREATE_CHILD_SA may stay unanswered before we
	// stop waiting on the IKE SA and start a new one.
	replaceTimeout = time.Second
	// hintInterval rate-limits liveness checks started by unprotected notifies, per peer, when
	// the tunnel has no dpd_delay (otherwise dpd_delay is the interval).
	hintInterval = 30 * time.Second
	// probeBudget bounds the retransmissions of a probing rekey: the peer sent nothing for
	// child_probe already, so an unanswered probe soon means a dead peer.
	probeBudget = 2 * time.Second
)

// ---- Part 1: ESP on an unknown SPI --------------------------------------------------------

// unknownSPI records ESP on an unknown SPI, which the engine has answered (ike/recovery.go),
// and heals when this side lost the state: sa is our established IKE SA with the sender, nil
// if there is none.
func (g *Gateway) unknownSPI(ev dataplane.Event, sa *ike.IKESA, answered bool) {
	g.metrics.unknownSPI.Add(float64(1 + ev.Suppressed))
	peer := ev.Src.Addr()
	if sa != nil {
		g.healChildLost(peer, ev.SPI)
		// Packets the dataplane's limits folded into this event got no notify of their own.
		g.metrics.invalidSPILimited.Add(float64(ev.Suppressed))
		if !answered {
			g.metrics.invalidSPILimited.Inc()
			return
		}
		g.metrics.invalidSPISent.WithLabelValues("protected").Inc()
		g.lt.Log(g.log, slog.LevelInfo, peer, "esp-unknown-spi-protected", "ESP on unknown SPI: sent INVALID_SPI", "peer", peer, "tunnel", sa.Tunnel.Cfg.Name,
			"spi", spiText(ev.SPI), "protected", true)
		g.event(sa.Tunnel.Cfg.Name, "action", "unknown-spi", peer.String(), api.SPI(ev.SPI), ptr(true),
			fmt.Sprintf("ESP on unknown SPI 0x%08x: sent INVALID_SPI in IKE SA %s", ev.SPI, sa.String()), 0)
		return
	}
	g.healRestart(peer, fmt.Sprintf("ESP on unknown SPI 0x%08x", ev.SPI))
	if !answered {
		g.lt.Log(g.log, slog.LevelDebug, peer, "esp-unknown-spi", "ESP on unknown SPI from a peer without IKE SA", "peer", ev.Src, "spi", spiText(ev.SPI))
		return
	}
	g.metrics.invalidSPISent.WithLabelValues("unprotected").Inc()
	g.lt.Log(g.log, slog.LevelInfo, peer, "esp-unknown-spi-sent", "ESP on unknown SPI from a peer without IKE SA: sent unprotected INVALID_SPI", "peer", ev.Src, "spi", spiText(ev.SPI), "protected", false)
}

// ---- Part 2: INVALID_SPI received ----------------------------------------------------------

// receivedInvalidSPI acts on a protected INVALID_SPI received on the established IKE SA sa.
// The engine has resolved the SPI (a network-order uint32) among the outbound SPIs of sa's own
// Child SAs: c is nil when it names none of them, never a Child SA of another IKE SA or peer.
func (g *Gateway) receivedInvalidSPI(sa *ike.IKESA, spi uint32, c *ike.ChildSA) {
	g.metrics.invalidSPIReceived.WithLabelValues("true").Inc()
	peer := sa.Remote.Addr()
	name := sa.Tunnel.Cfg.Name
	if c == nil || c.IKE != sa {
		g.log.Info("received INVALID_SPI for no outbound SA of this IKE SA: ignored",
			"peer", peer, "tunnel", name, "spi", spiText(spi), "protected", true, "action", "none")
		g.event(name, "detect", "invalid-spi", peer.String(), api.SPI(spi), ptr(true),
			fmt.Sprintf("INVALID_SPI 0x%08x matches no outbound Child SA to %v: ignored", spi, peer), 0)
		return
	}
	g.log.Warn("received INVALID_SPI: peer lost our Child SA",
		"peer", peer, "tunnel", c.Tunnel.Cfg.Name, "spi", spiText(spi), "protected", true, "action", "replace Child SA")
	g.event(c.Tunnel.Cfg.Name, "detect", "invalid-spi", peer.String(), api.SPI(spi), ptr(true),
		fmt.Sprintf("peer says it has no SA for our outbound SPI 0x%08x", spi), 0)
	g.replaceChild(c, "invalid-spi", time.Now())
}

// receivedUnprotected treats an unprotected INVALID_SPI / INVALID_IKE_SPI as a hint (RFC 7296
// 2.4, 2.21.4): anyone can forge one, so it changes no state, rekeys nothing and probes no
// Child SA. It may only start the normal liveness check of the peer's IKE SA (the same one DPD
// runs, with the same dpd_timeout budget), at most once per dpd_delay per peer; if the peer
// answers, nothing happens; if it really lost its state, the protected exchanges that follow
// find out.
func (g *Gateway) receivedUnprotected(remote netip.AddrPort, t ike.Hint, spi uint32) {
	g.metrics.invalidSPIReceived.WithLabelValues("false").Inc()
	sa := g.engine.IKEByPeer(remote.Addr())
	if sa == nil {
		g.lt.Log(g.log, slog.LevelDebug, remote.Addr(), "unprotected-notify", "unprotected notify from a peer without IKE SA: ignored", "peer", remote, "notify", t, "spi", spiText(spi))
		return
	}
	name := sa.Tunnel.Cfg.Name
	ts := g.state(name)
	now := time.Now()
	interval := sa.Tunnel.Cfg.DPDDelay
	if interval <= 0 {
		interval = hintInterval
	}
	if ts == nil || (!ts.lastHint.IsZero() && now.Sub(ts.lastHint) < interval) || sa.LivenessPending() {
		return
	}
	ts.lastHint = now
	g.lt.Log(g.log, slog.LevelInfo, remote.Addr(), "unprotected-notify-hint", "unprotected notify: hint only, checking liveness", "peer", remote, "tunnel", name,
		"notify", t, "spi", spiText(spi), "protected", false, "action", "liveness check")
	g.event(name, "detect", "unprotected-"+t.String(), remote.Addr().String(), api.SPI(spi), ptr(false),
		"unprotected notify: no state changed; liveness check started", 0)
	g.engine.Liveness(sa, nil)
}

// replaceChild has the engine replace c (ike/recovery.go): a new Child SA, else a new IKE SA.
func (g *Gateway) replaceChild(c *ike.ChildSA, cause string, detected time.Time) {
	t := c.Tunnel
	ts := g.state(t.Cfg.Name)
	if ts == nil || c.State == ike.ChildDeleted {
		return
	}
	g.startOutage(ts, cause, detected)
	if ts.recovering {
		return
	}
	ts.recovering = true
	g.metrics.recoveries.WithLabelValues(cause).Inc()
	g.event(t.Cfg.Name, "action", cause, c.IKE.Remote.Addr().String(), api.SPI(c.SPIOut), nil,
		fmt.Sprintf("deleting Child SA in 0x%08x out 0x%08x and creating a replacement", c.SPIIn, c.SPIOut), 0)
	g.engine.ReplaceChild(c, replaceTimeout, func(why error) bool {
		if !ts.recovering {
			return false
		}
		g.event(t.Cfg.Name, "action", cause, t.Cfg.Remote.Addr().String(), 0, nil, "new IKE SA with INITIAL_CONTACT: "+why.Error(), 0)
		return true
	})
}

// ---- Part 3: detection without the peer's help -----------------------------------------------

// armProbe (re)starts the Child SA probe timer of c's tunnel.
func (g *Gateway) armProbe(c *ike.ChildSA) {
	ts := g.state(c.Tunnel.Cfg.Name)
	if ts == nil || ts.childProbe <= 0 {
		return
	}
	ts.probeIdle = false
	ts.probeTimer.Stop()
	ts.probeTimer = g.timers.After(ts.childProbe, func() { g.checkChild(c) })
}

// checkChild probes the tunnel's active Child SA if it has sent packets but received none for
// child_probe.
func (g *Gateway) checkChild(c *ike.ChildSA) {
	t := c.Tunnel
	if a := t.Active(); a != c {
		if a != nil {
			g.armProbe(a)
		}
		return
	}
	if c.State != ike.ChildInstalled {
		g.armProbe(c)
		return
	}
	ts := g.state(t.Cfg.Name)
	in, _ := g.dp.SAStats(dataplane.InSA(c.SPIIn))
	out, _ := g.dp.SAStats(dataplane.OutSA(c.ID, c.SPIOut))
	now := time.Now()
	lastIn := in.LastUsed
	if lastIn.Before(c.Created) {
		lastIn = c.Created
	}
	if out.LastUsed.After(lastIn) {
		if now.Sub(lastIn) >= ts.childProbe && now.Sub(out.LastUsed) < ts.childProbe {
			g.probeChild(c, "child-probe", lastIn)
		} else if due := lastIn.Add(ts.childProbe).Sub(now); due > 0 {
			// Traffic goes out but nothing has come back yet: look again exactly when the
			// silence reaches child_probe, not a whole interval later.
			g.armProbeIn(c, max(due, 20*time.Millisecond))
			return
		}
	}
	if now.Sub(out.LastUsed) >= ts.childProbe {
		// Nothing went out for a whole interval: nothing to look at until something does. The
		// dataplane reports the next outbound packet (EventActive, which re-arms the probe);
		// 100,000 idle tunnels then cost no timer every child_probe. A long backstop covers
		// an event that never comes.
		active, err := g.dp.WatchSA(dataplane.OutSA(c.ID, c.SPIOut), out.LastUsed)
		if err == nil && !active {
			g.armProbeIn(c, max(idleProbeBackstop, ts.childProbe))
			ts.probeIdle = true
			return
		}
	}
	g.armProbe(c)
}

// idleProbeBackstop: how often the probe looks at a Child SA that sends nothing, should the
// dataplane's EventActive not come.
const idleProbeBackstop = 5 * time.Minute

// armProbeIn re-arms the probe timer of c's tunnel to fire after d.
func (g *Gateway) armProbeIn(c *ike.ChildSA, d time.Duration) {
	ts := g.state(c.Tunnel.Cfg.Name)
	ts.probeIdle = false
	ts.probeTimer.Stop()
	ts.probeTimer = g.timers.After(d, func() { g.checkChild(c) })
}

// probeChild rekeys c to find out whether the peer still has it; at most once per child_probe.
func (g *Gateway) probeChild(c *ike.ChildSA, cause string, since time.Time) {
	ts := g.state(c.Tunnel.Cfg.Name)
	now := time.Now()
	interval := max(ts.childProbe, time.Second)
	if ts.recovering || now.Sub(ts.lastProbe) < interval || c.State != ike.ChildInstalled {
		return
	}
	ts.lastProbe = now
	ts.probeSince = since
	ts.probeCause = cause
	g.event(c.Tunnel.Cfg.Name, "detect", cause, c.IKE.Remote.Addr().String(), api.SPI(c.SPIOut), nil,
		fmt.Sprintf("outbound traffic but nothing inbound for %v: probing Child SA by rekeying it", now.Sub(since).Round(time.Millisecond)), 0)
	g.engine.RekeyChildWithin(c, probeBudget, nil)
}

// rekeyFailed handles any failed rekey of c (a probe or a scheduled rekey): an error answer
// such as CHILD_SA_NOT_FOUND means the peer lost it, so it is replaced.
func (g *Gateway) rekeyFailed(c *ike.ChildSA, err error) {
	ts := g.state(c.Tunnel.Cfg.Name)
	if ts == nil {
		return
	}
	cause, since := "rekey-failed", time.Now()
	if !ts.probeSince.IsZero() {
		cause, since = ts.probeCause, ts.probeSince
		ts.probeSince = time.Time{}
	}
	if errors.Is(err, ike.ErrTemporaryFailure) && cause == "rekey-failed" {
		// The peer is busy with an exchange of its own: try again shortly.
		g.timers.After(2*time.Second, func() {
			if c.State == ike.ChildInstalled && c.Tunnel.Active() == c {
				g.engine.RekeyChild(c, nil)
			}
		})
		return
	}
	if c.IKE.State != ike.IKEEstablished {
		return // the IKE SA failed: IKEDown recovers
	}
	g.log.Warn("Child SA rekey failed: replacing it", "tunnel", c.Tunnel.Cfg.Name, "spi_out", spiText(c.SPIOut), "err", err)
	g.replaceChild(c, cause, since)
}

// dpdDue runs every dpd_delay: if we sent traffic but heard nothing (IKE or ESP) for that long,
// a liveness check goes out; if it stays unanswered the engine declares the peer dead.
func (g *Gateway) dpdDue(sa *ike.IKESA) time.Duration {
	t := sa.Tunnel
	lastIn := sa.LastInbound()
	var lastOut time.Time
	for _, c := range sa.Children() {
		in, _ := g.dp.SAStats(dataplane.InSA(c.SPIIn))
		out, _ := g.dp.SAStats(dataplane.OutSA(c.ID, c.SPIOut))
		if in.LastUsed.After(lastIn) {
			lastIn = in.LastUsed
		}
		if out.LastUsed.After(lastOut) {
			lastOut = out.LastUsed
		}
	}
	now := time.Now()
	ts := g.state(t.Cfg.Name)
	if ts != nil {
		ts.dpdIdle = false
	}
	if ts != nil && now.Sub(lastOut) >= t.Cfg.DPDDelay && !sa.LivenessPending() && g.watchOutbound(sa, lastOut) {
		ts.dpdIdle = true
		return ike.DPDIdle // EventActive re-arms the check (dpEvent)
	}
	if !lastOut.After(lastIn) || sa.LivenessPending() {
		return 0
	}
	if silent := now.Sub(lastIn); silent < t.Cfg.DPDDelay {
		// Traffic goes out but nothing has come back yet: look again exactly when the
		// silence reaches dpd_delay, not a whole interval later.
		return max(t.Cfg.DPDDelay-silent, 20*time.Millisecond)
	}
	g.event(t.Cfg.Name, "detect", "dpd", sa.Remote.Addr().String(), 0, nil,
		fmt.Sprintf("outbound traffic but nothing from the peer for %v: liveness check", now.Sub(lastIn).Round(time.Millisecond)), 0)
	if ts := g.state(t.Cfg.Name); ts != nil {
		ts.dpdSince = lastIn
	}
	g.engine.Liveness(sa, nil)
	return 0
}

// watchOutbound asks the dataplane for an EventActive with the next packet out of any of sa's
// Child SAs; it returns false if one sent something after since already (or cannot be
// watched), and the caller keeps looking on its own.
func (g *Gateway) watchOutbound(sa *ike.IKESA, since time.Time) bool {
	children := sa.Children()
	if len(children) == 0 {
		return false
	}
	for _, c := range children {
		if active, err := g.dp.WatchSA(dataplane.OutSA(c.ID, c.SPIOut), since); err != nil || active {
			return false
		}
	}
	return true
}

// ---- Outage bookkeeping ----------------------------------------------------------------------

func (g *Gateway) startOutage(ts *tunnelState, cause string, at time.Time) {
	if ts.outageStart.IsZero() {
		ts.outageStart, ts.outageCause = at, cause
	}
}

func (g *Gateway) endOutage(name string, ts *tunnelState) {
	ts.recovering = false
	if ts.outageStart.IsZero() {
		return
	}
	d := time.Since(ts.outageStart)
	g.metrics.outage.WithLabelValues(ts.outageCause).Observe(d.Seconds())
	g.log.Info("tunnel recovered", "tunnel", name, "cause", ts.outageCause, "outage", d.Round(time.Microsecond))
	g.event(name, "recovered", ts.outageCause, "", 0, nil, fmt.Sprintf("traffic can flow again after %v", roundOutage(d)), float64(d.Microseconds())/1000)
	ts.outageStart, ts.outageCause = time.Time{}, ""
}

// ---- Dataplane events ------------------------------------------------------------------------

func (g *Gateway) dpEvent(ev dataplane.Event) {
	switch ev.Kind {
	case dataplane.EventAcquire:
		t := g.engine.Tunnel(ev.Tunnel)
		if t == nil {
			return
		}
		if ts := g.tstate[ev.Tunnel]; ts != nil && ts.manualDown {
			return // taken down by the operator: traffic does not bring it back, `tunnel up` does
		}
		switch {
		case t.IKE == nil:
			g.initiate(ev.Tunnel, "acquire")
		case t.Child == nil && t.IKE.State == ike.IKEEstablished:
			g.engine.CreateChild(t, nil)
		}
	case dataplane.EventSoftExpire:
		if c := g.childOf(ev); c != nil && c.State == ike.ChildInstalled {
			g.log.Info("Child SA soft lifetime reached: rekeying", "tunnel", ev.Tunnel, "spi", spiText(ev.SPI))
			g.engine.RekeyChild(c, nil)
		}
	case dataplane.EventActive:
		// Traffic goes out again on a Child SA whose probe or DPD was waiting for it.
		c := g.childOf(ev)
		if c == nil || c.State != ike.ChildInstalled {
			return
		}
		ts := g.state(c.Tunnel.Cfg.Name)
		if ts == nil {
			return
		}
		if ts.probeIdle && c.Tunnel.Active() == c {
			g.armProbe(c)
		}
		if sa := c.IKE; ts.dpdIdle && sa != nil && sa.State == ike.IKEEstablished && !sa.LivenessPending() {
			ts.dpdIdle = false
			g.engine.ScheduleDPD(sa)
		}
	case dataplane.EventHardExpire:
		// Both halves expire, usually together: act once, on the first.
		if c := g.childOf(ev); c != nil && c.State != ike.ChildDeleting && c.State != ike.ChildDeleted {
			g.log.Info("Child SA hard lifetime reached: deleting", "tunnel", ev.Tunnel, "spi", spiText(ev.SPI))
			t := c.Tunnel
			// A tunnel that was up on this Child SA gets a new one (whatever its start action:
			// the rekey did not happen in time, e.g. the sequence numbers ran out), unless the
			// operator took it down. Like a replacement, the new one is requested before the
			// old one is deleted, so that the peer does not re-create it on its own as well.
			if ts := g.state(t.Cfg.Name); ts != nil && !ts.manualDown && c.State == ike.ChildInstalled && (t.Child == c || t.Active() == c) {
				g.log.Info("re-creating the expired Child SA", "tunnel", t.Cfg.Name)
				g.engine.CreateChild(t, nil)
			}
			g.engine.DeleteChild(c, true, nil)
		}
	}
}

// childOf finds the Child SA an SA event is about: by its id (outbound SPIs are chosen by the
// peers and need not be unique), or for inbound SAs by our own SPI.
func (g *Gateway) childOf(ev dataplane.Event) *ike.ChildSA {
	if ev.Child != 0 {
		return g.engine.ChildByID(ev.Child)
	}
	if ev.Dir == dataplane.In {
		return g.engine.ChildByInSPI(ev.SPI)
	}
	return nil
}

// ---- helpers ---------------------------------------------------------------------------------

func spiText(spi uint32) string { return fmt.Sprintf("0x%08x", spi) }

func ptr[T any](v T) *T { return &v }

// event records a timeline entry.
func (g *Gateway) event(tunnel, kind, cause, peer string, spi api.SPI, protected *bool, msg string, outageMS float64) {
	ev := g.events.add(api.Event{Time: time.Now(), Tunnel: tunnel, Kind: kind, Cause: cause, Peer: peer, SPI: spi, Protected: protected, Message: msg, OutageMS: outageMS})
	if ts := g.state(tunnel); ts != nil {
		ts.lastKind, ts.lastMsg = kind, msg // joined when asked for: most are never read
	}
	g.log.Log(nil, slog.LevelDebug, "event", "tunnel", tunnel, "kind", kind, "cause", cause, "seq", ev.Seq)
}

// roundOutage keeps three significant digits or so: 2.077ms, 3.02s.
func roundOutage(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

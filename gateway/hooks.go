package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/ike"
)

// The Gateway implements ike.Hooks; every method runs on the engine's loop.

func (g *Gateway) IKEUp(sa *ike.IKESA) {
	g.initiationDone(sa)
	t := sa.Tunnel
	g.metrics.ikeUp.Inc()
	g.event(t.Cfg.Name, "up", "", sa.Remote.Addr().String(), 0, nil,
		"IKE SA "+sa.String()+" established ("+sa.Algorithms()+")", 0)
}

func (g *Gateway) IKEDown(sa *ike.IKESA, err error) {
	g.initiationDone(sa)
	if errors.Is(err, ike.ErrSuperseded) {
		return // the tunnel is up on the peer's IKE SA
	}
	if g.closing[sa] {
		delete(g.closing, sa)
		g.closedIfDone()
	}
	t := sa.Tunnel
	if t == nil {
		return
	}
	name := t.Cfg.Name
	if !sa.Initiator && sa.Up.IsZero() {
		// A responder SA that never authenticated: anyone can create one from a configured
		// peer's address with a spoofed IKE_SA_INIT. It must not touch the tunnel (its
		// reconnect schedule, its timeline); an authentication failure is logged, throttled.
		if errors.Is(err, ike.ErrAuthFailed) {
			if ts := g.state(name); ts != nil && time.Since(ts.lastAuthFail) >= authFailInterval {
				ts.lastAuthFail = time.Now()
				g.event(name, "failed", "auth-failed", sa.Remote.Addr().String(), 0, nil, "IKE SA not established: "+errText(err), 0)
			}
		}
		return
	}
	cause := "ike-down"
	switch {
	case errors.Is(err, ike.ErrTimeout):
		cause = "dpd"
	case errors.Is(err, ike.ErrPeerDeleted):
		cause = "peer-delete"
		if ts := g.state(name); ts != nil {
			ts.peerDeleted = time.Now() // its ESP and IKE in flight are no sign that we lost state
		}
	case errors.Is(err, ike.ErrAuthFailed):
		cause = "auth-failed"
	}
	if sa.Up.IsZero() {
		if cause != "dpd" || g.tstate[name] == nil {
			g.event(name, "failed", cause, sa.Remote.Addr().String(), 0, nil, "IKE SA not established: "+errText(err), 0)
		}
	} else if sa.Tunnel.IKE == nil || sa.Tunnel.IKE == sa {
		g.event(name, "down", cause, sa.Remote.Addr().String(), 0, nil, fmt.Sprintf("IKE SA %s removed: %s", sa.String(), errText(err)), 0)
	}
	if t.IKE != nil || g.engine.Tunnel(name) != t {
		return // replaced (rekey, INITIAL_CONTACT, reload) – nothing to do
	}
	ts := g.state(name)
	if ts == nil {
		return
	}
	if cause == "dpd" && !sa.Up.IsZero() {
		// Like the Child SA probe's, the outage runs from the last packet the peer sent before
		// the silence that started the liveness check (or from now, if no check of ours did).
		since := time.Now()
		if !ts.dpdSince.IsZero() && !ts.dpdSince.Before(sa.Up) {
			since = ts.dpdSince
		}
		ts.dpdSince = time.Time{}
		g.startOutage(ts, "dpd", since)
		g.metrics.recoveries.WithLabelValues("dpd").Inc()
	}
	ts.recovering = false
	// Re-initiate per start action; a trap tunnel waits for traffic.
	g.engine.Later(func() {
		if t.IKE == nil {
			g.scheduleReconnect(t)
		}
	})
}

func (g *Gateway) ChildUp(c, old *ike.ChildSA) {
	t := c.Tunnel
	ts := g.state(t.Cfg.Name)
	if ts == nil {
		return
	}
	ts.backoff = 0
	ts.everUp = true
	if ts.healTimer != nil { // the peer replaced the Child SA we lost: nothing left to heal
		ts.healTimer.Stop()
		ts.healTimer = nil
	}
	if old != nil {
		g.metrics.rekeys.WithLabelValues("child").Inc()
		g.event(t.Cfg.Name, "rekey", "", c.IKE.Remote.Addr().String(), api.SPI(c.SPIIn), nil,
			fmt.Sprintf("Child SA rekeyed: in 0x%08x out 0x%08x (was in 0x%08x out 0x%08x)", c.SPIIn, c.SPIOut, old.SPIIn, old.SPIOut), 0)
	} else {
		g.event(t.Cfg.Name, "up", "", c.IKE.Remote.Addr().String(), api.SPI(c.SPIIn), nil, childInstalled(c), 0)
	}
	g.endOutage(t.Cfg.Name, ts)
	g.armProbe(c)
}

// childInstalled is the message of a new Child SA's "up" event: "Child SA installed: in
// 0x%08x out 0x%08x <algorithms> [<local selectors>] === [<remote selectors>]". It is built
// without fmt (one allocation): it is made for every tunnel set up.
func childInstalled(c *ike.ChildSA) string {
	var buf [160]byte
	b := append(buf[:0], "Child SA installed: in "...)
	b = ike.AppendSPI(b, c.SPIIn)
	b = append(b, " out "...)
	b = ike.AppendSPI(b, c.SPIOut)
	b = append(b, ' ')
	b = append(b, c.Algorithms()...)
	b = append(b, ' ')
	b = ike.AppendSelectors(b, c.LocalTS)
	b = append(b, " === "...)
	b = ike.AppendSelectors(b, c.RemoteTS)
	return string(b)
}

func (g *Gateway) ChildDown(c *ike.ChildSA, err error) {
	t := c.Tunnel
	if n := t.Child; n != nil && n != c && n.Created.After(c.Created) {
		return // an SA replaced by a rekey going away: the rekey event said it all
	}
	if errors.Is(err, ike.ErrPeerDeleted) {
		if ts := g.state(t.Cfg.Name); ts != nil {
			ts.peerDeleted = time.Now()
		}
		g.event(t.Cfg.Name, "delete", "peer-delete", c.IKE.Remote.Addr().String(), api.SPI(c.SPIIn), nil,
			fmt.Sprintf("peer deleted Child SA in 0x%08x out 0x%08x", c.SPIIn, c.SPIOut), 0)
		// The peer removed the tunnel's only Child SA: keep the tunnel up per start action.
		if t.Child == nil && t.IKE != nil && t.IKE.State == ike.IKEEstablished && t.Cfg.StartAction == ike.StartStart {
			if ts := g.state(t.Cfg.Name); ts != nil && !ts.manualDown {
				g.engine.CreateChild(t, nil)
			}
		}
	}
}

func (g *Gateway) ChildFailed(t *ike.Tunnel, err error) {
	g.event(t.Cfg.Name, "failed", "", t.Cfg.Remote.Addr().String(), 0, nil, "Child SA not created: "+errText(err), 0)
}

func (g *Gateway) ChildRekeyFailed(c *ike.ChildSA, err error) {
	g.rekeyFailed(c, err)
}

func (g *Gateway) InvalidSPI(sa *ike.IKESA, spi uint32, c *ike.ChildSA) {
	g.receivedInvalidSPI(sa, spi, c)
}

func (g *Gateway) UnprotectedNotify(remote netip.AddrPort, t ike.Hint, spi uint32) {
	g.receivedUnprotected(remote, t, spi)
}

func (g *Gateway) DPDDue(sa *ike.IKESA) time.Duration { return g.dpdDue(sa) }

func (g *Gateway) UnknownSPI(ev dataplane.Event, sa *ike.IKESA, answered bool) {
	g.unknownSPI(ev, sa, answered)
}

func (g *Gateway) DataplaneEvent(ev dataplane.Event) { g.dpEvent(ev) }

func (g *Gateway) Exchange(sa *ike.IKESA, exch string, rtt time.Duration, retransmits int) {
	g.metrics.exchange.WithLabelValues(exch).Observe(rtt.Seconds())
}

// authFailInterval limits timeline entries for failed authentications of peers' IKE SAs.
const authFailInterval = 10 * time.Second

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

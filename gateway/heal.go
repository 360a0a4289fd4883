package gateway

// Healing: recovery when THIS side lost its state. recovery.go covers a peer that lost an SA
// (it tells us, or we find out); here we are the one that knows something is missing, and
// most peers (strongSwan, libreswan) will never act on our INVALID_SPI. So we repair the
// tunnel ourselves:
//
//  1. Child lost here (cause "child-lost-here"): ESP arrives from a peer whose IKE SA with us
//     is established, on the inbound SPI of a Child SA of ours that is gone, and that tunnel
//     has no Child SA now. We
//     send the protected INVALID_SPI (recovery.go; a Vigil peer replaces the SA within
//     milliseconds) and, if no replacement has arrived after heal_delay, create the Child SA
//     ourselves with the tunnel's selectors.
//  2. Restarted (cause "restart-heal"): ESP on an unknown SPI, or an IKE request for an IKE SA
//     we do not have, from the configured remote address of a tunnel without IKE SA. We
//     initiate that tunnel's IKE SA (its IKE_AUTH carries INITIAL_CONTACT, so the peer drops
//     the old state), whatever its start_action.
//
// Both are triggered by unauthenticated packets, so neither creates any state before the peer
// authenticates: a spoofed packet can at most make us send one IKE_SA_INIT to the real,
// configured peer address (never to the packet's source), at most once per restartHealInterval
// per tunnel (and looking at the peer's tunnels at most once per restartHealInterval), or one CREATE_CHILD_SA inside an IKE SA the peer has authenticated. Tunnels with
// heal = false, or taken down by the operator, are left alone. Every function runs on the
// engine's loop.

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/ike"
)

// restartHealInterval bounds the IKE SAs a restart heal starts, per tunnel, and how often a
// peer's tunnels are looked at (a peer may have 100,000: no per-packet walk over them).
const restartHealInterval = 5 * time.Second

// peerDeleteQuiet: ESP arriving this soon after the peer deleted the tunnel's Child SA (with a
// Delete notify) is late traffic, not a sign that we lost anything.
const peerDeleteQuiet = 5 * time.Second

// healChildLost starts the heal timer of the tunnel whose Child SA had inbound SPI spi (the
// engine remembers removed SPIs for a while: an O(1) lookup, and it names exactly the tunnel
// whose traffic the ESP carries), if its IKE SA is established and it has no Child SA now.
func (g *Gateway) healChildLost(peer netip.Addr, spi uint32) {
	if t := g.engine.TunnelOfGoneSPI(peer, spi); t != nil {
		ts := g.state(t.Cfg.Name)
		if ts == nil || !ts.heal || ts.manualDown || ts.healTimer != nil || ts.recovering || t.Child != nil ||
			t.IKE == nil || t.IKE.State != ike.IKEEstablished {
			return
		}
		if !ts.peerDeleted.IsZero() && time.Since(ts.peerDeleted) < peerDeleteQuiet {
			return // the peer removed it on purpose: late packets are not a loss
		}
		name := t.Cfg.Name
		now := time.Now()
		g.startOutage(ts, "child-lost-here", now)
		g.event(name, "detect", "child-lost-here", peer.String(), api.SPI(spi), nil,
			fmt.Sprintf("ESP on unknown SPI 0x%08x and no Child SA here: we lost it; waiting %v for the peer to replace it", spi, ts.healDelay), 0)
		ts.healTimer = g.timers.After(ts.healDelay, func() {
			ts.healTimer = nil
			if g.engine.Tunnel(name) != t || t.Child != nil || ts.manualDown || t.IKE == nil || t.IKE.State != ike.IKEEstablished {
				return // replaced by the peer meanwhile, or gone
			}
			g.metrics.heals.WithLabelValues("child-lost-here").Inc()
			g.event(name, "action", "child-lost-here", peer.String(), 0, nil,
				fmt.Sprintf("the peer did not replace the Child SA in %v: creating it", ts.healDelay), 0)
			ts.recovering = true
			sa := t.IKE
			g.engine.CreateChild(t, func(c *ike.ChildSA, err error) {
				if err != nil {
					ts.recovering = false
					g.log.Warn("healing: creating the lost Child SA failed", "tunnel", name, "err", err)
					return
				}
				// The peer still holds the pair we lost: one pair per tunnel is enough.
				if c.SPIIn != spi && sa.State == ike.IKEEstablished {
					g.engine.DeleteLost(sa, spi)
				}
			})
		})
	}
}

// healRestart initiates the IKE SA of every healing tunnel configured with remote address
// peer that has none, at most once per restartHealInterval per tunnel.
func (g *Gateway) healRestart(peer netip.Addr, why string) {
	now := time.Now()
	tunnels := g.engine.TunnelsTo(peer)
	if len(tunnels) == 0 {
		return
	}
	if last, ok := g.restartHealAt[peer]; ok && now.Sub(last) < restartHealInterval {
		return
	}
	g.restartHealAt[peer] = now
	for _, t := range tunnels {
		ts := g.state(t.Cfg.Name)
		if ts == nil || !ts.heal || ts.manualDown || t.IKE != nil || t.Cfg.Remote.Addr() != peer ||
			(!ts.lastRestartHeal.IsZero() && now.Sub(ts.lastRestartHeal) < restartHealInterval) ||
			(!ts.peerDeleted.IsZero() && now.Sub(ts.peerDeleted) < peerDeleteQuiet) {
			continue // the last condition: the peer just deleted the tunnel (its packets in flight)
		}
		ts.lastRestartHeal = now
		name := t.Cfg.Name
		g.metrics.heals.WithLabelValues("restart-heal").Inc()
		g.startOutage(ts, "restart-heal", now)
		g.event(name, "detect", "restart-heal", peer.String(), 0, nil,
			why+" from the configured peer, and no IKE SA here: we lost our state", 0)
		g.event(name, "action", "restart-heal", peer.String(), 0, nil, "initiating the IKE SA with INITIAL_CONTACT", 0)
		ts.retryTimer.Stop()
		g.initiate(name, "restart-heal")
	}
}

// UnknownIKESA implements ike.Hooks: a request for an IKE SA we do not have.
func (g *Gateway) UnknownIKESA(remote netip.AddrPort) {
	if g.engine.IKEByPeer(remote.Addr()) != nil {
		return
	}
	g.healRestart(remote.Addr(), "IKE request for an unknown IKE SA")
}

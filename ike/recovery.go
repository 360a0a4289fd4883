package ike

// Stale-SA recovery, the protocol half; the gateway holds the policy (gateway/recovery.go:
// when to replace, outages, the timeline, metrics). Read top-down:
//
//  1. The dataplane reports ESP on an SPI we have no SA for (already rate-limited, per
//     (source, SPI) and per source, with budgets reserved for known peers). If we have an
//     established IKE SA with the sender we tell it there, protected: INVALID_SPI (RFC 7296
//     3.10.1; IKEv1: INVALID-SPI). Otherwise we stay silent, or, if configured, send an
//     unprotected notify (globally rate-limited). The hooks learn about it (UnknownSPI): the
//     gateway heals when it is this side that lost the Child SA.
//  2. A protected INVALID_SPI names one of our outbound SPIs, a network-order uint32. It is
//     looked up among the Child SAs of the IKE SA it arrived in, never another peer's or
//     another IKE SA's, and handed to the hooks (InvalidSPI); the gateway calls ReplaceChild.
//     An unprotected one is a hint only (UnprotectedNotify) and changes no state here.
//  3. ReplaceChild: new Child SA first, then Delete of the dead one; if the peer refuses the new
//     one or does not answer in time, a new IKE SA with INITIAL_CONTACT.
//
// Everything here runs on the loop.

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// dataplaneEvent handles one event of the dataplane: unknown SPIs here, the rest (acquires,
// lifetimes) in the hooks.
func (e *Engine) dataplaneEvent(ev dataplane.Event) {
	if ev.Kind == dataplane.EventUnknownSPI {
		e.unknownSPI(ev)
		return
	}
	e.hooks.DataplaneEvent(ev)
}

// ---- 1. ESP on an unknown SPI --------------------------------------------------------------

func (e *Engine) unknownSPI(ev dataplane.Event) {
	sa := e.IKEByPeer(ev.Src.Addr())
	answered := false
	switch {
	case sa != nil:
		if !e.cfg.QuietOnUnknownSPI {
			e.SendInvalidSPI(sa, ev.SPI)
			answered = true
		}
	case e.cfg.UnprotectedInvalidSPIRate > 0 && e.unprotectedOut.allowAt(time.Now(), e.cfg.UnprotectedInvalidSPIRate):
		local, remote := ev.Dst, ev.Src
		if remote.Port() == 0 { // raw ESP: answer on the IKE port
			local = netip.AddrPortFrom(local.Addr(), e.cfg.IKEPort)
			remote = netip.AddrPortFrom(remote.Addr(), e.cfg.IKEPort)
		}
		e.SendUnprotectedInvalidSPI(local, remote, ev.SPI)
		answered = true
	}
	e.hooks.UnknownSPI(ev, sa, answered)
}

// ---- 2. INVALID_SPI received ---------------------------------------------------------------

// ReceivedInvalidSPI passes a protected INVALID_SPI to the hooks with the Child SA it names:
// one of sa's own Child SAs whose outbound SPI is spi. A Child SA of another IKE SA, even with
// the same peer, is never named: an authenticated peer can only speak for its own SAs.
func (e *Engine) ReceivedInvalidSPI(sa *IKESA, spi uint32) {
	if sa.State != IKEEstablished {
		return
	}
	e.hooks.InvalidSPI(sa, spi, e.ownChild(sa, spi))
}

// ownChild finds the Child SA of sa that sends with outbound SPI spi, or nil.
func (e *Engine) ownChild(sa *IKESA, spi uint32) *ChildSA {
	c := e.outSPIs[outKey{sa.Remote.Addr(), spi}]
	if c == nil || c.IKE != sa || c.State == ChildDeleted {
		return nil
	}
	return c
}

// ---- 3. Replacing a dead Child SA ------------------------------------------------------------

// ReplaceChild replaces c, which the peer no longer has. The tunnel's outbound packets wait in
// the dataplane's queue meanwhile (Hold). The new Child SA is requested before c is deleted, so
// that the peer does not create one of its own as well. If the peer refuses the new one, or
// does not answer within timeout, the IKE SA is abandoned (without waiting on the peer) and a
// new one initiated: its IKE_AUTH carries INITIAL_CONTACT, so the peer drops the old state.
// Before that, fallback is asked with the reason; it may return false to leave the tunnel
// alone (it was repaired otherwise, or taken down).
func (e *Engine) ReplaceChild(c *ChildSA, timeout time.Duration, fallback func(why error) bool) {
	t, sa := c.Tunnel, c.IKE
	e.Hold(t)
	answered := false
	newIKE := func(why error) {
		if t.removed || !fallback(why) {
			return
		}
		e.log.Info("recovering with a new IKE SA", "tunnel", t.Cfg.Name, "reason", why)
		if t.IKE != nil {
			e.RemoveIKE(t.IKE, why)
		}
		e.Initiate(t)
	}
	e.CreateChild(t, func(n *ChildSA, err error) {
		answered = true
		if err != nil {
			newIKE(fmt.Errorf("replacement Child SA refused: %w", err))
		}
	})
	e.DeleteChild(c, true, nil)
	e.After(timeout, func() {
		if !answered && t.IKE == sa {
			newIKE(fmt.Errorf("replacement Child SA not answered in %v", timeout))
		}
	})
}

package ike

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// The lives of IKE SAs, shared by both versions: failure, removal, timers after
// establishment, moving Child SAs to a successor, INITIAL_CONTACT.

// PeerDeletedChild handles a Delete for one of our Child SAs.
func (e *Engine) PeerDeletedChild(c *ChildSA) {
	e.log.Info("peer deleted Child SA", "tunnel", c.Tunnel.Cfg.Name, "spi_in", fmt.Sprintf("0x%08x", c.SPIIn), "spi_out", fmt.Sprintf("0x%08x", c.SPIOut))
	// A rekey responder's new SA takes over when the old one goes.
	var next *ChildSA
	for _, o := range c.IKE.children {
		if o.Replaces == c && o.State == ChildInstalled {
			next = o
		}
	}
	if c.PeerRekey != nil && c.PeerRekey.State == ChildInstalled {
		next = c.PeerRekey
	}
	if next == nil {
		// A newer installed SA of the tunnel means c was replaced (IKEv1 rekeys leave no
		// replaces link): keep its inbound half for the grace period all the same.
		if s := e.successor(c); s != nil && s.Created.After(c.Created) {
			next = s
		}
	}
	if next != nil {
		next.Replaces = nil
		c.RekeyedBy = next
	}
	e.RemoveChild(c, ErrPeerDeleted)
}

// IKEFailed handles a failed exchange or negotiation: the IKE SA is removed.
func (e *Engine) IKEFailed(sa *IKESA, err error) {
	if sa.State == IKEDead || errors.Is(err, ErrDeleted) {
		return
	}
	e.log.Info("IKE SA failed", "tunnel", sa.TunnelName(), "ike", sa.String(), "state", sa.State, "err", err)
	e.RemoveIKE(sa, err)
}

// RemoveIKE forgets an IKE SA and its children without telling the peer.
func (e *Engine) RemoveIKE(sa *IKESA, err error) {
	if sa.State == IKEDead {
		return
	}
	wasHalf := sa.State == IKEHalfOpen
	e.SetIKEState(sa, IKEDead)
	sa.stop()
	if wasHalf {
		e.LeaveHalfOpen(sa)
	}
	for _, c := range sa.children {
		e.RemoveChild(c, err)
	}
	if e.ikeSAs[sa.OurSPI()] == sa {
		delete(e.ikeSAs, sa.OurSPI())
	}
	sa.proto.Teardown(err)
	if t := sa.Tunnel; t != nil && t.IKE == sa {
		t.IKE = nil
		if sa.RekeyedBy != nil && sa.RekeyedBy.State != IKEDead {
			t.IKE = sa.RekeyedBy
		}
		t.Since = time.Now()
	}
	if sa.Up.IsZero() && !wasHalf {
		e.log.Info("IKE SA not established", "tunnel", sa.TunnelName(), "peer", sa.Remote, "err", err)
	}
	e.hooks.IKEDown(sa, err)
	sa.wipe()
}

// ScheduleDPD arms the liveness timer: a check is due when we have sent ESP or IKE traffic but
// heard nothing from the peer for DPDDelay. The gateway's hooks decide about Child SA
// activity; here only IKE-level silence counts.
func (e *Engine) ScheduleDPD(sa *IKESA) { e.scheduleDPDIn(sa, sa.Tunnel.Cfg.DPDDelay) }

// DPDIdle is what Hooks.DPDDue returns for an IKE SA whose tunnel sends nothing: with 100,000
// idle tunnels, looking at each every dpd_delay would cost for nothing. DPDIdleBackstop is
// when the engine looks again anyway (should the gateway's ScheduleDPD never come).
const (
	DPDIdle         time.Duration = -1
	DPDIdleBackstop               = 5 * time.Minute
)

func (e *Engine) scheduleDPDIn(sa *IKESA, d time.Duration) {
	if sa.Tunnel.Cfg.DPDDelay <= 0 {
		return
	}
	sa.timers.dpd.Stop()
	sa.timers.dpd = e.After(d, func() {
		if sa.State != IKEEstablished {
			return
		}
		next := e.hooks.DPDDue(sa)
		switch {
		case next == DPDIdle:
			next = max(DPDIdleBackstop, sa.Tunnel.Cfg.DPDDelay)
		case next <= 0 || next > sa.Tunnel.Cfg.DPDDelay:
			next = sa.Tunnel.Cfg.DPDDelay
		}
		e.scheduleDPDIn(sa, next)
	})
}

// ScheduleIKERekey arms the IKE SA's rekey timer.
func (e *Engine) ScheduleIKERekey(sa *IKESA) {
	if sa.timers.rekey != nil {
		sa.timers.rekey.Stop()
	}
	d := sa.Tunnel.Cfg.IKELifetime
	if d <= 0 {
		return
	}
	d = Jitter(d)
	sa.RekeyAt = time.Now().Add(d)
	sa.timers.rekey = e.After(d, func() { e.RekeyIKE(sa) })
}

// MoveChildren hands old's children and tunnel over to n (after a rekey).
func (e *Engine) MoveChildren(old, n *IKESA) {
	for id, c := range old.children {
		c.IKE = n
		n.children[id] = c
		delete(old.children, id)
	}
	old.RekeyedBy = n
	if old.timers.rekey != nil {
		old.timers.rekey.Stop()
	}
	if old.timers.dpd != nil {
		old.timers.dpd.Stop()
	}
	t := n.Tunnel
	if t.IKE == old || t.IKE == nil {
		t.IKE = n
	}
	e.ScheduleIKERekey(n)
	e.ScheduleDPD(n)
	e.log.Info("IKE SA rekeyed", "tunnel", t.Cfg.Name, "old", old.String(), "new", n.String(), "algorithms", n.Suite.String())
	e.hooks.IKEUp(n)
}

// OtherIKEWithPeer reports whether another live IKE SA exists with sa's peer for the same pair
// of identities (then INITIAL_CONTACT must not be sent).
func (e *Engine) OtherIKEWithPeer(sa *IKESA) bool {
	found := false
	e.sameIdentities(sa.Tunnel, func(t *Tunnel) {
		if t.IKE == nil || t.IKE == sa || t.IKE.State == IKEDead {
			return
		}
		if t == sa.Tunnel && t.IKE.State != IKEEstablished {
			return
		}
		found = true
	})
	return found
}

// InitialContact removes the older IKE SAs (and their children) we have with the peer that
// sent INITIAL_CONTACT in sa's IKE_AUTH, for the same identities (RFC 7296 2.4): the peer has
// no state for them.
func (e *Engine) InitialContact(sa *IKESA) {
	// Only established SAs: one of ours still being negotiated is not "older state" (when both
	// sides initiate at once, their IKE_AUTH exchanges cross).
	var old []*IKESA
	e.sameIdentities(sa.Tunnel, func(t *Tunnel) {
		if o := t.IKE; o != nil && o != sa && o.State == IKEEstablished {
			old = append(old, o)
		}
	})
	for _, o := range old {
		e.log.Info("INITIAL_CONTACT: removing older IKE SA of the peer", "tunnel", o.TunnelName(), "ike", o.String())
		e.RemoveIKE(o, fmt.Errorf("replaced after INITIAL_CONTACT"))
	}
}

// Establish makes sa, just authenticated, its tunnel's IKE SA (both versions). An SA of ours
// for the tunnel still in its first exchange is dropped for it: the peer initiated at the same
// time and its SA wins. Of two established ones (both sides initiated at once) both sides keep
// the one with the higher SPIi and delete the other, with a Delete so that a peer that still
// has it learns; with adopt (IKEv1, whose IPsec SAs outlive their ISAKMP SA) the loser's Child
// SAs move to the winner first. busy tells an established SA that is not a duplicate but being
// replaced by its own rekey. Establish returns false if sa lost and is being deleted;
// otherwise the SA's timers run and the hooks learn. what and attrs go to the log line.
func (e *Engine) Establish(sa *IKESA, adopt bool, busy func(old *IKESA) bool, what string, attrs ...any) bool {
	e.SetIKEState(sa, IKEEstablished)
	sa.Up = time.Now()
	sa.lastInbound = sa.Up
	t := sa.Tunnel
	if old := t.IKE; old != nil && old != sa && old.State == IKEInitSent {
		e.log.Info("peer's IKE SA supersedes ours still in its first exchange", "tunnel", t.Cfg.Name, "dropped", old.String())
		e.RemoveIKE(old, ErrSuperseded)
	}
	if old := t.IKE; old != nil && old != sa && old.Version == sa.Version && old.State == IKEEstablished && old.RekeyedBy == nil && !busy(old) {
		winner, loser := old, sa
		if old.SPIi < sa.SPIi {
			winner, loser = sa, old
		}
		e.log.Info("tunnel has two IKE SAs: deleting the duplicate", "tunnel", t.Cfg.Name, "keep", winner.String(), "delete", loser.String())
		if adopt {
			AdoptChildren(loser, winner)
		}
		if loser == sa {
			e.DeleteIKE(sa, true)
			return false
		}
		t.IKE = sa
		e.DeleteIKE(old, true)
	}
	t.IKE = sa
	t.Since = sa.Up
	e.ScheduleIKERekey(sa)
	e.ScheduleDPD(sa)
	e.ScheduleKeepalive(sa)
	// LogInfo (no caller lookup) and the peer as a string: one of these per tunnel set up.
	la := make([]slog.Attr, 0, 6+len(attrs)/2)
	la = append(la, slog.String("tunnel", t.Cfg.Name), slog.String("peer", sa.Remote.String()), slog.String("ike", sa.String()),
		slog.Bool("initiator", sa.Initiator), slog.String("algorithms", sa.Suite.String()), slog.Bool("udp_encap", sa.Floated || sa.NATLocal || sa.NATRemote))
	for i := 0; i+1 < len(attrs); i += 2 {
		k, _ := attrs[i].(string)
		la = append(la, slog.Any(k, attrs[i+1]))
	}
	LogInfo(e.log, what, la...)
	e.hooks.IKEUp(sa)
	return true
}

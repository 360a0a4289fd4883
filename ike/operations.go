package ike

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// The version-neutral operations the gateway and the operator API use (loop only). Each checks
// the state the operation needs, then hands the exchange to the SA's protocol.

var errNotEstablished = errors.New("IKE SA not established")

// Initiate starts an IKE SA (and its first Child SA) for t unless one exists.
func (e *Engine) Initiate(t *Tunnel) *IKESA {
	if t.IKE != nil && t.IKE.State != IKEDead {
		return t.IKE
	}
	p := e.protocol(t.Cfg.Version)
	if p == nil {
		return nil
	}
	return p.Initiate(t)
}

// CreateChild negotiates a new Child SA for t on its established IKE SA. done, if not nil, is
// called with the new Child SA or the error.
func (e *Engine) CreateChild(t *Tunnel, done func(*ChildSA, error)) {
	if done == nil {
		done = func(*ChildSA, error) {}
	}
	sa := t.IKE
	if sa == nil || sa.State != IKEEstablished {
		done(nil, errors.New("no established IKE SA"))
		return
	}
	sa.proto.CreateChild(t, done)
}

// RekeyChild rekeys c (make-before-break). done, if not nil, is called with the new Child SA
// or the error (for example a *PeerError wrapping ErrChildSANotFound).
func (e *Engine) RekeyChild(c *ChildSA, done func(*ChildSA, error)) {
	e.RekeyChildWithin(c, 0, done)
}

// RekeyChildWithin rekeys c like RekeyChild, but gives up after budget instead of the tunnel's
// dpd_timeout. The gateway's Child SA probe uses it: a probe goes out because nothing came
// back, so a peer that does not answer within a short budget is most likely gone, and waiting
// the whole dpd_timeout would only lengthen the outage.
func (e *Engine) RekeyChildWithin(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	if done == nil {
		done = func(*ChildSA, error) {}
	}
	sa := c.IKE
	if sa == nil || sa.State != IKEEstablished || c.State != ChildInstalled {
		done(nil, fmt.Errorf("child SA %08x cannot be rekeyed in state %v", c.SPIIn, c.State))
		return
	}
	e.unsettle(c) // the protocol marks it rekeying, and back if the rekey fails
	sa.proto.RekeyChild(c, budget, done)
}

// DeleteChild removes c; with notify it first tells the peer and removes c when the answer
// arrives (IKEv1: at once), otherwise at once.
func (e *Engine) DeleteChild(c *ChildSA, notify bool, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if c.State == ChildDeleted {
		done(nil)
		return
	}
	if !notify || c.IKE.State != IKEEstablished {
		e.RemoveChild(c, ErrDeleted)
		done(nil)
		return
	}
	e.unsettle(c) // the protocol marks it deleting
	c.IKE.proto.DeleteChild(c, done)
}

// DeleteIKE deletes an IKE SA and its Child SAs; with notify the peer is told first.
func (e *Engine) DeleteIKE(sa *IKESA, notify bool) {
	if sa.State == IKEDead {
		return
	}
	if notify && sa.State == IKEAuthSent {
		// The peer may already consider it established: delete it properly once IKE_AUTH
		// completes, instead of leaving the peer a stale SA.
		sa.DeleteAfterAuth = true
		if t := sa.Tunnel; t != nil && t.IKE == sa {
			t.IKE = nil
		}
		return
	}
	if !notify || sa.State != IKEEstablished {
		e.RemoveIKE(sa, ErrDeleted)
		return
	}
	sa.proto.DeleteIKE()
}

// RekeyIKE replaces an established IKE SA; its Child SAs move to the new one.
func (e *Engine) RekeyIKE(sa *IKESA) {
	if sa.State != IKEEstablished || sa.RekeyedBy != nil {
		return
	}
	sa.proto.RekeyIKE()
}

// Liveness checks that the peer of sa answers (RFC 7296 2.4; IKEv1: RFC 3706 R-U-THERE). done,
// if not nil, is called with nil when the peer answers; when retransmissions are exhausted the
// IKE SA is declared dead (done gets ErrTimeout after the SA has been removed).
func (e *Engine) Liveness(sa *IKESA, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if sa.State != IKEEstablished {
		done(errNotEstablished)
		return
	}
	sa.proto.Liveness(0, done)
}

// LivenessPending reports whether sa has an exchange in flight (a liveness check would only
// queue behind it).
func (sa *IKESA) LivenessPending() bool { return sa.proto.Busy() }

// SendInvalidSPI tells the peer, inside sa, that ESP arrived on an SPI we do not know.
func (e *Engine) SendInvalidSPI(sa *IKESA, spi uint32) {
	if sa.State != IKEEstablished {
		return
	}
	sa.proto.SendInvalidSPI(spi)
}

// DeleteLost asks the peer, inside sa, to delete the Child SA pair whose inbound half we lost:
// spi is our former inbound SPI (the one the peer still sends with).
func (e *Engine) DeleteLost(sa *IKESA, spi uint32) {
	if sa.State != IKEEstablished || e.children[spi] != nil {
		return
	}
	sa.proto.DeleteLost(spi)
}

// SendUnprotectedInvalidSPI sends an INVALID_SPI notify outside any IKE SA (RFC 7296 2.21.4),
// in the IKE version the tunnels to remote speak. The caller rate-limits.
func (e *Engine) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	if p := e.protocol(e.peerVersion(remote.Addr())); p != nil {
		p.SendUnprotectedInvalidSPI(local, remote, spi)
	}
}

package ike

import (
	"time"
)

// Loop-only operations used by the gateway's recovery logic and the operator API.

// Hold points the tunnel's policy at no SA: packets from the TUN device wait in the dataplane's
// bounded queue until a new Child SA is activated.
func (e *Engine) Hold(t *Tunnel) {
	if t.active != nil {
		t.active.outActive = false
	}
	t.active = nil
	e.holdPolicy(t)
}

// FindChild finds a Child SA by either its inbound or its outbound SPI (operator path; the
// outbound search covers all peers).
func (e *Engine) FindChild(spi uint32) *ChildSA {
	if c := e.children[spi]; c != nil {
		return c
	}
	for k, c := range e.outSPIs {
		if k.spi == spi {
			return c
		}
	}
	return nil
}

// LastInbound is when the peer last sent an authenticated IKE message.
func (sa *IKESA) LastInbound() time.Time { return sa.lastInbound }

// Active is the Child SA the tunnel's outbound policy uses (nil while held).
func (t *Tunnel) Active() *ChildSA { return t.active }

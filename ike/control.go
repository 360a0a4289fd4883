package ike

import (
	"slices"
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

// FindChildren returns the Child SAs whose inbound or outbound SPI is spi (operator path):
// the one with that inbound SPI first, if any, then those with that outbound SPI. We choose
// inbound SPIs unique, but outbound SPIs are chosen by the peers, so two peers (or one peer
// and one of our inbound SPIs) may use the same: the caller must not pick one at random. The
// cost is one map access per Child SA returned.
func (e *Engine) FindChildren(spi uint32) []*ChildSA {
	var out []*ChildSA
	if c := e.children[spi]; c != nil {
		out = append(out, c)
	}
	return e.outBySPI.appendAll(out, spi)
}

// outIndex finds installed Child SAs by their outbound SPI alone. The engine's outSPIs map,
// keyed by peer and SPI, serves the protocols; an operator names an SA by its SPI only.
// Nearly every SPI has one Child SA: it is in one; the rare further ones are in more.
type outIndex struct {
	one  map[uint32]*ChildSA
	more map[uint32][]*ChildSA
}

func (x *outIndex) add(c *ChildSA) {
	if x.one == nil {
		x.one = map[uint32]*ChildSA{}
	}
	switch o := x.one[c.SPIOut]; {
	case o == nil:
		x.one[c.SPIOut] = c
		return
	case o == c || slices.Contains(x.more[c.SPIOut], c):
		return
	}
	if x.more == nil {
		x.more = map[uint32][]*ChildSA{}
	}
	x.more[c.SPIOut] = append(x.more[c.SPIOut], c)
}

func (x *outIndex) remove(c *ChildSA) {
	spi := c.SPIOut
	more := x.more[spi]
	if x.one[spi] == c {
		if len(more) == 0 {
			delete(x.one, spi)
			return
		}
		x.one[spi] = more[len(more)-1]
		more = slices.Delete(more, len(more)-1, len(more))
	} else if i := slices.Index(more, c); i >= 0 {
		more = slices.Delete(more, i, i+1)
	}
	if len(more) == 0 {
		delete(x.more, spi)
	} else {
		x.more[spi] = more
	}
}

// appendAll appends the Child SAs with outbound SPI spi to out.
func (x *outIndex) appendAll(out []*ChildSA, spi uint32) []*ChildSA {
	if c := x.one[spi]; c != nil {
		out = append(out, c)
	}
	return append(out, x.more[spi]...)
}

// LastInbound is when the peer last sent an authenticated IKE message.
func (sa *IKESA) LastInbound() time.Time { return sa.lastInbound }

// Active is the Child SA the tunnel's outbound policy uses (nil while held).
func (t *Tunnel) Active() *ChildSA { return t.active }

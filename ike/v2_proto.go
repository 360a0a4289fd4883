package ike

import (
	"net/netip"
	"time"
)

// v2Protocol is IKEv2 (RFC 7296).
type v2Protocol struct{ e *Engine }

func (p v2Protocol) Version() int { return 2 }
func (p v2Protocol) Handle(local, remote netip.AddrPort, msg []byte) {
	p.e.handleV2(local, remote, msg)
}
func (p v2Protocol) Initiate(t *Tunnel) *IKESA { return p.e.v2Initiate(t) }
func (p v2Protocol) CheckTunnel(*TunnelConfig) {}
func (p v2Protocol) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	p.e.v2SendUnprotectedInvalidSPI(local, remote, spi)
}

// v2SA runs the exchanges of one IKEv2 SA.
type v2SA struct {
	e  *Engine
	sa *IKESA
}

func (s v2SA) CreateChild(t *Tunnel, done func(*ChildSA, error)) { s.e.v2CreateChild(s.sa, t, done) }
func (s v2SA) RekeyChild(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	s.e.v2RekeyChild(s.sa, c, budget, done)
}
func (s v2SA) DeleteChild(c *ChildSA, done func(error))        { s.e.v2DeleteChild(s.sa, c, done) }
func (s v2SA) DeleteLost(spi uint32)                           { s.e.v2DeleteLost(s.sa, spi) }
func (s v2SA) DeleteIKE()                                      { s.e.v2DeleteIKE(s.sa) }
func (s v2SA) RekeyIKE()                                       { s.e.v2RekeyIKE(s.sa) }
func (s v2SA) Liveness(budget time.Duration, done func(error)) { s.e.v2Liveness(s.sa, budget, done) }
func (s v2SA) Busy() bool                                      { return s.sa.pending != nil }
func (s v2SA) SendInvalidSPI(spi uint32)                       { s.e.v2SendInvalidSPI(s.sa, spi) }
func (s v2SA) Teardown(err error)                              { s.e.failQueued(s.sa, err) }
func (s v2SA) Wipe()                                           { s.sa.v2Wipe() }

package ike

import (
	"net/netip"
	"time"
)

// v1Protocol is IKEv1 (RFC 2409): Main Mode with PSK, Quick Mode, Informational.
type v1Protocol struct{ e *Engine }

func (p v1Protocol) Version() int { return 1 }
func (p v1Protocol) Handle(local, remote netip.AddrPort, msg []byte) {
	p.e.handleV1(local, remote, msg)
}
func (p v1Protocol) Initiate(t *Tunnel) *IKESA   { return p.e.v1Initiate(t, nil) }
func (p v1Protocol) CheckTunnel(c *TunnelConfig) { p.e.v1CheckTunnel(c) }
func (p v1Protocol) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	p.e.v1SendUnprotectedInvalidSPI(local, remote, spi)
}

// v1Ops runs the exchanges of one ISAKMP SA.
type v1Ops struct {
	e  *Engine
	sa *IKESA
}

func (s v1Ops) CreateChild(t *Tunnel, done func(*ChildSA, error)) { s.e.v1CreateChild(s.sa, t, done) }

// RekeyChild starts a new Quick Mode for the same selectors (IKEv1 has no REKEY_SA: an
// answered probe only proves that the peer could create the new SA).
func (s v1Ops) RekeyChild(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	s.e.v1QuickStart(s.sa, c.Tunnel, c, budget, done)
}
func (s v1Ops) DeleteChild(c *ChildSA, done func(error))        { s.e.v1DeleteChild(c, done) }
func (s v1Ops) DeleteLost(spi uint32)                           { s.e.v1DeleteLost(s.sa, spi) }
func (s v1Ops) DeleteIKE()                                      { s.e.v1DeleteIKE(s.sa) }
func (s v1Ops) RekeyIKE()                                       { s.e.v1RekeyIKE(s.sa) }
func (s v1Ops) Liveness(budget time.Duration, done func(error)) { s.e.v1Liveness(s.sa, budget, done) }
func (s v1Ops) Busy() bool                                      { return s.sa.v1.dpdWait != nil }
func (s v1Ops) SendInvalidSPI(spi uint32)                       { s.e.v1SendInvalidSPI(s.sa, spi) }
func (s v1Ops) Teardown(err error)                              { s.e.v1Teardown(s.sa, err) }
func (s v1Ops) Wipe()                                           { s.sa.v1Wipe() }

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

// v1of is the IKEv1 state of sa, nil if sa is not an ISAKMP SA.
func v1of(sa *IKESA) *v1SA {
	s, _ := sa.Proto().(*v1SA)
	return s
}

func (s *v1SA) CreateChild(t *Tunnel, done func(*ChildSA, error)) { s.e.v1CreateChild(s.sa, t, done) }

// RekeyChild starts a new Quick Mode for the same selectors (IKEv1 has no REKEY_SA: an
// answered probe only proves that the peer could create the new SA).
func (s *v1SA) RekeyChild(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	s.e.v1QuickStart(s.sa, c.Tunnel, c, budget, done)
}
func (s *v1SA) DeleteChild(c *ChildSA, done func(error))        { s.e.v1DeleteChild(c, done) }
func (s *v1SA) DeleteLost(spi uint32)                           { s.e.v1DeleteLost(s.sa, spi) }
func (s *v1SA) DeleteIKE()                                      { s.e.v1DeleteIKE(s.sa) }
func (s *v1SA) RekeyIKE()                                       { s.e.v1RekeyIKE(s.sa) }
func (s *v1SA) Liveness(budget time.Duration, done func(error)) { s.e.v1Liveness(s.sa, budget, done) }
func (s *v1SA) Busy() bool                                      { return s.dpdWait != nil }
func (s *v1SA) SendInvalidSPI(spi uint32)                       { s.e.v1SendInvalidSPI(s.sa, spi) }
func (s *v1SA) Teardown(err error)                              { s.e.v1Teardown(s.sa, err) }
func (s *v1SA) Wipe()                                           { s.wipe() }

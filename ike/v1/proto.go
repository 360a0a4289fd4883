package v1

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/ike"
)

// engine is the IKE engine as IKEv1 sees it: the core's services, plus the state IKEv1 keeps
// for all its SAs.
type engine struct {
	*ike.Engine
	refusals ike.Limiter // rate-limits answers to requests we refuse (Aggressive Mode, unknown peers)
}

// Protocol is IKEv1 (RFC 2409): Main Mode with PSK, Quick Mode, Informational.
type Protocol struct{ e *engine }

// New makes IKEv1 for the engine e (pass it to ike.New).
func New(e *ike.Engine) ike.Protocol { return Protocol{&engine{Engine: e}} }

func (p Protocol) Version() int                                    { return 1 }
func (p Protocol) Handle(local, remote netip.AddrPort, msg []byte) { p.e.handleV1(local, remote, msg) }
func (p Protocol) Initiate(t *ike.Tunnel) *ike.IKESA               { return p.e.v1Initiate(t, nil) }
func (p Protocol) CheckTunnel(c *ike.TunnelConfig)                 { p.e.v1CheckTunnel(c) }

// Classify: the encryption flag means protected, unencrypted Main Mode is set-up.
func (p Protocol) Classify(msg []byte) ike.MsgClass {
	switch {
	case msg[19]&0x01 != 0:
		return ike.ClassProtected
	case msg[18] == 2:
		return ike.ClassSetup
	}
	return ike.ClassOther
}
func (p Protocol) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	p.e.v1SendUnprotectedInvalidSPI(local, remote, spi)
}

// v1of is the IKEv1 state of sa, nil if sa is not an ISAKMP SA.
func v1of(sa *ike.IKESA) *v1SA {
	s, _ := sa.Proto().(*v1SA)
	return s
}

func (s *v1SA) CreateChild(t *ike.Tunnel, done func(*ike.ChildSA, error)) {
	s.e.v1CreateChild(s.sa, t, done)
}

// RekeyChild starts a new Quick Mode for the same selectors (IKEv1 has no REKEY_SA: an
// answered probe only proves that the peer could create the new SA).
func (s *v1SA) RekeyChild(c *ike.ChildSA, budget time.Duration, done func(*ike.ChildSA, error)) {
	s.e.v1QuickStart(s.sa, c.Tunnel, c, budget, done)
}
func (s *v1SA) DeleteChild(c *ike.ChildSA, done func(error))    { s.e.v1DeleteChild(c, done) }
func (s *v1SA) DeleteLost(spi uint32)                           { s.e.v1DeleteLost(s.sa, spi) }
func (s *v1SA) DeleteIKE()                                      { s.e.v1DeleteIKE(s.sa) }
func (s *v1SA) RekeyIKE()                                       { s.e.v1RekeyIKE(s.sa) }
func (s *v1SA) Liveness(budget time.Duration, done func(error)) { s.e.v1Liveness(s.sa, budget, done) }
func (s *v1SA) Busy() bool                                      { return s.dpdWait != nil }
func (s *v1SA) SendInvalidSPI(spi uint32)                       { s.e.v1SendInvalidSPI(s.sa, spi) }
func (s *v1SA) Teardown(err error)                              { s.e.v1Teardown(s.sa, err) }
func (s *v1SA) Wipe()                                           { s.wipe() }

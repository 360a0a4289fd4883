package ike

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// v2Protocol is IKEv2 (RFC 7296).
type v2Protocol struct{ e *Engine }

func (p v2Protocol) Version() int { return 2 }
func (p v2Protocol) Handle(local, remote netip.AddrPort, msg []byte) {
	p.e.handleV2(local, remote, msg)
}
func (p v2Protocol) Initiate(t *Tunnel) *IKESA { return p.e.v2Initiate(t) }
func (p v2Protocol) CheckTunnel(*TunnelConfig) {}

// Classify: an SK or SKF first payload is protected, IKE_SA_INIT is set-up.
func (p v2Protocol) Classify(msg []byte) MsgClass {
	switch {
	case msg[18] == 34:
		return ClassSetup
	case msg[16] == 46 || msg[16] == 53:
		return ClassProtected
	}
	return ClassOther
}
func (p v2Protocol) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	p.e.v2SendUnprotectedInvalidSPI(local, remote, spi)
}

// v2SA is the IKEv2 state of an IKESA (its SAProtocol).
type v2SA struct {
	e  *Engine
	sa *IKESA

	prf   crypto.PRF
	keys  crypto.IKEKeys
	out   wire.SKCipher
	in    wire.SKCipher
	ni    []byte
	nr    []byte
	dh    crypto.DH
	group uint16 // DH group offered in our KE

	initReq  []byte // IKE_SA_INIT request as sent/received (for AUTH)
	initResp []byte // IKE_SA_INIT response as sent/received
	cookie   []byte

	// Requests we initiate (window size 1).
	nextMsgID uint32
	pending   *request
	queue     []*request

	// Requests the peer initiates.
	peerMsgID  uint32 // next expected message ID
	lastResp   []byte // cached response to peerMsgID-1
	lastRespOK bool

	// Pending first Child SA (IKE_AUTH) of an initiator.
	authChild *childProposal
	rekeying  *ikeRekey // our IKE rekey in progress
}

// v2of is the IKEv2 state of sa, nil if sa is not an IKEv2 SA.
func v2of(sa *IKESA) *v2SA {
	s, _ := sa.Proto().(*v2SA)
	return s
}

func (s *v2SA) CreateChild(t *Tunnel, done func(*ChildSA, error)) { s.e.v2CreateChild(s.sa, t, done) }
func (s *v2SA) RekeyChild(c *ChildSA, budget time.Duration, done func(*ChildSA, error)) {
	s.e.v2RekeyChild(s.sa, c, budget, done)
}
func (s *v2SA) DeleteChild(c *ChildSA, done func(error))        { s.e.v2DeleteChild(s.sa, c, done) }
func (s *v2SA) DeleteLost(spi uint32)                           { s.e.v2DeleteLost(s.sa, spi) }
func (s *v2SA) DeleteIKE()                                      { s.e.v2DeleteIKE(s.sa) }
func (s *v2SA) RekeyIKE()                                       { s.e.v2RekeyIKE(s.sa) }
func (s *v2SA) Liveness(budget time.Duration, done func(error)) { s.e.v2Liveness(s.sa, budget, done) }
func (s *v2SA) Busy() bool                                      { return s.pending != nil }
func (s *v2SA) SendInvalidSPI(spi uint32)                       { s.e.v2SendInvalidSPI(s.sa, spi) }
func (s *v2SA) Teardown(err error)                              { s.e.failQueued(s.sa, err) }
func (s *v2SA) Wipe()                                           { s.sa.v2Wipe() }

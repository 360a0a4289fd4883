package v2

import (
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ike"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// engine is the IKE engine as IKEv2 sees it: the core's services, plus the state IKEv2 keeps
// for all its SAs.
type engine struct {
	*ike.Engine
	cookies       cookieJar
	invalidIKESPI ike.Limiter // INVALID_IKE_SPI answers to requests for IKE SAs we do not have
}

// Protocol is IKEv2 (RFC 7296).
type Protocol struct{ e *engine }

// New makes IKEv2 for the engine e (pass it to ike.New).
func New(e *ike.Engine) ike.Protocol {
	v := &engine{Engine: e}
	v.cookies.init(e.Rand(), time.Now())
	return Protocol{v}
}

func (p Protocol) Version() int                                    { return 2 }
func (p Protocol) Handle(local, remote netip.AddrPort, msg []byte) { p.e.handleV2(local, remote, msg) }
func (p Protocol) Initiate(t *ike.Tunnel) *ike.IKESA               { return p.e.v2Initiate(t) }
func (p Protocol) CheckTunnel(*ike.TunnelConfig)                   {}

// Classify: an SK or SKF first payload is protected, IKE_SA_INIT is set-up.
func (p Protocol) Classify(msg []byte) ike.MsgClass {
	switch {
	case msg[18] == 34:
		return ike.ClassSetup
	case msg[16] == 46 || msg[16] == 53:
		return ike.ClassProtected
	}
	return ike.ClassOther
}
func (p Protocol) SendUnprotectedInvalidSPI(local, remote netip.AddrPort, spi uint32) {
	p.e.v2SendUnprotectedInvalidSPI(local, remote, spi)
}

// v2SA is the IKEv2 state of an ike.IKESA (its ike.SAProtocol).
type v2SA struct {
	e  *engine
	sa *ike.IKESA

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
func v2of(sa *ike.IKESA) *v2SA {
	s, _ := sa.Proto().(*v2SA)
	return s
}

func (s *v2SA) CreateChild(t *ike.Tunnel, done func(*ike.ChildSA, error)) {
	s.e.v2CreateChild(s.sa, t, done)
}
func (s *v2SA) RekeyChild(c *ike.ChildSA, budget time.Duration, done func(*ike.ChildSA, error)) {
	s.e.v2RekeyChild(s.sa, c, budget, done)
}
func (s *v2SA) DeleteChild(c *ike.ChildSA, done func(error))    { s.e.v2DeleteChild(s.sa, c, done) }
func (s *v2SA) DeleteLost(spi uint32)                           { s.e.v2DeleteLost(s.sa, spi) }
func (s *v2SA) DeleteIKE()                                      { s.e.v2DeleteIKE(s.sa) }
func (s *v2SA) RekeyIKE()                                       { s.e.v2RekeyIKE(s.sa) }
func (s *v2SA) Liveness(budget time.Duration, done func(error)) { s.e.v2Liveness(s.sa, budget, done) }
func (s *v2SA) Busy() bool                                      { return s.pending != nil }
func (s *v2SA) SendInvalidSPI(spi uint32)                       { s.e.v2SendInvalidSPI(s.sa, spi) }
func (s *v2SA) Teardown(err error)                              { s.e.failQueued(s.sa, err) }
func (s *v2SA) Wipe()                                           { v2Wipe(s.sa) }

// v2Wipe clears an IKEv2 SA's keys.
func v2Wipe(sa *ike.IKESA) {
	v2of(sa).keys.Wipe()
	if v2of(sa).dh != nil {
		crypto.WipeDH(v2of(sa).dh)
	}
	v2of(sa).dh = nil
	v2of(sa).ni, v2of(sa).nr = nil, nil // may be shared with the first Child SA: dropped, not cleared
}

// peerSPI extracts the peer's SPI from a message header.
func peerSPI(sa *ike.IKESA, h wire.Header) uint64 {
	if sa.Initiator {
		return h.SPIr
	}
	return h.SPIi
}

func header(sa *ike.IKESA, exch wire.ExchangeType, msgID uint32, response bool) wire.Header {
	var f wire.Flags
	if sa.Initiator {
		f |= wire.FlagInitiator
	}
	if response {
		f |= wire.FlagResponse
	}
	return wire.Header{SPIi: sa.SPIi, SPIr: sa.SPIr, Version: 0x20, Exchange: exch, Flags: f, MessageID: msgID}
}

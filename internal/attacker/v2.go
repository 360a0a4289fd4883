package attacker

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev2/proposal"
	"github.com/vigil-ipsec/vigil/ikev2/wire"
)

// DefaultIKE and DefaultESP are vigild's default proposals.
const (
	DefaultIKE = "aes128gcm16-prfsha256-x25519"
	DefaultESP = "aes128gcm16"
)

// V2 is an IKEv2 initiator. Create it with NewV2, then call Init; afterwards Auth,
// CreateChild, Informational or Request in any order the test needs (including none of the
// authenticated ones).
type V2 struct {
	T       Transport
	Timeout time.Duration // how long to wait for each answer (default 2 s)

	ike []crypto.Proposal
	esp []crypto.Proposal

	SPIi, SPIr uint64
	Suite      crypto.Suite
	Cookie     []byte // the last COOKIE the responder demanded
	// InitResponse is the responder's IKE_SA_INIT answer (after any cookie round).
	InitResponse *wire.Message

	ni, nr   []byte
	initReq  []byte
	initResp []byte
	prf      crypto.PRF
	keys     crypto.IKEKeys
	out, in  wire.SKCipher
	nextID   uint32 // message ID of our next request
	peerNext uint32 // message ID of the responder's next request
}

// NewV2 prepares an initiator with the given proposals ("" means vigild's defaults).
func NewV2(t Transport, ikeProposals, espProposals string) (*V2, error) {
	if ikeProposals == "" {
		ikeProposals = DefaultIKE
	}
	if espProposals == "" {
		espProposals = DefaultESP
	}
	ip, err := crypto.ParseProposals(ikeProposals, true)
	if err != nil {
		return nil, err
	}
	ep, err := crypto.ParseProposals(espProposals, false)
	if err != nil {
		return nil, err
	}
	a := &V2{T: t, Timeout: 2 * time.Second, ike: ip, esp: ep}
	a.SPIi = randU64() | 1
	return a, nil
}

func randU64() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// RandomSPI returns a random Child SA SPI above the reserved range.
func RandomSPI() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:]) | 0x1000
}

func nonce() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// Established reports whether Init produced keys.
func (a *V2) Established() bool { return a.out != nil }

// InitRequest builds an IKE_SA_INIT request for SPI spii with a fresh nonce and DH key,
// carrying cookie if not nil. It is what Init sends; floods use it directly.
func (a *V2) InitRequest(spii uint64, cookie []byte) ([]byte, crypto.DH, []byte, error) {
	dh, err := crypto.NewDH(a.ike[0].DH[0], rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	ni := nonce()
	return a.initRequestWith(spii, cookie, dh, ni), dh, ni, nil
}

// initRequestWith builds an IKE_SA_INIT request with the given key and nonce: a retry with a
// COOKIE must leave every other payload unchanged (RFC 7296 2.6), and responders bind their
// cookies to the nonce.
func (a *V2) initRequestWith(spii uint64, cookie []byte, dh crypto.DH, ni []byte) []byte {
	group := a.ike[0].DH[0]
	var ps []wire.Payload
	if cookie != nil {
		ps = append(ps, &wire.Notify{Type: wire.NotifyCookie, Data: cookie})
	}
	ps = append(ps,
		&wire.SA{Proposals: proposal.ToWire(a.ike, wire.ProtocolIKE, nil)},
		&wire.KE{Group: group, Data: dh.PublicKey()},
		&wire.Nonce{Data: ni})
	h := wire.Header{SPIi: spii, Version: wire.Version, Exchange: wire.ExchangeIKESAInit, Flags: wire.FlagInitiator}
	m := &wire.Message{Header: h, Payloads: ps}
	return m.Append(nil)
}

// InitOnce sends one IKE_SA_INIT (with cookie if not nil) and returns the parsed answer
// without acting on it.
func (a *V2) InitOnce(cookie []byte) (*wire.Message, error) {
	raw, _, _, err := a.InitRequest(a.SPIi, cookie)
	if err != nil {
		return nil, err
	}
	if err := a.T.Send(raw); err != nil {
		return nil, err
	}
	return a.awaitInit(a.SPIi)
}

func (a *V2) awaitInit(spii uint64) (*wire.Message, error) {
	deadline := time.Now().Add(a.timeout())
	for {
		b, err := a.T.Recv(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		h, err := wire.ParseHeader(b)
		if err != nil || h.Exchange != wire.ExchangeIKESAInit || !h.IsResponse() || h.SPIi != spii {
			continue
		}
		return wire.ParseMessage(b)
	}
}

func (a *V2) timeout() time.Duration {
	if a.Timeout <= 0 {
		return 2 * time.Second
	}
	return a.Timeout
}

// NotifyError is an error notify in an answer.
type NotifyError struct{ Type wire.NotifyType }

func (e *NotifyError) Error() string { return "responder answered " + e.Type.String() }

// FirstError returns the first error notify of m, or 0.
func FirstError(m *wire.Message) wire.NotifyType {
	for _, n := range m.Notifies() {
		if n.Type.IsError() {
			return n.Type
		}
	}
	return 0
}

// Init runs IKE_SA_INIT for a new IKE SA (a fresh SPIi, so that it does not collide with an
// earlier InitOnce): it answers a COOKIE demand once and derives the IKE SA keys.
func (a *V2) Init() error {
	a.SPIi = randU64() | 1
	var cookie []byte
	dh, err := crypto.NewDH(a.ike[0].DH[0], rand.Reader)
	if err != nil {
		return err
	}
	ni := nonce()
	for round := 0; round < 2; round++ {
		raw := a.initRequestWith(a.SPIi, cookie, dh, ni)
		if err := a.T.Send(raw); err != nil {
			return err
		}
		m, err := a.awaitInit(a.SPIi)
		if err != nil {
			return err
		}
		if n := m.Notify(wire.NotifyCookie); n != nil {
			cookie = append([]byte(nil), n.Data...)
			a.Cookie = cookie
			continue
		}
		if ne := FirstError(m); ne != 0 {
			return &NotifyError{ne}
		}
		return a.finishInit(raw, m, dh, ni)
	}
	return errors.New("attacker: responder demanded a cookie twice")
}

func (a *V2) finishInit(req []byte, m *wire.Message, dh crypto.DH, ni []byte) error {
	sap, ke, nr := m.SA(), m.KE(), m.Nonce()
	if sap == nil || ke == nil || nr == nil || len(sap.Proposals) != 1 {
		return fmt.Errorf("attacker: IKE_SA_INIT answer %v lacks SA, KE or Nonce", m)
	}
	suite, err := proposal.SuiteFromAccepted(sap.Proposals[0])
	if err != nil {
		return err
	}
	gir, err := dh.SharedSecret(ke.Data)
	if err != nil {
		return err
	}
	prf, err := crypto.NewPRF(suite.PRF)
	if err != nil {
		return err
	}
	a.SPIr, a.Suite, a.ni, a.nr = m.SPIr, suite, ni, nr.Data
	keys, err := crypto.DeriveIKEKeys(suite, a.ni, a.nr, gir, a.SPIi, a.SPIr)
	if err != nil {
		return err
	}
	out, err := crypto.NewSKCipher(suite, keys.SKei, keys.SKai)
	if err != nil {
		return err
	}
	in, err := crypto.NewSKCipher(suite, keys.SKer, keys.SKar)
	if err != nil {
		return err
	}
	a.prf, a.keys, a.out, a.in = prf, keys, out, in
	a.initReq, a.initResp = req, m.Append(nil)
	a.InitResponse = m
	a.nextID = 1
	return nil
}

// Seal builds an encrypted request with the next message ID (and consumes that ID) without
// sending it.
func (a *V2) Seal(exch wire.ExchangeType, ps []wire.Payload) []byte {
	h := wire.Header{SPIi: a.SPIi, SPIr: a.SPIr, Version: wire.Version, Exchange: exch, Flags: wire.FlagInitiator, MessageID: a.nextID}
	a.nextID++
	return wire.AppendEncrypted(nil, h, ps, a.out)
}

// Request sends an encrypted request and returns the decrypted answer.
func (a *V2) Request(exch wire.ExchangeType, ps ...wire.Payload) (*wire.Message, error) {
	if a.out == nil {
		return nil, errors.New("attacker: no IKE SA keys (run Init first)")
	}
	id := a.nextID
	raw := a.Seal(exch, ps)
	return a.SendAwait(raw, id)
}

// SendAwait sends raw (a request with message ID id) and waits for its answer, answering
// the responder's own requests (liveness checks) meanwhile with empty responses.
func (a *V2) SendAwait(raw []byte, id uint32) (*wire.Message, error) {
	return a.sendAwaitOn(a.T, raw, id)
}

// SendAwaitVia is SendAwait over another transport (a request from another address or port).
func (a *V2) SendAwaitVia(t Transport, raw []byte, id uint32) (*wire.Message, error) {
	return a.sendAwaitOn(t, raw, id)
}

func (a *V2) sendAwaitOn(t Transport, raw []byte, id uint32) (*wire.Message, error) {
	if err := t.Send(raw); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(a.timeout())
	for {
		b, err := t.Recv(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		h, err := wire.ParseHeader(b)
		if err != nil || h.SPIi != a.SPIi || h.SPIr != a.SPIr {
			continue
		}
		if !h.IsResponse() {
			a.answer(t, h, b)
			continue
		}
		if h.MessageID != id {
			continue
		}
		return wire.OpenEncrypted(b, a.in)
	}
}

// answer acknowledges a request of the responder with an empty response.
func (a *V2) answer(t Transport, h wire.Header, b []byte) {
	if _, err := wire.OpenEncrypted(b, a.in); err != nil {
		return
	}
	rh := wire.Header{SPIi: a.SPIi, SPIr: a.SPIr, Version: wire.Version, Exchange: h.Exchange, Flags: wire.FlagInitiator | wire.FlagResponse, MessageID: h.MessageID}
	t.Send(wire.AppendEncrypted(nil, rh, nil, a.out))
}

// Serve answers the responder's requests (liveness checks, Deletes) for d.
func (a *V2) Serve(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, err := a.T.Recv(time.Until(deadline))
		if err != nil {
			return
		}
		h, err := wire.ParseHeader(b)
		if err == nil && !h.IsResponse() && h.SPIi == a.SPIi && h.SPIr == a.SPIr {
			a.answer(a.T, h, b)
		}
	}
}

// Informational sends an INFORMATIONAL request with the given payloads.
func (a *V2) Informational(ps ...wire.Payload) (*wire.Message, error) {
	return a.Request(wire.ExchangeInformational, ps...)
}

// Identity is an IKE identity (type and data).
type Identity struct {
	Type wire.IDType
	Data []byte
}

// FQDN is an ID_FQDN identity.
func FQDN(name string) Identity { return Identity{wire.IDFQDN, []byte(name)} }

// ChildReq describes the Child SA an attacker proposes.
type ChildReq struct {
	SPI      uint32                 // our inbound SPI (the responder's outbound one)
	TSi, TSr []wire.TrafficSelector // as proposed, not narrowed
	RekeySPI uint32                 // CREATE_CHILD_SA only: rekey this SA (REKEY_SA)
}

// childPayloads builds SA (ESP, no DH), TSi and TSr.
func (a *V2) childPayloads(c ChildReq) []wire.Payload {
	var spi [4]byte
	binary.BigEndian.PutUint32(spi[:], c.SPI)
	esp := crypto.WithoutDH(a.esp)
	return []wire.Payload{
		&wire.SA{Proposals: proposal.ToWire(esp, wire.ProtocolESP, spi[:])},
		&wire.TrafficSelectors{Selectors: c.TSi},
		&wire.TrafficSelectors{Responder: true, Selectors: c.TSr},
	}
}

// Auth runs IKE_AUTH with a PSK as identity id (idr, if its Data is set, names the responder)
// and proposes child, if not nil. It returns the answer; an AUTHENTICATION_FAILED or a bad
// AUTH from the responder is an error, a refused Child SA is not (see ChildRefused).
func (a *V2) Auth(psk []byte, id, idr Identity, child *ChildReq, extra ...wire.Payload) (*wire.Message, error) {
	if a.out == nil {
		return nil, errors.New("attacker: no IKE SA keys (run Init first)")
	}
	idi := &wire.ID{IDType: id.Type, Data: id.Data}
	ps := []wire.Payload{idi}
	if len(idr.Data) > 0 {
		ps = append(ps, &wire.ID{Responder: true, IDType: idr.Type, Data: idr.Data})
	}
	ps = append(ps, &wire.Auth{Method: wire.AuthSharedKey, Data: a.pskAuth(psk, a.initReq, a.nr, a.keys.SKpi, idi)})
	ps = append(ps, extra...)
	if child != nil {
		ps = append(ps, a.childPayloads(*child)...)
	}
	m, err := a.Request(wire.ExchangeIKEAuth, ps...)
	if err != nil {
		return nil, err
	}
	if m.Notify(wire.NotifyAuthenticationFailed) != nil {
		return m, &NotifyError{wire.NotifyAuthenticationFailed}
	}
	rid, auth := m.IDr(), m.Auth()
	if rid == nil || auth == nil {
		return m, fmt.Errorf("attacker: IKE_AUTH answer %v without IDr or AUTH", m)
	}
	want := a.pskAuth(psk, a.initResp, a.ni, a.keys.SKpr, rid)
	if string(want) != string(auth.Data) {
		return m, errors.New("attacker: responder's AUTH does not verify")
	}
	return m, nil
}

// pskAuth is the AUTH value of RFC 7296 2.15 for a shared key.
func (a *V2) pskAuth(psk, initMsg, otherNonce, skp []byte, id *wire.ID) []byte {
	octets := append(append([]byte(nil), initMsg...), otherNonce...)
	octets = append(octets, a.prf.Compute(skp, id.RestOfPayload())...)
	return crypto.PSKAuth(a.prf, psk, octets)
}

// CreateChild sends CREATE_CHILD_SA for a new Child SA (or a rekey when c.RekeySPI is set).
func (a *V2) CreateChild(c ChildReq) (*wire.Message, error) {
	var ps []wire.Payload
	if c.RekeySPI != 0 {
		var spi [4]byte
		binary.BigEndian.PutUint32(spi[:], c.RekeySPI)
		ps = append(ps, &wire.Notify{Protocol: wire.ProtocolESP, SPI: spi[:], Type: wire.NotifyRekeySA})
	}
	cps := a.childPayloads(c)
	ps = append(ps, cps[0], &wire.Nonce{Data: nonce()}, cps[1], cps[2])
	return a.Request(wire.ExchangeCreateChildSA, ps...)
}

// ChildRefused returns the error notify of a Child SA answer, or 0 if the responder
// accepted (an SA payload and no error notify).
func ChildRefused(m *wire.Message) wire.NotifyType {
	if ne := FirstError(m); ne != 0 {
		return ne
	}
	if m.SA() == nil {
		return wire.NotifyType(0xffff)
	}
	return 0
}

// ResponderSPI returns the SPI the responder chose for a Child SA it accepted.
func ResponderSPI(m *wire.Message) (uint32, bool) {
	sa := m.SA()
	if sa == nil || len(sa.Proposals) != 1 || len(sa.Proposals[0].SPI) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(sa.Proposals[0].SPI), true
}

// SPIBytes encodes a Child SA SPI for Notify and Delete payloads.
func SPIBytes(spi uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], spi)
	return b[:]
}

// InvalidSPI is the INVALID_SPI notify naming spi (RFC 7296 3.10.1).
func InvalidSPI(spi uint32) *wire.Notify {
	return &wire.Notify{Type: wire.NotifyInvalidSPI, Data: SPIBytes(spi)}
}

// DeleteESP is a Delete payload for ESP SPIs.
func DeleteESP(spis ...uint32) *wire.Delete {
	d := &wire.Delete{Protocol: wire.ProtocolESP}
	for _, s := range spis {
		d.SPIs = append(d.SPIs, SPIBytes(s))
	}
	return d
}

// UnprotectedInvalidSPI is an unprotected INFORMATIONAL carrying INVALID_SPI for spi, with the
// given IKE SPIs in the header (zero for none), as RFC 7296 2.21.4 allows.
func UnprotectedInvalidSPI(spii, spir uint64, spi uint32, response bool) []byte {
	h := wire.Header{SPIi: spii, SPIr: spir, Version: wire.Version, Exchange: wire.ExchangeInformational}
	if response {
		h.Flags = wire.FlagResponse
	}
	m := &wire.Message{Header: h, Payloads: []wire.Payload{InvalidSPI(spi)}}
	return m.Append(nil)
}

// NextMessageID is the message ID the next request will carry.
func (a *V2) NextMessageID() uint32 { return a.nextID }

// RandomSPI64 returns a random IKE SPI.
func RandomSPI64() uint64 { return randU64() | 1 }

package attacker

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/ikev1/v1crypto"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

// V1 is an IKEv1 initiator: Main Mode with a pre-shared key, then Quick Modes and
// Informationals with message IDs of the caller's choice. Its phase 1 proposal is fixed:
// AES-128-CBC, SHA-256, ECP-256 (vigild's first IKEv1 default); Quick Modes propose
// AES-GCM-16 with 128-bit keys, tunnel mode, no PFS.
type V1 struct {
	T       Transport
	Timeout time.Duration // how long to wait for each answer (default 2 s)

	CookieI, CookieR uint64

	keys *v1crypto.Phase1Keys
	p1   *v1crypto.CBC // phase 1 CBC state after Main Mode (its IV seeds phase 2 IVs)
}

// NewV1 prepares an IKEv1 initiator.
func NewV1(t Transport) *V1 { return &V1{T: t, Timeout: 2 * time.Second, CookieI: randU64() | 1} }

func (a *V1) timeout() time.Duration {
	if a.Timeout <= 0 {
		return 2 * time.Second
	}
	return a.Timeout
}

const (
	v1Hash  = v1crypto.SHA256
	v1Group = crypto.DHECP256
)

// await returns the next message of our ISAKMP SA with message ID mid (any exchange if
// exch is 0).
func (a *V1) await(mid uint32, exch v1wire.ExchangeType) ([]byte, v1wire.Header, error) {
	deadline := time.Now().Add(a.timeout())
	for {
		b, err := a.T.Recv(time.Until(deadline))
		if err != nil {
			return nil, v1wire.Header{}, err
		}
		h, err := v1wire.ParseHeader(b)
		if err != nil || h.CookieI != a.CookieI || h.MessageID != mid || (exch != 0 && h.Exchange != exch) {
			continue
		}
		return b, h, nil
	}
}

// MainMode authenticates with psk as identity id (an FQDN or address ID).
func (a *V1) MainMode(psk []byte, id *v1wire.ID) error {
	attrs := []v1wire.Attribute{
		v1wire.BasicAttr(v1wire.IKEAttrEncryption, v1wire.IKEEncrAESCBC),
		v1wire.BasicAttr(v1wire.IKEAttrKeyLength, 128),
		v1wire.BasicAttr(v1wire.IKEAttrHash, uint16(v1Hash)),
		v1wire.BasicAttr(v1wire.IKEAttrGroupDescription, v1Group),
		v1wire.BasicAttr(v1wire.IKEAttrAuthMethod, v1wire.IKEAuthPSK),
	}
	sa := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoISAKMP,
		Transforms: []v1wire.Transform{{Number: 1, ID: v1wire.TransformKeyIKE, Attributes: attrs}}}}}
	h := v1wire.Header{CookieI: a.CookieI, Version: v1wire.Version, Exchange: v1wire.ExchangeMainMode}
	mm1 := (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{sa}}).Append(nil)
	parsed, err := v1wire.ParseMessage(mm1)
	if err != nil {
		return err
	}
	saiB := bytes.Clone(parsed.Body(parsed.Index(v1wire.PayloadSA)))
	if err := a.T.Send(mm1); err != nil {
		return err
	}
	b, rh, err := a.await(0, v1wire.ExchangeMainMode)
	if err != nil {
		return fmt.Errorf("Main Mode message 2: %w", err)
	}
	m2, err := v1wire.ParseMessage(b)
	if err != nil {
		return err
	}
	if m2.SA() == nil {
		return fmt.Errorf("attacker: Main Mode message 2 without SA (%v)", m2.Notifications())
	}
	a.CookieR = rh.CookieR
	dh, err := crypto.NewDH(v1Group, rand.Reader)
	if err != nil {
		return err
	}
	ni := nonce()
	h.CookieR = a.CookieR
	mm3 := (&v1wire.Message{Header: h, Payloads: []v1wire.Payload{&v1wire.KE{Data: dh.PublicKey()}, &v1wire.Nonce{Data: ni}}}).Append(nil)
	if err := a.T.Send(mm3); err != nil {
		return err
	}
	var m4 *v1wire.Message
	for m4 == nil || m4.KE() == nil {
		b, _, err = a.await(0, v1wire.ExchangeMainMode)
		if err != nil {
			return fmt.Errorf("Main Mode message 4: %w", err)
		}
		if m4, err = v1wire.ParseMessage(b); err != nil {
			return err
		}
	}
	ke, nr := m4.KE(), m4.Nonce()
	if nr == nil {
		return errors.New("attacker: Main Mode message 4 without nonce")
	}
	gxy, err := dh.SharedSecret(ke.Data)
	if err != nil {
		return err
	}
	keys, err := v1crypto.DerivePhase1PSK(v1crypto.Phase1Params{Hash: v1Hash, EncKeyLen: 16, PSK: psk,
		Ni: ni, Nr: nr.Data, GXi: dh.PublicKey(), GXr: ke.Data, GXY: gxy, CookieI: a.CookieI, CookieR: a.CookieR})
	if err != nil {
		return err
	}
	p1, err := keys.Cipher()
	if err != nil {
		return err
	}
	hashI := keys.HashI(saiB, v1wire.AppendBody(nil, id))
	mm5 := v1wire.AppendEncrypted(nil, h, []v1wire.Payload{id, &v1wire.Hash{Data: hashI}}, p1)
	if err := a.T.Send(mm5); err != nil {
		return err
	}
	b, _, err = a.await(0, v1wire.ExchangeMainMode)
	if err != nil {
		return fmt.Errorf("Main Mode message 6: %w", err)
	}
	m6, err := v1wire.OpenEncrypted(b, p1)
	if err != nil {
		return fmt.Errorf("attacker: Main Mode message 6: %w", err)
	}
	i := m6.Index(v1wire.PayloadID)
	if i < 0 || m6.Hash() == nil || !hmac.Equal(m6.Hash().Data, keys.HashR(saiB, m6.Body(i))) {
		return errors.New("attacker: responder's HASH_R does not verify")
	}
	a.keys, a.p1 = keys, p1
	return nil
}

// QuickReq describes a Quick Mode the attacker starts.
type QuickReq struct {
	MessageID  uint32
	SPI        uint32 // our inbound SPI (the responder's outbound one)
	Local      netip.Prefix
	Remote     netip.Prefix // the responder's side
	SkipFinish bool         // do not send message 3
}

// Quick is the outcome of a Quick Mode.
type Quick struct {
	Message1    []byte // the raw message 1 as sent (for replays)
	ResponderSA uint32 // the responder's inbound SPI, from message 2
	Answer      *v1wire.Message
}

// QuickMode runs a Quick Mode as initiator.
func (a *V1) QuickMode(q QuickReq) (*Quick, error) {
	if a.keys == nil {
		return nil, errors.New("attacker: no ISAKMP SA (run MainMode first)")
	}
	cbc, err := a.keys.ExchangeCipher(a.p1, q.MessageID)
	if err != nil {
		return nil, err
	}
	idci, err := v1wire.NewSubnetID(q.Local)
	if err != nil {
		return nil, err
	}
	idcr, err := v1wire.NewSubnetID(q.Remote)
	if err != nil {
		return nil, err
	}
	attrs := []v1wire.Attribute{
		v1wire.BasicAttr(v1wire.IPsecAttrEncapsulation, v1wire.EncapTunnel),
		v1wire.BasicAttr(v1wire.IPsecAttrKeyLength, 128),
	}
	sa := &v1wire.SA{Proposals: []v1wire.Proposal{{Number: 1, Protocol: v1wire.ProtoESP, SPI: SPIBytes(q.SPI),
		Transforms: []v1wire.Transform{{Number: 1, ID: v1wire.TransformESPAESGCM16, Attributes: attrs}}}}}
	ni := nonce()
	rest := []v1wire.Payload{sa, &v1wire.Nonce{Data: ni}, idci, idcr}
	hash := a.keys.QuickHash1(q.MessageID, v1wire.AppendPayloads(nil, rest))
	raw := v1wire.AppendEncrypted(nil, a.header(v1wire.ExchangeQuickMode, q.MessageID), append([]v1wire.Payload{&v1wire.Hash{Data: hash}}, rest...), cbc)
	out := &Quick{Message1: raw}
	if err := a.T.Send(raw); err != nil {
		return out, err
	}
	b, h, err := a.await(q.MessageID, 0)
	if err != nil {
		return out, err
	}
	if h.Exchange != v1wire.ExchangeQuickMode {
		return out, fmt.Errorf("attacker: Quick Mode answered with exchange %v", h.Exchange)
	}
	m2, err := v1wire.OpenEncrypted(b, cbc)
	if err != nil {
		return out, err
	}
	out.Answer = m2
	sap, nr := m2.SA(), m2.Nonce()
	if sap == nil || nr == nil || len(sap.Proposals) != 1 || len(sap.Proposals[0].SPI) != 4 {
		return out, errors.New("attacker: Quick Mode message 2 lacks SA or nonce")
	}
	if !hmac.Equal(m2.Hash().Data, a.keys.QuickHash2(q.MessageID, ni, m2.After(0))) {
		return out, errors.New("attacker: Quick Mode HASH(2) does not verify")
	}
	out.ResponderSA = binary.BigEndian.Uint32(sap.Proposals[0].SPI)
	if q.SkipFinish {
		return out, nil
	}
	m3 := v1wire.AppendEncrypted(nil, a.header(v1wire.ExchangeQuickMode, q.MessageID), []v1wire.Payload{&v1wire.Hash{Data: a.keys.QuickHash3(q.MessageID, ni, nr.Data)}}, cbc)
	return out, a.T.Send(m3)
}

func (a *V1) header(exch v1wire.ExchangeType, mid uint32) v1wire.Header {
	return v1wire.Header{CookieI: a.CookieI, CookieR: a.CookieR, Version: v1wire.Version, Exchange: exch, MessageID: mid}
}

// Informational sends a protected Informational with HASH(1) and the given payloads under
// message ID mid. It does not wait for anything.
func (a *V1) Informational(mid uint32, ps ...v1wire.Payload) error {
	if a.keys == nil {
		return errors.New("attacker: no ISAKMP SA (run MainMode first)")
	}
	cbc, err := a.keys.ExchangeCipher(a.p1, mid)
	if err != nil {
		return err
	}
	hash := a.keys.InfoHash(mid, v1wire.AppendPayloads(nil, ps))
	raw := v1wire.AppendEncrypted(nil, a.header(v1wire.ExchangeInformational, mid), append([]v1wire.Payload{&v1wire.Hash{Data: hash}}, ps...), cbc)
	return a.T.Send(raw)
}

// Ping sends an R-U-THERE (RFC 3706) in a new Informational with message ID mid and waits
// for the R-U-THERE-ACK, which vigild sends in an Informational of its own. Many pings with
// fresh message IDs push older IDs out of a bounded replay memory.
func (a *V1) Ping(mid, seq uint32) error {
	if err := a.Informational(mid, v1wire.NewDPD(v1wire.NotifyRUThere, a.CookieI, a.CookieR, seq)); err != nil {
		return err
	}
	deadline := time.Now().Add(a.timeout())
	for {
		b, err := a.T.Recv(time.Until(deadline))
		if err != nil {
			return err
		}
		h, err := v1wire.ParseHeader(b)
		if err != nil || h.CookieI != a.CookieI || h.Exchange != v1wire.ExchangeInformational || !h.Encrypted() {
			continue
		}
		cbc, err := a.keys.ExchangeCipher(a.p1, h.MessageID)
		if err != nil {
			continue
		}
		m, err := v1wire.OpenEncrypted(b, cbc)
		if err != nil {
			continue
		}
		if n := m.Notification(v1wire.NotifyRUThereAck); n != nil {
			if s, ok := n.DPDSequence(); ok && s == seq {
				return nil
			}
		}
	}
}

// Replay sends raw bytes again, verbatim.
func (a *V1) Replay(raw []byte) error { return a.T.Send(raw) }

// AwaitQuick waits for a Quick Mode message with message ID mid (the answer to a replay) and
// returns it undecrypted: its IV continues the CBC chain of the message it answers.
func (a *V1) AwaitQuick(mid uint32) ([]byte, error) {
	b, _, err := a.await(mid, v1wire.ExchangeQuickMode)
	return b, err
}

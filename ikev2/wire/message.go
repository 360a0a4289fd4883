package wire

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// Message is a decoded IKE message: the header and its payloads in order.
type Message struct {
	Header
	Payloads []Payload
}

// ParseMessage decodes an unprotected IKE message (such as IKE_SA_INIT).
// Bytes beyond the header's Length field are ignored. If an SK or SKF
// payload is present it must be the last payload; it is returned
// undecrypted as *Encrypted (see OpenEncrypted), or as *Unknown for SKF.
// An unrecognised payload with the critical bit set yields an error
// wrapping ErrUnsupportedCritical. The result does not alias b.
func ParseMessage(b []byte) (*Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	buf := bytes.Clone(b[HeaderLen:h.Length])
	ps, _, err := parseChain(h.NextPayload, buf, true)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// Append encodes m after b. The header's NextPayload and Length are derived
// from the payloads (m itself is not modified); a zero Version is written
// as 0x20. Any *Encrypted payload must be last.
func (m *Message) Append(b []byte) []byte {
	start := len(b)
	h := m.Header
	h.NextPayload = firstType(m.Payloads)
	if h.Version == 0 {
		h.Version = Version
	}
	b = h.Append(b)
	b = AppendPayloads(b, m.Payloads)
	isakmp.SetLength(b[start:])
	return b
}

// Get returns the first payload of type t, or nil.
func (m *Message) Get(t PayloadType) Payload {
	for _, p := range m.Payloads {
		if p.PayloadType() == t {
			return p
		}
	}
	return nil
}

// Notify returns the first Notify payload of type t, or nil.
func (m *Message) Notify(t NotifyType) *Notify {
	for _, p := range m.Payloads {
		if n, ok := p.(*Notify); ok && n.Type == t {
			return n
		}
	}
	return nil
}

// Notifies returns all Notify payloads in order.
func (m *Message) Notifies() []*Notify { return all[*Notify](m) }

// Deletes returns all Delete payloads in order.
func (m *Message) Deletes() []*Delete { return all[*Delete](m) }

// Certs returns all CERT payloads in order.
func (m *Message) Certs() []*Cert { return all[*Cert](m) }

// CertReqs returns all CERTREQ payloads in order.
func (m *Message) CertReqs() []*CertReq { return all[*CertReq](m) }

// VendorIDs returns all Vendor ID payloads in order.
func (m *Message) VendorIDs() []*VendorID { return all[*VendorID](m) }

// SA returns the first SA payload, or nil.
func (m *Message) SA() *SA { return first[*SA](m) }

// KE returns the first KE payload, or nil.
func (m *Message) KE() *KE { return first[*KE](m) }

// Nonce returns the first Nonce payload, or nil.
func (m *Message) Nonce() *Nonce { return first[*Nonce](m) }

// Auth returns the first AUTH payload, or nil.
func (m *Message) Auth() *Auth { return first[*Auth](m) }

// CP returns the first Configuration payload, or nil.
func (m *Message) CP() *CP { return first[*CP](m) }

// EAP returns the first EAP payload, or nil.
func (m *Message) EAP() *EAP { return first[*EAP](m) }

// IDi returns the first IDi payload, or nil.
func (m *Message) IDi() *ID { return firstOfType[*ID](m, PayloadIDi) }

// IDr returns the first IDr payload, or nil.
func (m *Message) IDr() *ID { return firstOfType[*ID](m, PayloadIDr) }

// TSi returns the first TSi payload, or nil.
func (m *Message) TSi() *TrafficSelectors { return firstOfType[*TrafficSelectors](m, PayloadTSi) }

// TSr returns the first TSr payload, or nil.
func (m *Message) TSr() *TrafficSelectors { return firstOfType[*TrafficSelectors](m, PayloadTSr) }

func first[T Payload](m *Message) T {
	for _, p := range m.Payloads {
		if q, ok := p.(T); ok {
			return q
		}
	}
	var zero T
	return zero
}

func firstOfType[T Payload](m *Message, t PayloadType) T {
	for _, p := range m.Payloads {
		if q, ok := p.(T); ok && p.PayloadType() == t {
			return q
		}
	}
	var zero T
	return zero
}

func all[T Payload](m *Message) []T {
	var out []T
	for _, p := range m.Payloads {
		if q, ok := p.(T); ok {
			out = append(out, q)
		}
	}
	return out
}

// String summarises the message in the style of strongSwan's log lines,
// e.g. "IKE_SA_INIT request 0 [ SA KE Nonce N(NAT_DETECTION_SOURCE_IP) ]".
// It shows only payload and notify types, never payload contents.
func (m *Message) String() string {
	var sb strings.Builder
	sb.WriteString(m.Exchange.String())
	if m.IsResponse() {
		sb.WriteString(" response ")
	} else {
		sb.WriteString(" request ")
	}
	sb.WriteString(strconv.FormatUint(uint64(m.MessageID), 10))
	sb.WriteString(" [")
	for _, p := range m.Payloads {
		sb.WriteByte(' ')
		if n, ok := p.(*Notify); ok {
			sb.WriteString("N(")
			sb.WriteString(n.Type.String())
			sb.WriteByte(')')
			continue
		}
		sb.WriteString(p.PayloadType().String())
	}
	sb.WriteString(" ]")
	return sb.String()
}

package wire

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// Message is a decoded ISAKMP message: the header and its payloads in
// order. Messages returned by ParseMessage and OpenEncrypted also keep the
// payload chain exactly as received (decrypted, without padding), for the
// hash computations of RFC 2409; Payload values and those bytes share
// storage, so neither should be modified.
type Message struct {
	Header
	Payloads []Payload

	raw  []byte // payload chain as received
	ends []int  // ends[i] is the offset in raw just past payload i
}

// ParseMessage decodes an unencrypted ISAKMP message (Main Mode messages
// 1-4, Aggressive Mode, unprotected Informational). Bytes beyond the
// header's Length field are ignored; within it the payload chain must end
// exactly at Length. A message with the E flag yields an error wrapping
// ErrEncrypted. The result does not alias b.
func ParseMessage(b []byte) (*Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Encrypted() {
		return nil, ErrEncrypted
	}
	return parseBody(h, bytes.Clone(b[HeaderLen:h.Length]), false)
}

// parseBody parses the payload chain raw (owned by the message) of h.
func parseBody(h Header, raw []byte, padded bool) (*Message, error) {
	ps, ends, err := parseChain(h.NextPayload, raw, padded)
	if err != nil {
		return nil, err
	}
	end := 0
	if len(ends) > 0 {
		end = ends[len(ends)-1]
	}
	return &Message{Header: h, Payloads: ps, raw: raw[:end:end], ends: ends}, nil
}

// Append encodes m unencrypted after b. The header's NextPayload and
// Length are derived from the payloads (m itself is not modified), a zero
// Version is written as 0x10 and the E flag is cleared, since the body is
// sent in the clear (use AppendEncrypted to encrypt).
func (m *Message) Append(b []byte) []byte {
	start := len(b)
	h := m.Header
	h.NextPayload = firstType(m.Payloads)
	h.Flags &^= FlagEncryption
	if h.Version == 0 {
		h.Version = Version
	}
	b = h.Append(b)
	b = AppendPayloads(b, m.Payloads)
	isakmp.SetLength(b[start:])
	return b
}

// span returns the start and end offset of received payload i in m.raw,
// or ok false when m was not parsed or i is out of range.
func (m *Message) span(i int) (start, end int, ok bool) {
	if i < 0 || i >= len(m.ends) {
		return 0, 0, false
	}
	if i > 0 {
		start = m.ends[i-1]
	}
	return start, m.ends[i], true
}

// PayloadBytes returns received payload i including its generic header,
// or nil if m was not parsed from the wire or i is out of range.
func (m *Message) PayloadBytes(i int) []byte {
	s, e, ok := m.span(i)
	if !ok {
		return nil
	}
	return m.raw[s:e:e]
}

// Body returns the body of received payload i (without the generic
// header): SAi_b, IDii_b, Ni_b of RFC 2409. It is nil when m was not
// parsed from the wire or i is out of range.
func (m *Message) Body(i int) []byte {
	s, e, ok := m.span(i)
	if !ok {
		return nil
	}
	return m.raw[s+genericHeaderLen : e : e]
}

// After returns the received bytes of all payloads following payload i,
// generic headers included: the data HASH(1) and HASH(2) of Quick Mode and
// HASH(1) of Informational exchanges cover when i is the HASH payload.
// It is nil when m was not parsed or i is out of range (and empty when i
// is the last payload).
func (m *Message) After(i int) []byte {
	_, e, ok := m.span(i)
	if !ok {
		return nil
	}
	return m.raw[e:len(m.raw):len(m.raw)]
}

// Index returns the position of the first payload of type t, or -1.
func (m *Message) Index(t PayloadType) int {
	for i, p := range m.Payloads {
		if p.PayloadType() == t {
			return i
		}
	}
	return -1
}

// Get returns the first payload of type t, or nil.
func (m *Message) Get(t PayloadType) Payload {
	if i := m.Index(t); i >= 0 {
		return m.Payloads[i]
	}
	return nil
}

// SA returns the first SA payload, or nil.
func (m *Message) SA() *SA { return first[*SA](m) }

// KE returns the first KE payload, or nil.
func (m *Message) KE() *KE { return first[*KE](m) }

// Nonce returns the first Nonce payload, or nil.
func (m *Message) Nonce() *Nonce { return first[*Nonce](m) }

// Hash returns the first Hash payload, or nil.
func (m *Message) Hash() *Hash { return first[*Hash](m) }

// IDs returns all ID payloads in order (IDii/IDir in Main Mode, IDci and
// IDcr in Quick Mode).
func (m *Message) IDs() []*ID { return all[*ID](m) }

// Notifications returns all Notification payloads in order.
func (m *Message) Notifications() []*Notification { return all[*Notification](m) }

// Notification returns the first Notification of type t, or nil.
func (m *Message) Notification(t NotifyType) *Notification {
	for _, n := range m.Notifications() {
		if n.Type == t {
			return n
		}
	}
	return nil
}

// Deletes returns all Delete payloads in order.
func (m *Message) Deletes() []*Delete { return all[*Delete](m) }

// VendorIDs returns all Vendor ID payloads in order.
func (m *Message) VendorIDs() []*VendorID { return all[*VendorID](m) }

// HasVendorID reports whether the message carries exactly the vendor ID id.
func (m *Message) HasVendorID(id []byte) bool {
	for _, v := range m.VendorIDs() {
		if v.Is(id) {
			return true
		}
	}
	return false
}

// NATDs returns all NAT-D payloads (RFC or draft numbering) in order.
func (m *Message) NATDs() []*NATD { return all[*NATD](m) }

// NATOAs returns all NAT-OA payloads (RFC or draft numbering) in order.
func (m *Message) NATOAs() []*NATOA { return all[*NATOA](m) }

func first[T Payload](m *Message) T {
	for _, p := range m.Payloads {
		if q, ok := p.(T); ok {
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

// String summarises the message in the style of strongSwan's IKEv1 log
// lines, e.g. "QUICK_MODE 3141592653 [ HASH SA No ID ID ]" or
// "INFORMATIONAL_V1 7 [ HASH N(R-U-THERE) ]". It shows only payload and
// notify types, never payload contents.
func (m *Message) String() string {
	var sb strings.Builder
	sb.WriteString(m.Exchange.String())
	sb.WriteByte(' ')
	sb.WriteString(strconv.FormatUint(uint64(m.MessageID), 10))
	sb.WriteString(" [")
	for _, p := range m.Payloads {
		sb.WriteByte(' ')
		if n, ok := p.(*Notification); ok {
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

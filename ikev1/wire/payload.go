package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// PayloadType identifies a payload in the Next Payload chain.
type PayloadType uint8

// Payload types (RFC 2408 section 3.1, RFC 3947 section 3, and the
// private-use numbers of draft-ietf-ipsec-nat-t-ike-02/03).
const (
	PayloadNone         PayloadType = 0
	PayloadSA           PayloadType = 1
	PayloadProposal     PayloadType = 2 // only inside SA
	PayloadTransform    PayloadType = 3 // only inside Proposal
	PayloadKE           PayloadType = 4
	PayloadID           PayloadType = 5
	PayloadCert         PayloadType = 6
	PayloadCertReq      PayloadType = 7
	PayloadHash         PayloadType = 8
	PayloadSig          PayloadType = 9
	PayloadNonce        PayloadType = 10
	PayloadNotification PayloadType = 11
	PayloadDelete       PayloadType = 12
	PayloadVendorID     PayloadType = 13
	PayloadAttribute    PayloadType = 14 // Mode Config / XAUTH
	PayloadNATD         PayloadType = 20
	PayloadNATOA        PayloadType = 21
	PayloadNATDDraft    PayloadType = 130
	PayloadNATOADraft   PayloadType = 131
	PayloadFragment     PayloadType = 132 // proprietary IKEv1 fragmentation
)

var payloadNames = map[PayloadType]string{
	PayloadNone:         "NONE",
	PayloadSA:           "SA",
	PayloadProposal:     "PROP",
	PayloadTransform:    "TRANS",
	PayloadKE:           "KE",
	PayloadID:           "ID",
	PayloadCert:         "CERT",
	PayloadCertReq:      "CERTREQ",
	PayloadHash:         "HASH",
	PayloadSig:          "SIG",
	PayloadNonce:        "No",
	PayloadNotification: "N",
	PayloadDelete:       "D",
	PayloadVendorID:     "V",
	PayloadAttribute:    "ATTR",
	PayloadNATD:         "NAT-D",
	PayloadNATOA:        "NAT-OA",
	PayloadNATDDraft:    "NAT-D(draft)",
	PayloadNATOADraft:   "NAT-OA(draft)",
	PayloadFragment:     "FRAG",
}

// String returns the short name strongSwan uses in its IKEv1 log lines,
// or "PAYLOAD(n)" for unknown values.
func (t PayloadType) String() string {
	if s, ok := payloadNames[t]; ok {
		return s
	}
	return fmt.Sprintf("PAYLOAD(%d)", uint8(t))
}

// genericHeaderLen is the length of the generic payload header.
const genericHeaderLen = 4

// Payload is one ISAKMP payload. It is implemented by the pointer types of
// this package (*SA, *KE, *ID, *Hash, *Sig, *Nonce, *Notification,
// *Delete, *VendorID, *NATD, *NATOA, *Unknown).
type Payload interface {
	// PayloadType is the payload type announced in the preceding Next
	// Payload field.
	PayloadType() PayloadType
	// appendBody appends the payload body (everything after the generic
	// payload header).
	appendBody(b []byte) []byte
}

// AppendPayloads appends a payload chain: each payload gets a generic
// header whose Next Payload names the following payload (NONE for the
// last) and whose length is filled in.
func AppendPayloads(b []byte, payloads []Payload) []byte {
	for i, p := range payloads {
		next := PayloadNone
		if i+1 < len(payloads) {
			next = payloads[i+1].PayloadType()
		}
		start := len(b)
		b = append(b, byte(next), 0, 0, 0)
		b = p.appendBody(b)
		putLen16(b, start+2, len(b)-start, p.PayloadType())
	}
	return b
}

// AppendBody appends the body of p, without the generic payload header: the
// "_b" form RFC 2409 section 5 feeds into HASH_I and HASH_R (SAi_b, IDii_b).
func AppendBody(b []byte, p Payload) []byte { return p.appendBody(b) }

// firstType returns the type of the first payload, or PayloadNone.
func firstType(payloads []Payload) PayloadType {
	if len(payloads) == 0 {
		return PayloadNone
	}
	return payloads[0].PayloadType()
}

// putLen16 stores a 16-bit length, panicking on overflow (a programming error).
func putLen16(b []byte, at, n int, what fmt.Stringer) {
	if n > 0xffff {
		panic(fmt.Sprintf("ikev1 wire: %v too long to encode (%d bytes)", what, n))
	}
	binary.BigEndian.PutUint16(b[at:], uint16(n))
}

// ParsePayloads parses a payload chain starting with a payload of type
// first. The chain must end exactly at the end of b. The returned payloads
// do not alias b.
func ParsePayloads(first PayloadType, b []byte) ([]Payload, error) {
	ps, _, err := parseChain(first, bytes.Clone(b), false)
	return ps, err
}

// maxPadding is the largest number of bytes accepted after the payload
// chain of an encrypted message (RFC 2409 section 5.3 has a one-octet pad
// length, so no conforming sender pads more).
const maxPadding = 255

// parseChain parses a payload chain in b, aliasing b. ends[i] is the offset
// just past payload i. If padded is set, up to maxPadding bytes may follow
// the last payload; otherwise the chain must end exactly at len(b).
func parseChain(first PayloadType, b []byte, padded bool) (ps []Payload, ends []int, err error) {
	next := first
	off := 0
	for next != PayloadNone {
		if len(b)-off < genericHeaderLen {
			return nil, nil, truncated(fmt.Sprintf("%v payload header at offset %d", next, off))
		}
		nx := PayloadType(b[off])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < genericHeaderLen {
			return nil, nil, malformed("%v payload length %d", next, l)
		}
		if l > len(b)-off {
			return nil, nil, truncated(fmt.Sprintf("%v payload length %d at offset %d", next, l, off))
		}
		p, err := parsePayload(next, sub(b, off+genericHeaderLen, off+l))
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
		off += l
		ends = append(ends, off)
		next = nx
	}
	if trail := len(b) - off; trail != 0 && (!padded || trail > maxPadding) {
		return nil, nil, malformed("%d trailing bytes after last payload", trail)
	}
	return ps, ends, nil
}

// parsePayload decodes one payload body of type t.
func parsePayload(t PayloadType, body []byte) (Payload, error) {
	var (
		p   Payload
		err error
	)
	switch t {
	case PayloadSA:
		p, err = parseSA(body)
	case PayloadProposal, PayloadTransform:
		return nil, malformed("%v payload outside an SA payload", t)
	case PayloadKE:
		p = &KE{Data: body}
	case PayloadID:
		p, err = parseID(body)
	case PayloadHash:
		p = &Hash{Data: body}
	case PayloadSig:
		p = &Sig{Data: body}
	case PayloadNonce:
		p = &Nonce{Data: body}
	case PayloadNotification:
		p, err = parseNotification(body)
	case PayloadDelete:
		p, err = parseDelete(body)
	case PayloadVendorID:
		p = &VendorID{Data: body}
	case PayloadNATD, PayloadNATDDraft:
		p = &NATD{Draft: t == PayloadNATDDraft, Hash: body}
	case PayloadNATOA, PayloadNATOADraft:
		p, err = parseNATOA(t == PayloadNATOADraft, body)
	default:
		p = &Unknown{Type: t, Data: body}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// sub returns b[i:j] with its capacity clipped, or nil when empty, so that
// parsed values compare equal after a round trip.
func sub(b []byte, i, j int) []byte {
	if i == j {
		return nil
	}
	return b[i:j:j]
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// PayloadType identifies a payload in the Next Payload chain.
type PayloadType uint8

// Payload types (RFC 7296 section 3.2, RFC 7383).
const (
	PayloadNone     PayloadType = 0
	PayloadSA       PayloadType = 33
	PayloadKE       PayloadType = 34
	PayloadIDi      PayloadType = 35
	PayloadIDr      PayloadType = 36
	PayloadCERT     PayloadType = 37
	PayloadCERTREQ  PayloadType = 38
	PayloadAUTH     PayloadType = 39
	PayloadNonce    PayloadType = 40
	PayloadNotify   PayloadType = 41
	PayloadDelete   PayloadType = 42
	PayloadVendorID PayloadType = 43
	PayloadTSi      PayloadType = 44
	PayloadTSr      PayloadType = 45
	PayloadSK       PayloadType = 46
	PayloadCP       PayloadType = 47
	PayloadEAP      PayloadType = 48
	PayloadSKF      PayloadType = 53
)

var payloadNames = map[PayloadType]string{
	PayloadNone:     "NONE",
	PayloadSA:       "SA",
	PayloadKE:       "KE",
	PayloadIDi:      "IDi",
	PayloadIDr:      "IDr",
	PayloadCERT:     "CERT",
	PayloadCERTREQ:  "CERTREQ",
	PayloadAUTH:     "AUTH",
	PayloadNonce:    "Nonce",
	PayloadNotify:   "Notify",
	PayloadDelete:   "Delete",
	PayloadVendorID: "VendorID",
	PayloadTSi:      "TSi",
	PayloadTSr:      "TSr",
	PayloadSK:       "SK",
	PayloadCP:       "CP",
	PayloadEAP:      "EAP",
	PayloadSKF:      "SKF",
}

// String returns a short name (as used in strongSwan logs), or
// "PAYLOAD(n)" for unknown values.
func (t PayloadType) String() string {
	if s, ok := payloadNames[t]; ok {
		return s
	}
	return fmt.Sprintf("PAYLOAD(%d)", uint8(t))
}

// genericHeaderLen is the length of the generic payload header.
const genericHeaderLen = 4

// flagCritical is the critical bit in the generic payload header.
const flagCritical = 0x80

// Payload is one IKEv2 payload. It is implemented by the pointer types of
// this package (*SA, *KE, *ID, *Notify, ..., *Encrypted, *Unknown).
type Payload interface {
	// PayloadType is the payload type announced in the preceding Next Payload field.
	PayloadType() PayloadType
	// appendBody appends the payload body (everything after the generic
	// payload header).
	appendBody(b []byte) []byte
}

// AppendPayloads appends a generic payload chain: each payload gets a
// generic header whose Next Payload names the following payload (NONE for
// the last) and whose length is filled in. An *Encrypted payload instead
// carries its own NextPayload and must be the last element.
func AppendPayloads(b []byte, payloads []Payload) []byte {
	for i, p := range payloads {
		next := PayloadNone
		if i+1 < len(payloads) {
			next = payloads[i+1].PayloadType()
		}
		var flags byte
		switch q := p.(type) {
		case *Encrypted:
			next = q.NextPayload
		case *Unknown:
			if q.Critical {
				flags = flagCritical
			}
		}
		start := len(b)
		b = append(b, byte(next), flags, 0, 0)
		b = p.appendBody(b)
		putLen16(b, start+2, len(b)-start, p.PayloadType())
	}
	return b
}

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
		panic(fmt.Sprintf("wire: %v too long to encode (%d bytes)", what, n))
	}
	binary.BigEndian.PutUint16(b[at:], uint16(n))
}

// ParsePayloads parses a generic payload chain starting with a payload of
// type first. The chain must end exactly at the end of b. An SK payload
// must be the last payload and is returned as *Encrypted with its body left
// undecrypted; so must an SKF payload (an IKE fragment, RFC 7383), which is
// returned as *Unknown because Vigil does not support fragmentation. The
// returned payloads do not alias b.
func ParsePayloads(first PayloadType, b []byte) ([]Payload, error) {
	ps, _, err := parseChain(first, bytes.Clone(b), true)
	return ps, err
}

// countChain counts the payloads of a chain by their generic headers alone, up to the first
// that is cut short (parseChain reports it), so that the list is allocated once.
func countChain(next PayloadType, b []byte) int {
	n, off := 0, 0
	for next != PayloadNone && len(b)-off >= genericHeaderLen && n < 64 {
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < genericHeaderLen || l > len(b)-off {
			break
		}
		n++
		if next == PayloadSK || next == PayloadSKF {
			break
		}
		next, off = PayloadType(b[off]), off+l
	}
	return n
}

// parseChain parses a payload chain in b, aliasing b. If allowEnc is set, an
// SK or SKF payload may terminate the chain; encOff is then its offset in b
// (otherwise -1).
func parseChain(first PayloadType, b []byte, allowEnc bool) (ps []Payload, encOff int, err error) {
	if n := countChain(first, b); n > 0 {
		ps = make([]Payload, 0, n)
	}
	next := first
	off := 0
	encOff = -1
	for next != PayloadNone {
		if len(b)-off < genericHeaderLen {
			return nil, -1, truncated(fmt.Sprintf("%v payload header at offset %d", next, off))
		}
		nx := PayloadType(b[off])
		critical := b[off+1]&flagCritical != 0
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if l < genericHeaderLen {
			return nil, -1, malformed("%v payload length %d", next, l)
		}
		if l > len(b)-off {
			return nil, -1, truncated(fmt.Sprintf("%v payload length %d at offset %d", next, l, off))
		}
		body := sub(b, off+genericHeaderLen, off+l)
		if next == PayloadSK || next == PayloadSKF {
			if !allowEnc {
				return nil, -1, malformed("%v payload inside encrypted payload", next)
			}
			if off+l != len(b) {
				return nil, -1, malformed("%v payload is not the last payload", next)
			}
			if next == PayloadSKF {
				// Vigil does not announce IKEV2_FRAGMENTATION_SUPPORTED, so peers
				// must not fragment: the fragment is an unknown payload, and
				// OpenEncrypted refuses it.
				if critical {
					return nil, -1, &UnsupportedCriticalError{Type: next}
				}
				return append(ps, &Unknown{PType: next, Data: body}), off, nil
			}
			return append(ps, &Encrypted{NextPayload: nx, Body: body}), off, nil
		}
		p, err := parsePayload(next, critical, body)
		if err != nil {
			return nil, -1, err
		}
		ps = append(ps, p)
		next = nx
		off += l
	}
	if off != len(b) {
		return nil, -1, malformed("%d trailing bytes after last payload", len(b)-off)
	}
	return ps, -1, nil
}

// parsePayload decodes one payload body of type t.
func parsePayload(t PayloadType, critical bool, body []byte) (Payload, error) {
	var (
		p   Payload
		err error
	)
	switch t {
	case PayloadSA:
		p, err = parseSA(body)
	case PayloadKE:
		p, err = parseKE(body)
	case PayloadIDi, PayloadIDr:
		p, err = parseID(t == PayloadIDr, body)
	case PayloadCERT:
		p, err = parseCert(body)
	case PayloadCERTREQ:
		p, err = parseCertReq(body)
	case PayloadAUTH:
		p, err = parseAuth(body)
	case PayloadNonce:
		p = &Nonce{Data: body}
	case PayloadNotify:
		p, err = parseNotify(body)
	case PayloadDelete:
		p, err = parseDelete(body)
	case PayloadVendorID:
		p = &VendorID{Data: body}
	case PayloadTSi, PayloadTSr:
		p, err = parseTS(t == PayloadTSr, body)
	case PayloadCP:
		p, err = parseCP(body)
	case PayloadEAP:
		p, err = parseEAP(body)
	default:
		if critical {
			return nil, &UnsupportedCriticalError{Type: t}
		}
		p = &Unknown{PType: t, Data: body}
	}
	if err != nil {
		return nil, fmt.Errorf("%v payload: %w", t, err)
	}
	return p, nil
}

// sub returns b[i:j] with its capacity clipped, or nil when empty, so that
// parsed values compare equal regardless of where they came from.
func sub(b []byte, i, j int) []byte {
	if i == j {
		return nil
	}
	return b[i:j:j]
}

// appendU16 appends v in network byte order.
func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

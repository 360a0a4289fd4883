package wire

import "fmt"

// ProtocolID identifies the security protocol of a proposal, notify or delete.
type ProtocolID uint8

// Protocol IDs (RFC 7296 section 3.3.1).
const (
	ProtocolIKE ProtocolID = 1
	ProtocolAH  ProtocolID = 2
	ProtocolESP ProtocolID = 3
)

// String returns the protocol name, or "PROTO(n)" for unknown values.
func (p ProtocolID) String() string {
	switch p {
	case 0:
		return "NONE"
	case ProtocolIKE:
		return "IKE"
	case ProtocolAH:
		return "AH"
	case ProtocolESP:
		return "ESP"
	}
	return fmt.Sprintf("PROTO(%d)", uint8(p))
}

// TransformType is the type of a transform substructure.
type TransformType uint8

// Transform types (RFC 7296 section 3.3.2).
const (
	TransformENCR  TransformType = 1
	TransformPRF   TransformType = 2
	TransformINTEG TransformType = 3
	TransformDH    TransformType = 4
	TransformESN   TransformType = 5
)

// String returns the transform type name, or "TRANSFORM(n)".
func (t TransformType) String() string {
	switch t {
	case TransformENCR:
		return "ENCR"
	case TransformPRF:
		return "PRF"
	case TransformINTEG:
		return "INTEG"
	case TransformDH:
		return "DH"
	case TransformESN:
		return "ESN"
	}
	return fmt.Sprintf("TRANSFORM(%d)", uint8(t))
}

// attrKeyLength is the Key Length transform attribute (TV format).
const attrKeyLength = 14

// SA is the Security Association payload.
type SA struct {
	Proposals []Proposal
}

// Proposal is one proposal substructure.
type Proposal struct {
	Number     uint8
	Protocol   ProtocolID
	SPI        []byte // empty for IKE in IKE_SA_INIT, 8 bytes for IKE rekeying, 4 for ESP/AH
	Transforms []Transform
}

// Transform is one transform substructure. KeyLength 0 means no Key Length
// attribute; other attributes are not supported.
type Transform struct {
	Type      TransformType
	ID        uint16
	KeyLength uint16
}

// PayloadType implements Payload.
func (*SA) PayloadType() PayloadType { return PayloadSA }

func (sa *SA) appendBody(b []byte) []byte {
	for i := range sa.Proposals {
		p := &sa.Proposals[i]
		start := len(b)
		last := byte(2)
		if i == len(sa.Proposals)-1 {
			last = 0
		}
		if len(p.SPI) > 0xff {
			panic("wire: proposal SPI longer than 255 bytes")
		}
		if len(p.Transforms) > 0xff {
			panic("wire: more than 255 transforms in a proposal")
		}
		b = append(b, last, 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
		b = append(b, p.SPI...)
		for j, t := range p.Transforms {
			last := byte(3)
			if j == len(p.Transforms)-1 {
				last = 0
			}
			tl := 8
			if t.KeyLength != 0 {
				tl += 4
			}
			b = append(b, last, 0, byte(tl>>8), byte(tl), byte(t.Type), 0)
			b = appendU16(b, t.ID)
			if t.KeyLength != 0 {
				b = appendU16(b, 0x8000|attrKeyLength)
				b = appendU16(b, t.KeyLength)
			}
		}
		putLen16(b, start+2, len(b)-start, PayloadSA)
	}
	return b
}

func parseSA(b []byte) (*SA, error) {
	sa := &SA{}
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, truncated("proposal header")
		}
		last := b[0]
		l := int(be16(b[2:]))
		if l < 8 {
			return nil, malformed("proposal length %d", l)
		}
		if l > len(b) {
			return nil, truncated(fmt.Sprintf("proposal length %d", l))
		}
		p := Proposal{Number: b[4], Protocol: ProtocolID(b[5])}
		spiSize := int(b[6])
		numTransforms := int(b[7])
		if 8+spiSize > l {
			return nil, malformed("proposal SPI size %d exceeds proposal length %d", spiSize, l)
		}
		p.SPI = sub(b, 8, 8+spiSize)
		ts, err := parseTransforms(b[8+spiSize:l], numTransforms)
		if err != nil {
			return nil, fmt.Errorf("proposal %d: %w", p.Number, err)
		}
		p.Transforms = ts
		sa.Proposals = append(sa.Proposals, p)
		b = b[l:]
		switch {
		case last == 0 && len(b) != 0:
			return nil, malformed("bytes after last proposal")
		case last == 2 && len(b) == 0:
			return nil, truncated("proposal marked as not last")
		case last != 0 && last != 2:
			return nil, malformed("proposal last-substructure value %d", last)
		}
	}
	if len(sa.Proposals) == 0 {
		return nil, malformed("SA without proposals")
	}
	return sa, nil
}

func parseTransforms(b []byte, n int) ([]Transform, error) {
	if n*8 > len(b) {
		return nil, truncated(fmt.Sprintf("%d transforms in %d bytes", n, len(b)))
	}
	var ts []Transform
	if n > 0 {
		ts = make([]Transform, 0, n)
	}
	for i := 0; i < n; i++ {
		if len(b) < 8 {
			return nil, truncated("transform header")
		}
		last := b[0]
		l := int(be16(b[2:]))
		if l < 8 {
			return nil, malformed("transform length %d", l)
		}
		if l > len(b) {
			return nil, truncated(fmt.Sprintf("transform length %d", l))
		}
		t := Transform{Type: TransformType(b[4]), ID: be16(b[6:])}
		if err := parseTransformAttrs(&t, b[8:l]); err != nil {
			return nil, err
		}
		ts = append(ts, t)
		b = b[l:]
		wantLast := byte(3)
		if i == n-1 {
			wantLast = 0
		}
		if last != wantLast {
			return nil, malformed("transform %d last-substructure value %d, want %d", i+1, last, wantLast)
		}
	}
	if len(b) != 0 {
		return nil, malformed("%d bytes after last transform", len(b))
	}
	return ts, nil
}

func parseTransformAttrs(t *Transform, b []byte) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return truncated("transform attribute")
		}
		tv := b[0]&0x80 != 0
		typ := be16(b) & 0x7fff
		if !tv {
			return malformed("transform %v/%d: unsupported TLV attribute %d", t.Type, t.ID, typ)
		}
		if typ != attrKeyLength {
			return malformed("transform %v/%d: unsupported attribute %d", t.Type, t.ID, typ)
		}
		if t.KeyLength != 0 {
			return malformed("transform %v/%d: duplicate key length attribute", t.Type, t.ID)
		}
		t.KeyLength = be16(b[2:])
		if t.KeyLength == 0 {
			return malformed("transform %v/%d: zero key length", t.Type, t.ID)
		}
		b = b[4:]
	}
	return nil
}

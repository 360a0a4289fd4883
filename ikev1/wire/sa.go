package wire

import "fmt"

// Domains of Interpretation (RFC 2408 section 3.4, RFC 2407 section 4.2).
const (
	DOIISAKMP uint32 = 0
	DOIIPsec  uint32 = 1
)

// Situation bits of the IPsec DOI (RFC 2407 section 4.2).
const (
	SitIdentityOnly uint32 = 0x01
	SitSecrecy      uint32 = 0x02
	SitIntegrity    uint32 = 0x04
)

// ProtocolID identifies the security protocol of a proposal, notification
// or delete (RFC 2407 section 4.4.1).
type ProtocolID uint8

// Protocol IDs.
const (
	ProtoISAKMP ProtocolID = 1
	ProtoAH     ProtocolID = 2
	ProtoESP    ProtocolID = 3
	ProtoIPComp ProtocolID = 4
)

// String returns the protocol name, or "PROTO(n)" for unknown values.
func (p ProtocolID) String() string {
	switch p {
	case 0:
		return "NONE"
	case ProtoISAKMP:
		return "ISAKMP"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	case ProtoIPComp:
		return "IPCOMP"
	}
	return fmt.Sprintf("PROTO(%d)", uint8(p))
}

// saHeaderLen is DOI (4) + Situation (4).
const saHeaderLen = 8

// SA is the Security Association payload (RFC 2408 section 3.4) of the
// IPsec DOI with situation SIT_IDENTITY_ONLY, the only combination Vigil
// speaks: Append writes DOI 1 and situation 1, and parsing anything else
// fails with ErrDOINotSupported or ErrSituationNotSupported. Proposals
// sharing a Number form one AND-ed proposal (for example AH plus ESP).
type SA struct {
	Proposals []Proposal
}

// PayloadType implements Payload.
func (*SA) PayloadType() PayloadType { return PayloadSA }

func (sa *SA) appendBody(b []byte) []byte {
	b = appendU32(b, DOIIPsec)
	b = appendU32(b, SitIdentityOnly)
	for i := range sa.Proposals {
		b = sa.Proposals[i].append(b, i == len(sa.Proposals)-1)
	}
	return b
}

func parseSA(b []byte) (*SA, error) {
	if len(b) < saHeaderLen {
		return nil, truncated("SA header")
	}
	if doi := be32(b); doi != DOIIPsec {
		return nil, fmt.Errorf("SA with DOI %d: %w", doi, ErrDOINotSupported)
	}
	if sit := be32(b[4:]); sit != SitIdentityOnly {
		return nil, fmt.Errorf("SA with situation %#x: %w", sit, ErrSituationNotSupported)
	}
	sa := &SA{}
	off := saHeaderLen
	for more := true; more; {
		if len(b)-off < genericHeaderLen {
			return nil, truncated(fmt.Sprintf("proposal header at SA offset %d", off))
		}
		switch PayloadType(b[off]) {
		case PayloadNone:
			more = false
		case PayloadProposal:
		default:
			return nil, malformed("proposal followed by payload type %d", b[off])
		}
		l := int(be16(b[off+2:]))
		if l > len(b)-off {
			return nil, truncated(fmt.Sprintf("proposal length %d at SA offset %d", l, off))
		}
		p, err := parseProposal(b[off:off+l:off+l], l)
		if err != nil {
			return nil, err
		}
		sa.Proposals = append(sa.Proposals, p)
		off += l
	}
	if off != len(b) {
		return nil, malformed("%d bytes after the last proposal", len(b)-off)
	}
	return sa, nil
}

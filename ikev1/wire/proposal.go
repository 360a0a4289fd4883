package wire

import "fmt"

// proposalHeaderLen is the generic header plus Proposal #, Protocol-ID,
// SPI Size and # of Transforms.
const proposalHeaderLen = 8

// Proposal is a Proposal payload inside an SA (RFC 2408 section 3.5).
type Proposal struct {
	Number   uint8
	Protocol ProtocolID
	// SPI is empty (or the 16 cookie bytes) for ISAKMP in phase 1 and
	// 4 bytes for ESP and AH in Quick Mode.
	SPI        []byte
	Transforms []Transform
}

// append encodes the proposal with its generic header.
func (p *Proposal) append(b []byte, last bool) []byte {
	if len(p.SPI) > 0xff {
		panic("ikev1 wire: proposal SPI longer than 255 bytes")
	}
	if len(p.Transforms) > 0xff {
		panic("ikev1 wire: more than 255 transforms in a proposal")
	}
	next := PayloadProposal
	if last {
		next = PayloadNone
	}
	start := len(b)
	b = append(b, byte(next), 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
	b = append(b, p.SPI...)
	for i := range p.Transforms {
		b = p.Transforms[i].append(b, i == len(p.Transforms)-1)
	}
	putLen16(b, start+2, len(b)-start, PayloadProposal)
	return b
}

// parseProposal decodes a proposal b (generic header included) whose
// length field is l == len(b).
func parseProposal(b []byte, l int) (Proposal, error) {
	if l < proposalHeaderLen {
		return Proposal{}, malformed("proposal length %d", l)
	}
	p := Proposal{Number: b[4], Protocol: ProtocolID(b[5])}
	spiLen, n := int(b[6]), int(b[7])
	if spiLen > l-proposalHeaderLen {
		return Proposal{}, truncated(fmt.Sprintf("proposal %d SPI of %d bytes", p.Number, spiLen))
	}
	p.SPI = sub(b, proposalHeaderLen, proposalHeaderLen+spiLen)
	if n == 0 {
		return Proposal{}, malformed("proposal %d without transforms", p.Number)
	}
	off := proposalHeaderLen + spiLen
	p.Transforms = make([]Transform, 0, min(n, (l-off)/transformHeaderLen))
	for i := 0; i < n; i++ {
		if l-off < genericHeaderLen {
			return Proposal{}, truncated(fmt.Sprintf("proposal %d transform %d header", p.Number, i+1))
		}
		next := PayloadType(b[off])
		if want := nextTransform(i == n-1); next != want {
			return Proposal{}, malformed("proposal %d transform %d of %d has next payload %d, want %d", p.Number, i+1, n, next, want)
		}
		tl := int(be16(b[off+2:]))
		if tl > l-off {
			return Proposal{}, truncated(fmt.Sprintf("proposal %d transform length %d", p.Number, tl))
		}
		t, err := parseTransform(b[off : off+tl : off+tl])
		if err != nil {
			return Proposal{}, err
		}
		p.Transforms = append(p.Transforms, t)
		off += tl
	}
	if off != l {
		return Proposal{}, malformed("proposal %d has %d bytes after its %d transforms", p.Number, l-off, n)
	}
	return p, nil
}

func nextTransform(last bool) PayloadType {
	if last {
		return PayloadNone
	}
	return PayloadTransform
}

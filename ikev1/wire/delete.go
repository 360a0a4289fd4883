package wire

import (
	"encoding/binary"
	"fmt"
)

// deleteHeaderLen is DOI (4) + Protocol-ID + SPI Size + # of SPIs (2).
const deleteHeaderLen = 8

// Delete is the Delete payload (RFC 2408 section 3.15). An ISAKMP SA is
// named by the 16-byte SPI CKY-I | CKY-R, ESP and AH SAs by their 4-byte
// inbound SPIs. Append panics if an SPI's length is not SPISize.
type Delete struct {
	DOI      uint32 // DOIIPsec in everything Vigil sends
	Protocol ProtocolID
	SPISize  uint8
	SPIs     [][]byte
}

// PayloadType implements Payload.
func (*Delete) PayloadType() PayloadType { return PayloadDelete }

func (d *Delete) appendBody(b []byte) []byte {
	if len(d.SPIs) > 0xffff {
		panic("ikev1 wire: too many SPIs in delete")
	}
	b = appendU32(b, d.DOI)
	b = append(b, byte(d.Protocol), d.SPISize)
	b = appendU16(b, uint16(len(d.SPIs)))
	for _, spi := range d.SPIs {
		if len(spi) != int(d.SPISize) {
			panic(fmt.Sprintf("ikev1 wire: delete with SPI size %d and a %d-byte SPI", d.SPISize, len(spi)))
		}
		b = append(b, spi...)
	}
	return b
}

func parseDelete(b []byte) (*Delete, error) {
	if len(b) < deleteHeaderLen {
		return nil, truncated("Delete header")
	}
	d := &Delete{DOI: be32(b), Protocol: ProtocolID(b[4]), SPISize: b[5]}
	n, size := int(be16(b[6:])), int(d.SPISize)
	if size == 0 && n != 0 {
		return nil, malformed("delete with %d SPIs of size 0", n)
	}
	if len(b)-deleteHeaderLen != n*size {
		return nil, malformed("delete with %d SPIs of %d bytes in %d bytes", n, size, len(b)-deleteHeaderLen)
	}
	if n > 0 {
		d.SPIs = make([][]byte, n)
		for i := range d.SPIs {
			off := deleteHeaderLen + i*size
			d.SPIs[i] = b[off : off+size : off+size]
		}
	}
	return d, nil
}

// NewDeleteESP returns a Delete payload for ESP SAs given their (inbound)
// SPIs.
func NewDeleteESP(spis ...uint32) *Delete {
	d := &Delete{DOI: DOIIPsec, Protocol: ProtoESP, SPISize: 4}
	for _, s := range spis {
		d.SPIs = append(d.SPIs, binary.BigEndian.AppendUint32(nil, s))
	}
	return d
}

// NewDeleteISAKMP returns a Delete payload for the ISAKMP SA named by its
// cookies.
func NewDeleteISAKMP(cookieI, cookieR uint64) *Delete {
	return &Delete{DOI: DOIIPsec, Protocol: ProtoISAKMP, SPISize: 16, SPIs: [][]byte{CookieSPI(cookieI, cookieR)}}
}

// ESPSPIs returns the SPIs of a 4-byte-SPI delete as integers (nil for
// other SPI sizes).
func (d *Delete) ESPSPIs() []uint32 {
	if d.SPISize != 4 {
		return nil
	}
	out := make([]uint32, len(d.SPIs))
	for i, s := range d.SPIs {
		out[i] = be32(s)
	}
	return out
}

package isakmp

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the header in octets.
const HeaderLen = 28

// lengthOffset is where the 32-bit Length field starts, the header's last field.
const lengthOffset = 24

// Header is the fixed header that starts every IKEv1 and IKEv2 message:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Initiator's SPI (IKEv1: CKY-I)                 |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Responder's SPI (IKEv1: CKY-R)                 |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Message ID                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Length                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Header struct {
	SPIi, SPIr  uint64
	NextPayload uint8
	// Version is the raw version octet: major version in the high nibble, minor in the
	// low one.
	Version   uint8
	Exchange  uint8
	Flags     uint8
	MessageID uint32
	// Length is the length of the whole message, header included.
	Length uint32
}

// MajorVersion returns the high nibble of the version octet.
func (h Header) MajorVersion() uint8 { return h.Version >> 4 }

// MinorVersion returns the low nibble of the version octet.
func (h Header) MinorVersion() uint8 { return h.Version & 0x0f }

// Append appends the HeaderLen header octets exactly as given: no field is filled in.
func (h Header) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, h.SPIi)
	b = binary.BigEndian.AppendUint64(b, h.SPIr)
	b = append(b, h.NextPayload, h.Version, h.Exchange, h.Flags)
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// SetLength stores len(msg) in the Length field of msg, an encoded message that starts with
// its header: encoders append the payloads first and fill in the length last.
func SetLength(msg []byte) {
	binary.BigEndian.PutUint32(msg[lengthOffset:], uint32(len(msg)))
}

// ParseHeader decodes the header at the start of b. It checks that b holds at least
// HeaderLen octets, that the major version is major, and that the Length field is at least
// HeaderLen and at most len(b) (octets past Length are the caller's business). The minor
// version, the exchange type and the flags are not checked: they are protocol policy.
//
// When b is long enough the decoded header is returned even with an error, so that a
// responder can answer a wrong major version with INVALID_MAJOR_VERSION; the error then
// wraps ErrInvalidMajorVersion, ErrMalformed (Length below HeaderLen) or ErrTruncated
// (Length beyond b). A b shorter than HeaderLen yields the zero Header and ErrTruncated.
func ParseHeader(b []byte, major uint8) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("IKE header of %d octets, want %d: %w", len(b), HeaderLen, ErrTruncated)
	}
	h := Header{
		SPIi:        binary.BigEndian.Uint64(b[0:]),
		SPIr:        binary.BigEndian.Uint64(b[8:]),
		NextPayload: b[16],
		Version:     b[17],
		Exchange:    b[18],
		Flags:       b[19],
		MessageID:   binary.BigEndian.Uint32(b[20:]),
		Length:      binary.BigEndian.Uint32(b[lengthOffset:]),
	}
	if h.MajorVersion() != major {
		return h, fmt.Errorf("IKE header version %#02x, want major version %d: %w", h.Version, major, ErrInvalidMajorVersion)
	}
	if h.Length < HeaderLen {
		return h, fmt.Errorf("IKE header length %d shorter than the header: %w", h.Length, ErrMalformed)
	}
	if uint64(h.Length) > uint64(len(b)) {
		return h, fmt.Errorf("IKE header length %d exceeds %d available octets: %w", h.Length, len(b), ErrTruncated)
	}
	return h, nil
}

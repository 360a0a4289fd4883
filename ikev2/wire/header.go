package wire

import (
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// HeaderLen is the length of the IKE header in bytes.
const HeaderLen = isakmp.HeaderLen

// Version is the IKE header version octet for IKEv2.0 (major 2, minor 0).
const Version uint8 = 0x20

// ExchangeType is the IKE header Exchange Type field.
type ExchangeType uint8

// Exchange types (RFC 7296 section 3.1, RFC 9242).
const (
	ExchangeIKESAInit        ExchangeType = 34
	ExchangeIKEAuth          ExchangeType = 35
	ExchangeCreateChildSA    ExchangeType = 36
	ExchangeInformational    ExchangeType = 37
	ExchangeIKESessionResume ExchangeType = 38
	ExchangeIKEIntermediate  ExchangeType = 43
)

// String returns the RFC name, or "EXCHANGE(n)" for unknown values.
func (e ExchangeType) String() string {
	switch e {
	case ExchangeIKESAInit:
		return "IKE_SA_INIT"
	case ExchangeIKEAuth:
		return "IKE_AUTH"
	case ExchangeCreateChildSA:
		return "CREATE_CHILD_SA"
	case ExchangeInformational:
		return "INFORMATIONAL"
	case ExchangeIKESessionResume:
		return "IKE_SESSION_RESUME"
	case ExchangeIKEIntermediate:
		return "IKE_INTERMEDIATE"
	}
	return fmt.Sprintf("EXCHANGE(%d)", uint8(e))
}

// Flags is the IKE header Flags field.
type Flags uint8

// Header flag bits.
const (
	FlagInitiator Flags = 0x08 // I: sent by the original initiator of the IKE SA
	FlagVersion   Flags = 0x10 // V: sender can speak a higher major version
	FlagResponse  Flags = 0x20 // R: message is a response
)

// Header is the fixed IKE header (RFC 7296 section 3.1).
type Header struct {
	SPIi, SPIr  uint64
	NextPayload PayloadType
	// Version is the raw version octet: major version in the high nibble,
	// minor in the low one. Message.Append and AppendEncrypted write
	// 0x20 when it is zero.
	Version   uint8
	Exchange  ExchangeType
	Flags     Flags
	MessageID uint32
	// Length is the total message length including the header.
	Length uint32
}

// IsResponse reports whether the R flag is set.
func (h Header) IsResponse() bool { return h.Flags&FlagResponse != 0 }

// IsInitiator reports whether the I flag is set.
func (h Header) IsInitiator() bool { return h.Flags&FlagInitiator != 0 }

// MajorVersion returns the high nibble of the version octet.
func (h Header) MajorVersion() uint8 { return h.Version >> 4 }

// String summarises the header without any payload content.
func (h Header) String() string {
	dir := "request"
	if h.IsResponse() {
		dir = "response"
	}
	return fmt.Sprintf("%v %s %d spi %016x_i %016x_r", h.Exchange, dir, h.MessageID, h.SPIi, h.SPIr)
}

// Append appends the 28 header bytes exactly as given (no field is filled in).
func (h Header) Append(b []byte) []byte { return h.isakmp().Append(b) }

// ParseHeader decodes the IKE header at the start of b. It checks that b
// holds at least HeaderLen bytes, that the major version is 2 and that the
// Length field is at least HeaderLen and at most len(b). On a version
// mismatch the decoded header is returned along with an error wrapping
// ErrInvalidMajorVersion, so that the caller can answer with
// INVALID_MAJOR_VERSION. (The codec is isakmp.ParseHeader, shared with IKEv1.)
func ParseHeader(b []byte) (Header, error) {
	h, err := isakmp.ParseHeader(b, 2)
	return Header{
		SPIi: h.SPIi, SPIr: h.SPIr, NextPayload: PayloadType(h.NextPayload), Version: h.Version,
		Exchange: ExchangeType(h.Exchange), Flags: Flags(h.Flags), MessageID: h.MessageID, Length: h.Length,
	}, err
}

// isakmp returns h in the untyped form of the shared header codec.
func (h Header) isakmp() isakmp.Header {
	return isakmp.Header{
		SPIi: h.SPIi, SPIr: h.SPIr, NextPayload: uint8(h.NextPayload), Version: h.Version,
		Exchange: uint8(h.Exchange), Flags: uint8(h.Flags), MessageID: h.MessageID, Length: h.Length,
	}
}

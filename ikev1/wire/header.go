package wire

import (
	"fmt"

	"github.com/vigil-ipsec/vigil/internal/isakmp"
)

// HeaderLen is the length of the ISAKMP header in bytes.
const HeaderLen = isakmp.HeaderLen

// Version is the ISAKMP header version octet for IKEv1 (major 1, minor 0).
const Version uint8 = 0x10

// ExchangeType is the ISAKMP header Exchange Type field.
type ExchangeType uint8

// Exchange types (RFC 2408 section 3.1, RFC 2409 sections 5 and 9).
const (
	ExchangeBase          ExchangeType = 1
	ExchangeMainMode      ExchangeType = 2 // Identity Protection
	ExchangeAuthOnly      ExchangeType = 3
	ExchangeAggressive    ExchangeType = 4
	ExchangeInformational ExchangeType = 5
	ExchangeTransaction   ExchangeType = 6 // Mode Config / XAUTH (draft-ietf-ipsec-isakmp-mode-cfg)
	ExchangeQuickMode     ExchangeType = 32
	ExchangeNewGroupMode  ExchangeType = 33
)

// String returns the name strongSwan logs for the exchange, or
// "EXCHANGE(n)" for unknown values.
func (e ExchangeType) String() string {
	switch e {
	case ExchangeBase:
		return "BASE"
	case ExchangeMainMode:
		return "ID_PROT"
	case ExchangeAuthOnly:
		return "AUTH_ONLY"
	case ExchangeAggressive:
		return "AGGRESSIVE"
	case ExchangeInformational:
		return "INFORMATIONAL_V1"
	case ExchangeTransaction:
		return "TRANSACTION"
	case ExchangeQuickMode:
		return "QUICK_MODE"
	case ExchangeNewGroupMode:
		return "NEW_GROUP_MODE"
	}
	return fmt.Sprintf("EXCHANGE(%d)", uint8(e))
}

// Flags is the ISAKMP header Flags field.
type Flags uint8

// Header flag bits (RFC 2408 section 3.1).
const (
	FlagEncryption Flags = 0x01 // E: payloads after the header are encrypted
	FlagCommit     Flags = 0x02 // C: key exchange synchronisation (RFC 2408 section 4.5)
	FlagAuthOnly   Flags = 0x04 // A: authentication-only Informational exchange
)

// Header is the fixed ISAKMP header (RFC 2408 section 3.1).
type Header struct {
	// CookieI and CookieR are the initiator and responder cookies (CKY-I,
	// CKY-R), in network byte order when encoded.
	CookieI, CookieR uint64
	NextPayload      PayloadType
	// Version is the raw version octet: major version in the high nibble,
	// minor in the low one. Message.Append and AppendEncrypted write 0x10
	// when it is zero.
	Version   uint8
	Exchange  ExchangeType
	Flags     Flags
	MessageID uint32
	// Length is the total message length including the header (and, for
	// encrypted messages, the padding).
	Length uint32
}

// Encrypted reports whether the E flag is set.
func (h Header) Encrypted() bool { return h.Flags&FlagEncryption != 0 }

// MajorVersion returns the high nibble of the version octet.
func (h Header) MajorVersion() uint8 { return h.Version >> 4 }

// MinorVersion returns the low nibble of the version octet.
func (h Header) MinorVersion() uint8 { return h.Version & 0x0f }

// String summarises the header without any payload content.
func (h Header) String() string {
	return fmt.Sprintf("%v %d cky %016x_i %016x_r", h.Exchange, h.MessageID, h.CookieI, h.CookieR)
}

// Append appends the 28 header bytes exactly as given (no field is filled in).
func (h Header) Append(b []byte) []byte { return h.isakmp().Append(b) }

// ParseHeader decodes the ISAKMP header at the start of b. It checks that b
// holds at least HeaderLen bytes, that the major version is 1 and that the
// Length field is at least HeaderLen and at most len(b). The minor version
// and unknown flag bits are not checked; that is the caller's policy. On a
// version mismatch the decoded header is returned along with an error
// wrapping ErrInvalidMajorVersion. (The codec is isakmp.ParseHeader, shared
// with IKEv2.)
func ParseHeader(b []byte) (Header, error) {
	h, err := isakmp.ParseHeader(b, 1)
	return Header{
		CookieI: h.SPIi, CookieR: h.SPIr, NextPayload: PayloadType(h.NextPayload), Version: h.Version,
		Exchange: ExchangeType(h.Exchange), Flags: Flags(h.Flags), MessageID: h.MessageID, Length: h.Length,
	}, err
}

// isakmp returns h in the untyped form of the shared header codec.
func (h Header) isakmp() isakmp.Header {
	return isakmp.Header{
		SPIi: h.CookieI, SPIr: h.CookieR, NextPayload: uint8(h.NextPayload), Version: h.Version,
		Exchange: uint8(h.Exchange), Flags: uint8(h.Flags), MessageID: h.MessageID, Length: h.Length,
	}
}

package wire

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the length of the ISAKMP header in bytes.
const HeaderLen = 28

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
func (h Header) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, h.CookieI)
	b = binary.BigEndian.AppendUint64(b, h.CookieR)
	b = append(b, byte(h.NextPayload), h.Version, byte(h.Exchange), byte(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// ParseHeader decodes the ISAKMP header at the start of b. It checks that b
// holds at least HeaderLen bytes, that the major version is 1 and that the
// Length field is at least HeaderLen and at most len(b). The minor version
// and unknown flag bits are not checked; that is the caller's policy. On a
// version mismatch the decoded header is returned along with an error
// wrapping ErrInvalidMajorVersion.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, truncated("ISAKMP header")
	}
	h := Header{
		CookieI:     binary.BigEndian.Uint64(b[0:]),
		CookieR:     binary.BigEndian.Uint64(b[8:]),
		NextPayload: PayloadType(b[16]),
		Version:     b[17],
		Exchange:    ExchangeType(b[18]),
		Flags:       Flags(b[19]),
		MessageID:   binary.BigEndian.Uint32(b[20:]),
		Length:      binary.BigEndian.Uint32(b[24:]),
	}
	if h.MajorVersion() != 1 {
		return h, fmt.Errorf("ISAKMP header version %#02x: %w", h.Version, ErrInvalidMajorVersion)
	}
	if h.Length < HeaderLen {
		return h, malformed("ISAKMP header length %d shorter than header", h.Length)
	}
	if uint64(h.Length) > uint64(len(b)) {
		return h, fmt.Errorf("ISAKMP header length %d exceeds %d available bytes: %w", h.Length, len(b), ErrTruncated)
	}
	return h, nil
}

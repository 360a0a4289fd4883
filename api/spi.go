package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SPI is an IPsec Child SA (ESP) security parameter index. In JSON it is the string "0x%08x";
// when decoding, hex with a 0x prefix, a decimal string, or a JSON number are accepted.
type SPI uint32

// String formats s as 0x followed by 8 hex digits.
func (s SPI) String() string { return fmt.Sprintf("0x%08x", uint32(s)) }

// MarshalJSON encodes s as "0x%08x".
func (s SPI) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.String())
}

// UnmarshalJSON accepts "0xc0ffee01", "3237998081" or 3237998081.
func (s *SPI) UnmarshalJSON(b []byte) error {
	if string(b) == "null" { // like encoding/json for basic types: leave s unchanged
		return nil
	}
	var str string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("spi: %w", err)
		}
	} else {
		str = string(b)
	}
	v, err := ParseSPI(str)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSPI parses an SPI written as 0x followed by 1-8 hex digits (case-insensitive) or as a
// decimal number up to 4294967295. Surrounding spaces are ignored. Zero is accepted; callers that
// look SAs up should reject it (see SPI.Valid).
func ParseSPI(s string) (SPI, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("spi is empty: use 0x followed by 1-8 hex digits, or a decimal number")
	}
	if len(t) >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		hex := t[2:]
		if len(hex) == 0 || len(hex) > 8 || !allHex(hex) {
			return 0, fmt.Errorf("invalid spi %q: spi must be 0x followed by 1-8 hex digits", shorten(s))
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil { // unreachable after the checks above, kept for safety
			return 0, fmt.Errorf("invalid spi %q: spi must be 0x followed by 1-8 hex digits", shorten(s))
		}
		return SPI(v), nil
	}
	if !allDigits(t) {
		return 0, fmt.Errorf("invalid spi %q: use 0x followed by 1-8 hex digits, or a decimal number", shorten(s))
	}
	v, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid spi %q: out of range (the largest spi is 4294967295 = 0xffffffff)", shorten(s))
	}
	return SPI(v), nil
}

// Valid reports whether s can name an SA: SPI 0 is reserved (RFC 4303 section 2.1).
func (s SPI) Valid() bool { return s != 0 }

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shorten keeps echoed user input in error messages to a readable length.
func shorten(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IKEv2 identification types (RFC 7296 section 3.5) used by [Identity].
const (
	IDIPv4   uint8 = 1  // ID_IPV4_ADDR: 4-byte address
	IDFQDN   uint8 = 2  // ID_FQDN: domain name
	IDRFC822 uint8 = 3  // ID_RFC822_ADDR: e-mail address
	IDIPv6   uint8 = 5  // ID_IPV6_ADDR: 16-byte address
	IDKeyID  uint8 = 11 // ID_KEY_ID: opaque octets
)

// maxIdentityLen bounds the value of a configured identity.
const maxIdentityLen = 1024

// identityTypes are the prefixes accepted by ParseIdentity, in the order
// listed in error messages.
var identityTypes = []string{"fqdn", "email", "rfc822", "keyid", "ipv4", "ipv6"}

// Identity is an IKE identification payload: a type and its raw value
// (4 or 16 address bytes for IP types, text or octets otherwise).
type Identity struct {
	Type  uint8
	Value []byte
}

// AddrIdentity returns the ID_IPV4_ADDR or ID_IPV6_ADDR identity of a.
// IPv4-mapped IPv6 addresses are treated as IPv4. It returns the zero
// Identity for an invalid address.
func AddrIdentity(a netip.Addr) Identity {
	a = a.Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return Identity{Type: IDIPv4, Value: b[:]}
	case a.Is6():
		b := a.As16()
		return Identity{Type: IDIPv6, Value: b[:]}
	}
	return Identity{}
}

// ParseIdentity parses the configuration syntax of an identity:
//
//	fqdn:vpn.example.com     ID_FQDN
//	email:alice@example.com  ID_RFC822_ADDR (alias rfc822:)
//	keyid:0x0a0b0c or keyid:#0a0b0c  ID_KEY_ID from hex; keyid:text for text
//	ipv4:192.0.2.1, ipv6:2001:db8::1  ID_IPV4_ADDR, ID_IPV6_ADDR
//
// Without a prefix an IP literal is an address identity, "@#hex" a key ID,
// "@name" an FQDN (strongSwan's syntax), anything else containing '@' an
// RFC822 address, and the rest an FQDN.
func ParseIdentity(s string) (Identity, error) {
	if s == "" {
		return Identity{}, errors.New("identity is empty")
	}
	if len(s) > maxIdentityLen {
		return Identity{}, fmt.Errorf("identity is longer than %d bytes", maxIdentityLen)
	}
	if !utf8.ValidString(s) {
		return Identity{}, errors.New("identity is not valid UTF-8")
	}
	if typ, val, ok := strings.Cut(s, ":"); ok && isWord(typ) {
		switch strings.ToLower(typ) {
		case "fqdn":
			return textIdentity(IDFQDN, val, false)
		case "email", "rfc822":
			return textIdentity(IDRFC822, val, false)
		case "keyid":
			return keyIDIdentity(val)
		case "ipv4", "ipv6":
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return Identity{}, fmt.Errorf("%s identity: %q is not an IP address", typ, val)
			}
			if strings.EqualFold(typ, "ipv4") != a.Is4() {
				return Identity{}, fmt.Errorf("%s identity: %q is not an %s address", typ, val, strings.ToUpper(typ[:2])+typ[2:])
			}
			if a.Is4() {
				return AddrIdentity(a), nil
			}
			b := a.As16()
			return Identity{Type: IDIPv6, Value: b[:]}, nil
		}
		if _, err := netip.ParseAddr(s); err != nil {
			return Identity{}, fmt.Errorf("unknown identity type %q (valid: %s)%s",
				typ, strings.Join(identityTypes, ", "), suggest(typ, identityTypes))
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Identity{}, fmt.Errorf("identity %q: addresses with a zone are not allowed", s)
		}
		if a.Is4() {
			return AddrIdentity(a), nil
		}
		b := a.As16()
		return Identity{Type: IDIPv6, Value: b[:]}, nil
	}
	if rest, ok := strings.CutPrefix(s, "@#"); ok {
		return keyIDIdentity("0x" + rest)
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok && !strings.Contains(rest, "@") {
		return textIdentity(IDFQDN, rest, false)
	}
	if strings.Contains(s, "@") {
		return textIdentity(IDRFC822, s, false)
	}
	return textIdentity(IDFQDN, s, false)
}

// isWord reports whether s is a non-empty run of ASCII letters and digits
// starting with a letter, i.e. could be an identity type prefix.
func isWord(s string) bool {
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c|0x20 && c|0x20 <= 'z') && !('0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// textIdentity checks a textual identity value. Spaces are only allowed when
// allowSpace is set; control characters never.
func textIdentity(typ uint8, v string, allowSpace bool) (Identity, error) {
	if v == "" {
		return Identity{}, fmt.Errorf("%s identity is empty", typeName(typ))
	}
	if !printableText(v, allowSpace) {
		return Identity{}, fmt.Errorf("%s identity %q contains a space or control character", typeName(typ), v)
	}
	return Identity{Type: typ, Value: []byte(v)}, nil
}

// keyIDIdentity parses a KEY_ID value: hex after "0x" or "#", text otherwise.
func keyIDIdentity(v string) (Identity, error) {
	h, isHex := strings.CutPrefix(v, "0x")
	if !isHex {
		h, isHex = strings.CutPrefix(v, "#")
	}
	if !isHex {
		return textIdentity(IDKeyID, v, true)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
	if err != nil || len(b) == 0 {
		return Identity{}, fmt.Errorf("keyid identity %q: expected an even number of hex digits after %q", v, v[:len(v)-len(h)])
	}
	return Identity{Type: IDKeyID, Value: b}, nil
}

// typeName is the configuration prefix of an identity type.
func typeName(t uint8) string {
	switch t {
	case IDIPv4:
		return "ipv4"
	case IDFQDN:
		return "fqdn"
	case IDRFC822:
		return "email"
	case IDIPv6:
		return "ipv6"
	case IDKeyID:
		return "keyid"
	}
	return "id" + strconv.Itoa(int(t))
}

// String returns the identity in configuration syntax, e.g. "fqdn:x",
// "email:a@b", "ipv4:192.0.2.1", "keyid:0x0a0b". Text values with
// unprintable characters are shown quoted, octets that are not text in hex.
func (id Identity) String() string {
	name := typeName(id.Type)
	switch id.Type {
	case IDIPv4, IDIPv6:
		if a, ok := netip.AddrFromSlice(id.Value); ok && (len(id.Value) == 4) == (id.Type == IDIPv4) {
			return name + ":" + a.String()
		}
	case IDFQDN, IDRFC822:
		if printable(id.Value, false) {
			return name + ":" + string(id.Value)
		}
		return name + ":" + strconv.QuoteToASCII(string(id.Value))
	case IDKeyID:
		if printable(id.Value, true) && !bytes.HasPrefix(id.Value, []byte("0x")) && !bytes.HasPrefix(id.Value, []byte("#")) {
			return name + ":" + string(id.Value)
		}
	}
	return name + ":0x" + hex.EncodeToString(id.Value)
}

// printable reports whether b is non-empty valid UTF-8 without control
// characters (and without spaces unless allowSpace).
func printable(b []byte, allowSpace bool) bool {
	return len(b) > 0 && utf8.Valid(b) && printableText(string(b), allowSpace)
}

// printableText reports whether s has no control characters (and no spaces unless
// allowSpace), as unicode.IsPrint and unicode.IsSpace define them. ASCII, the common
// case, is checked without them: its only unprintable characters are the controls, and
// its only printable space is ' '.
func printableText(s string, allowSpace bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return printableRunes(s[i:], allowSpace)
		}
		if c < ' ' || c == 0x7f || (c == ' ' && !allowSpace) {
			return false
		}
	}
	return true
}

func printableRunes(s string, allowSpace bool) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || (!allowSpace && unicode.IsSpace(r)) {
			return false
		}
	}
	return true
}

// MarshalText returns String(), so identities read well in JSON.
func (id Identity) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// Equal reports whether id and o have the same type and value.
func (id Identity) Equal(o Identity) bool {
	return id.Type == o.Type && bytes.Equal(id.Value, o.Value)
}

// IsZero reports whether id is the zero Identity (no type, no value).
func (id Identity) IsZero() bool { return id.Type == 0 && len(id.Value) == 0 }

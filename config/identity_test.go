package config

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"unicode"
)

func TestParseIdentity(t *testing.T) {
	cases := []struct {
		in     string
		typ    uint8
		val    []byte
		str    string // String(); "" means same as in
		errFrg string
	}{
		{in: "fqdn:vpn.example.com", typ: IDFQDN, val: []byte("vpn.example.com")},
		{in: "FQDN:vpn.example.com", typ: IDFQDN, val: []byte("vpn.example.com"), str: "fqdn:vpn.example.com"},
		{in: "email:a@b", typ: IDRFC822, val: []byte("a@b")},
		{in: "rfc822:a@b", typ: IDRFC822, val: []byte("a@b"), str: "email:a@b"},
		{in: "keyid:0x0a0B0c", typ: IDKeyID, val: []byte{10, 11, 12}, str: "keyid:0x0a0b0c"},
		{in: "keyid:#0a0b", typ: IDKeyID, val: []byte{10, 11}, str: "keyid:0x0a0b"},
		{in: "keyid:my key", typ: IDKeyID, val: []byte("my key")},
		{in: "ipv4:192.0.2.1", typ: IDIPv4, val: []byte{192, 0, 2, 1}},
		{in: "ipv6:2001:db8::1", typ: IDIPv6, val: netip.MustParseAddr("2001:db8::1").AsSlice()},
		{in: "192.0.2.1", typ: IDIPv4, val: []byte{192, 0, 2, 1}, str: "ipv4:192.0.2.1"},
		{in: "2001:db8::1", typ: IDIPv6, val: netip.MustParseAddr("2001:db8::1").AsSlice(), str: "ipv6:2001:db8::1"},
		{in: "fe80::1", typ: IDIPv6, val: netip.MustParseAddr("fe80::1").AsSlice(), str: "ipv6:fe80::1"},
		{in: "alice@example.org", typ: IDRFC822, val: []byte("alice@example.org"), str: "email:alice@example.org"},
		{in: "@vpn.example.com", typ: IDFQDN, val: []byte("vpn.example.com"), str: "fqdn:vpn.example.com"},
		{in: "@#0102", typ: IDKeyID, val: []byte{1, 2}, str: "keyid:0x0102"},
		{in: "vpn.example.com", typ: IDFQDN, val: []byte("vpn.example.com"), str: "fqdn:vpn.example.com"},
		{in: "", errFrg: "identity is empty"},
		{in: "fqdn:", errFrg: "fqdn identity is empty"},
		{in: "fqdn:a b", errFrg: "contains a space or control character"},
		{in: "email:a\tb", errFrg: "contains a space or control character"},
		{in: "keyid:0xabc", errFrg: "even number of hex digits"},
		{in: "keyid:0xzz", errFrg: "even number of hex digits"},
		{in: "ipv4:2001:db8::1", errFrg: "is not an IPv4 address"},
		{in: "ipv6:192.0.2.1", errFrg: "is not an IPv6 address"},
		{in: "ipv4:nope", errFrg: "is not an IP address"},
		{in: "fe80::1%eth0", errFrg: "zone"},
		{in: "dn:CN=x", errFrg: `unknown identity type "dn"`},
		{in: "emial:a@b", errFrg: `(did you mean "email"?)`},
		{in: strings.Repeat("a", 2000), errFrg: "longer than"},
		{in: "fqdn:\xff", errFrg: "UTF-8"},
	}
	for _, tc := range cases {
		id, err := ParseIdentity(tc.in)
		if tc.errFrg != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errFrg) {
				t.Errorf("ParseIdentity(%q) err = %v, want %q", tc.in, err, tc.errFrg)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseIdentity(%q): %v", tc.in, err)
			continue
		}
		if id.Type != tc.typ || !bytes.Equal(id.Value, tc.val) {
			t.Errorf("ParseIdentity(%q) = %d %x, want %d %x", tc.in, id.Type, id.Value, tc.typ, tc.val)
		}
		want := tc.str
		if want == "" {
			want = tc.in
		}
		if id.String() != want {
			t.Errorf("ParseIdentity(%q).String() = %q, want %q", tc.in, id.String(), want)
		}
		// String output parses back to the same identity.
		back, err := ParseIdentity(id.String())
		if err != nil || !back.Equal(id) {
			t.Errorf("round trip of %q: %v %v", id.String(), back, err)
		}
	}
}

func TestIdentityString(t *testing.T) {
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{Identity{Type: IDKeyID, Value: []byte{0, 1, 0xff}}, "keyid:0x0001ff"},
		{Identity{Type: IDKeyID, Value: []byte("0xab")}, "keyid:0x30786162"},
		{Identity{Type: IDFQDN, Value: []byte("a\nb")}, `fqdn:"a\nb"`},
		{Identity{Type: IDIPv4, Value: []byte{1, 2, 3}}, "ipv4:0x010203"},
		{Identity{Type: 9, Value: []byte{1}}, "id9:0x01"},
		{AddrIdentity(netip.MustParseAddr("::ffff:192.0.2.1")), "ipv4:192.0.2.1"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	b, err := json.Marshal(struct{ ID Identity }{Identity{Type: IDFQDN, Value: []byte("x.example")}})
	if err != nil || string(b) != `{"ID":"fqdn:x.example"}` {
		t.Errorf("json = %s %v", b, err)
	}
	if !(Identity{}).IsZero() || AddrIdentity(netip.Addr{}).Type != 0 {
		t.Error("zero identity")
	}
}

// TestPrintableText: the ASCII fast path agrees with unicode.IsPrint and unicode.IsSpace on
// every character up to U+00FF, alone and after non-ASCII text.
func TestPrintableText(t *testing.T) {
	for r := rune(0); r <= 0xff; r++ {
		for _, allowSpace := range []bool{false, true} {
			want := unicode.IsPrint(r) && (allowSpace || !unicode.IsSpace(r))
			for _, s := range []string{string(r), "a" + string(r) + "b", "é" + string(r)} {
				if got := printableText(s, allowSpace); got != want {
					t.Errorf("printableText(%q, %v) = %v, want %v", s, allowSpace, got, want)
				}
			}
		}
	}
}

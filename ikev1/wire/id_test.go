package wire

import (
	"net/netip"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestIDAddresses(t *testing.T) {
	sub := func(s string) *ID {
		id, err := NewSubnetID(netip.MustParsePrefix(s))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	rng := func(a, b string) *ID {
		id, err := NewRangeID(mustAddr(a), mustAddr(b))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tests := []struct {
		id       *ID
		typ      IDType
		from, to string
		prefix   string // "" when Prefix must fail
		str      string
	}{
		{NewAddrID(mustAddr("192.0.2.1")), IDIPv4Addr, "192.0.2.1", "192.0.2.1", "192.0.2.1/32", "ID_IPV4_ADDR 192.0.2.1"},
		{NewAddrID(mustAddr("::ffff:192.0.2.1")), IDIPv4Addr, "192.0.2.1", "192.0.2.1", "192.0.2.1/32", "ID_IPV4_ADDR 192.0.2.1"},
		{NewAddrID(mustAddr("2001:db8::1")), IDIPv6Addr, "2001:db8::1", "2001:db8::1", "2001:db8::1/128", "ID_IPV6_ADDR 2001:db8::1"},
		{sub("10.1.2.3/16"), IDIPv4Subnet, "10.1.0.0", "10.1.255.255", "10.1.0.0/16", "ID_IPV4_ADDR_SUBNET 10.1.0.0/16"},
		{sub("0.0.0.0/0"), IDIPv4Subnet, "0.0.0.0", "255.255.255.255", "0.0.0.0/0", "ID_IPV4_ADDR_SUBNET 0.0.0.0/0"},
		{sub("::ffff:10.0.0.0/104"), IDIPv4Subnet, "10.0.0.0", "10.255.255.255", "10.0.0.0/8", "ID_IPV4_ADDR_SUBNET 10.0.0.0/8"},
		{sub("2001:db8:1::/48"), IDIPv6Subnet, "2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::/48", "ID_IPV6_ADDR_SUBNET 2001:db8:1::/48"},
		{sub("2001:db8::1/128"), IDIPv6Subnet, "2001:db8::1", "2001:db8::1", "2001:db8::1/128", "ID_IPV6_ADDR_SUBNET 2001:db8::1/128"},
		{rng("10.0.0.1", "10.0.0.9"), IDIPv4Range, "10.0.0.1", "10.0.0.9", "", "ID_IPV4_ADDR_RANGE 10.0.0.1-10.0.0.9"},
		{rng("2001:db8::1", "2001:db8::ff"), IDIPv6Range, "2001:db8::1", "2001:db8::ff", "", "ID_IPV6_ADDR_RANGE 2001:db8::1-2001:db8::ff"},
	}
	for _, tc := range tests {
		if tc.id.Type != tc.typ {
			t.Errorf("%s: type %v", tc.str, tc.id.Type)
		}
		from, to, err := tc.id.Range()
		if err != nil || from != mustAddr(tc.from) || to != mustAddr(tc.to) {
			t.Errorf("%s: Range %v-%v %v", tc.str, from, to, err)
		}
		p, err := tc.id.Prefix()
		if tc.prefix == "" && err == nil || tc.prefix != "" && (err != nil || p != netip.MustParsePrefix(tc.prefix)) {
			t.Errorf("%s: Prefix %v %v", tc.str, p, err)
		}
		if s := tc.id.String(); s != tc.str {
			t.Errorf("String %q, want %q", s, tc.str)
		}
	}

	// Subnet encoding: address then netmask.
	if id := sub("10.1.0.0/20"); string(id.Data) != string([]byte{10, 1, 0, 0, 255, 255, 240, 0}) {
		t.Errorf("subnet data %x", id.Data)
	}
	// Non-contiguous netmask and reversed range.
	bad := []*ID{
		{Type: IDIPv4Subnet, Data: []byte{10, 0, 0, 0, 255, 0, 255, 0}},
		{Type: IDIPv4Subnet, Data: []byte{10, 0, 0, 0, 0xfe, 0xff, 0, 0}},
		{Type: IDIPv4Range, Data: []byte{10, 0, 0, 9, 10, 0, 0, 1}},
		{Type: IDFQDN, Data: []byte("example.org")},
		{Type: IDIPv4Addr, Data: []byte{1, 2, 3}},
	}
	for _, id := range bad {
		if _, _, err := id.Range(); err == nil {
			t.Errorf("%v: Range accepted", id)
		}
		_ = id.String()
	}
	if _, err := bad[0].Prefix(); err == nil {
		t.Error("non-contiguous mask accepted")
	}
	if s := (&ID{Type: IDFQDN, Protocol: 17, Port: 500, Data: []byte("vpn.example.org")}).String(); s != `ID_FQDN "vpn.example.org" proto 17 port 500` {
		t.Errorf("FQDN string %q", s)
	}
	if _, err := NewRangeID(mustAddr("10.0.0.2"), mustAddr("10.0.0.1")); err == nil {
		t.Error("reversed range built")
	}
	if _, err := NewRangeID(mustAddr("10.0.0.2"), mustAddr("2001:db8::1")); err == nil {
		t.Error("mixed family range built")
	}
	if _, err := NewSubnetID(netip.Prefix{}); err == nil {
		t.Error("invalid prefix built")
	}
}

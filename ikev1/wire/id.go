package wire

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
)

// IDType is the Identification Type of an ID payload (RFC 2407 section 4.6.2.1).
type IDType uint8

// Identification types.
const (
	IDIPv4Addr   IDType = 1
	IDFQDN       IDType = 2
	IDUserFQDN   IDType = 3
	IDIPv4Subnet IDType = 4
	IDIPv6Addr   IDType = 5
	IDIPv6Subnet IDType = 6
	IDIPv4Range  IDType = 7
	IDIPv6Range  IDType = 8
	IDDERASN1DN  IDType = 9
	IDDERASN1GN  IDType = 10
	IDKeyID      IDType = 11
)

var idTypeNames = [...]string{
	IDIPv4Addr:   "ID_IPV4_ADDR",
	IDFQDN:       "ID_FQDN",
	IDUserFQDN:   "ID_USER_FQDN",
	IDIPv4Subnet: "ID_IPV4_ADDR_SUBNET",
	IDIPv6Addr:   "ID_IPV6_ADDR",
	IDIPv6Subnet: "ID_IPV6_ADDR_SUBNET",
	IDIPv4Range:  "ID_IPV4_ADDR_RANGE",
	IDIPv6Range:  "ID_IPV6_ADDR_RANGE",
	IDDERASN1DN:  "ID_DER_ASN1_DN",
	IDDERASN1GN:  "ID_DER_ASN1_GN",
	IDKeyID:      "ID_KEY_ID",
}

// String returns the RFC name, or "ID(n)" for unknown values.
func (t IDType) String() string {
	if int(t) < len(idTypeNames) && idTypeNames[t] != "" {
		return idTypeNames[t]
	}
	return fmt.Sprintf("ID(%d)", uint8(t))
}

// addrLen returns the data length an address-valued ID type requires, or
// -1 for types with free-form data.
func (t IDType) addrLen() int {
	switch t {
	case IDIPv4Addr:
		return 4
	case IDIPv4Subnet, IDIPv4Range:
		return 8
	case IDIPv6Addr:
		return 16
	case IDIPv6Subnet, IDIPv6Range:
		return 32
	}
	return -1
}

// ID is an Identification payload (RFC 2408 section 3.8 with the IPsec DOI
// layout of RFC 2407 section 4.6.2). In Main Mode it names a peer (IDii,
// IDir; Protocol/Port 0/0 or 17/500); in Quick Mode the optional client
// IDs (IDci, IDcr) are addresses, subnets or ranges with an IP protocol and
// port selector.
type ID struct {
	Type     IDType
	Protocol uint8 // IP protocol number, 0 for any
	Port     uint16
	Data     []byte
}

// PayloadType implements Payload.
func (*ID) PayloadType() PayloadType { return PayloadID }

func (id *ID) appendBody(b []byte) []byte {
	b = append(b, byte(id.Type), id.Protocol)
	b = appendU16(b, id.Port)
	return append(b, id.Data...)
}

func parseID(b []byte) (*ID, error) {
	if len(b) < 4 {
		return nil, truncated("ID header")
	}
	id := &ID{Type: IDType(b[0]), Protocol: b[1], Port: be16(b[2:]), Data: sub(b, 4, len(b))}
	if want := id.Type.addrLen(); want >= 0 && len(id.Data) != want {
		return nil, malformed("%v with %d bytes of data", id.Type, len(id.Data))
	}
	return id, nil
}

// NewAddrID returns an ID_IPV4_ADDR or ID_IPV6_ADDR payload for a (any zone
// is dropped; an IPv4-mapped IPv6 address is treated as IPv4; the zero Addr
// gives ID_IPV6_ADDR ::).
func NewAddrID(a netip.Addr) *ID {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return &ID{Type: IDIPv4Addr, Data: b[:]}
	}
	b := a.As16()
	return &ID{Type: IDIPv6Addr, Data: b[:]}
}

// NewSubnetID returns an ID_IPV4_ADDR_SUBNET or ID_IPV6_ADDR_SUBNET payload
// (address and netmask) for p, which is masked first. An IPv4-mapped IPv6
// prefix is treated as IPv4.
func NewSubnetID(p netip.Prefix) (*ID, error) {
	if !p.IsValid() {
		return nil, fmt.Errorf("ikev1 wire: invalid subnet %v", p)
	}
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
	}
	p = p.Masked()
	data := p.Addr().AsSlice()
	n := len(data)
	data = append(data, make([]byte, n)...)
	for i := 0; i < p.Bits(); i++ {
		data[n+i/8] |= 0x80 >> (i % 8)
	}
	t := IDIPv4Subnet
	if n == 16 {
		t = IDIPv6Subnet
	}
	return &ID{Type: t, Data: data}, nil
}

// NewRangeID returns an ID_IPV4_ADDR_RANGE or ID_IPV6_ADDR_RANGE payload.
// from and to must be of the same family with from <= to.
func NewRangeID(from, to netip.Addr) (*ID, error) {
	from, to = from.Unmap(), to.Unmap()
	if !from.IsValid() || from.BitLen() != to.BitLen() || to.Less(from) {
		return nil, fmt.Errorf("ikev1 wire: invalid address range %v-%v", from, to)
	}
	t := IDIPv4Range
	if from.Is6() {
		t = IDIPv6Range
	}
	data := append(from.AsSlice(), to.AsSlice()...)
	return &ID{Type: t, Data: data}, nil
}

// errNotAddress is returned by the address accessors for other ID types.
var errNotAddress = errors.New("ikev1 wire: ID is not an address, subnet or range")

// Range returns the first and last address an address-valued ID covers
// (an address, a subnet or a range). It fails for other ID types, for a
// subnet whose netmask is not contiguous and for a range whose start lies
// after its end.
func (id *ID) Range() (from, to netip.Addr, err error) {
	n := id.Type.addrLen()
	if n < 0 || len(id.Data) != n {
		return netip.Addr{}, netip.Addr{}, errNotAddress
	}
	switch id.Type {
	case IDIPv4Addr, IDIPv6Addr:
		a, _ := netip.AddrFromSlice(id.Data)
		return a, a, nil
	case IDIPv4Subnet, IDIPv6Subnet:
		p, err := id.Prefix()
		if err != nil {
			return netip.Addr{}, netip.Addr{}, err
		}
		return p.Addr(), lastAddr(p), nil
	}
	from, _ = netip.AddrFromSlice(id.Data[:n/2])
	to, _ = netip.AddrFromSlice(id.Data[n/2:])
	if to.Less(from) {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("ikev1 wire: %v %v-%v is reversed", id.Type, from, to)
	}
	return from, to, nil
}

// Prefix returns the subnet of an address ID (as a host prefix) or a
// subnet ID. The address part is masked. A non-contiguous netmask, a range
// or a non-address ID is an error.
func (id *ID) Prefix() (netip.Prefix, error) {
	n := id.Type.addrLen()
	if n < 0 || len(id.Data) != n || id.Type == IDIPv4Range || id.Type == IDIPv6Range {
		return netip.Prefix{}, errNotAddress
	}
	if id.Type == IDIPv4Addr || id.Type == IDIPv6Addr {
		a, _ := netip.AddrFromSlice(id.Data)
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	a, _ := netip.AddrFromSlice(id.Data[:n/2])
	mask := id.Data[n/2:]
	ones := 0
	for i, c := range mask {
		l := bits.LeadingZeros8(^c)
		ones += l
		if l < 8 {
			if c<<l != 0 || !allZero(mask[i+1:]) {
				return netip.Prefix{}, fmt.Errorf("ikev1 wire: %v netmask %x is not contiguous", id.Type, mask)
			}
			break
		}
	}
	return netip.PrefixFrom(a, ones).Masked(), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// String describes the identity, e.g. "ID_FQDN vpn.example.org" or
// "ID_IPV4_ADDR_SUBNET 10.1.0.0/16 proto 17 port 500". Identities are not
// secret.
func (id *ID) String() string {
	var v string
	switch id.Type {
	case IDFQDN, IDUserFQDN:
		v = strconv.Quote(string(id.Data))
	case IDIPv4Subnet, IDIPv6Subnet:
		if p, err := id.Prefix(); err == nil {
			v = p.String()
		} else {
			v = fmt.Sprintf("%x", id.Data)
		}
	default:
		if from, to, err := id.Range(); err != nil {
			v = fmt.Sprintf("%x", id.Data)
		} else if from == to {
			v = from.String()
		} else {
			v = from.String() + "-" + to.String()
		}
	}
	s := id.Type.String() + " " + v
	if id.Protocol != 0 || id.Port != 0 {
		s += fmt.Sprintf(" proto %d port %d", id.Protocol, id.Port)
	}
	return s
}

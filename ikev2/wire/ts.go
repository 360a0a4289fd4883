package wire

import (
	"fmt"
	"net/netip"
)

// TSType is the type of a traffic selector.
type TSType uint8

// Traffic selector types (RFC 7296 section 3.13.1).
const (
	TSIPv4AddrRange TSType = 7
	TSIPv6AddrRange TSType = 8
)

// String returns the RFC name, or "TS(n)" for unknown values.
func (t TSType) String() string {
	switch t {
	case TSIPv4AddrRange:
		return "TS_IPV4_ADDR_RANGE"
	case TSIPv6AddrRange:
		return "TS_IPV6_ADDR_RANGE"
	}
	return fmt.Sprintf("TS(%d)", uint8(t))
}

// addrLen returns the address length for t, or 0 if t is unsupported.
func (t TSType) addrLen() int {
	switch t {
	case TSIPv4AddrRange:
		return 4
	case TSIPv6AddrRange:
		return 16
	}
	return 0
}

// TrafficSelector is one traffic selector substructure. IPProtocol 0 means
// any protocol; ports 0-65535 mean any port.
type TrafficSelector struct {
	Type       TSType
	IPProtocol uint8
	StartPort  uint16
	EndPort    uint16
	StartAddr  netip.Addr
	EndAddr    netip.Addr
}

// TrafficSelectorFromPrefix returns a selector covering prefix p (which
// need not be masked), any protocol and any port.
func TrafficSelectorFromPrefix(p netip.Prefix) TrafficSelector {
	p = p.Masked()
	start := p.Addr()
	end := lastAddr(p)
	t := TSIPv6AddrRange
	if start.Is4() {
		t = TSIPv4AddrRange
	}
	return TrafficSelector{Type: t, StartPort: 0, EndPort: 0xffff, StartAddr: start, EndAddr: end}
}

// lastAddr returns the highest address in the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		for bit := 0; bit < 8; bit++ {
			if i*8+bit >= bits {
				a[i] |= 0x80 >> bit
			}
		}
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}

// Contains reports whether addr lies in the selector's address range
// (ports and protocol are not considered).
func (ts TrafficSelector) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	return ts.StartAddr.Compare(addr) <= 0 && addr.Compare(ts.EndAddr) <= 0
}

// String formats the selector for logs.
func (ts TrafficSelector) String() string {
	return fmt.Sprintf("%v-%v proto %d ports %d-%d", ts.StartAddr, ts.EndAddr, ts.IPProtocol, ts.StartPort, ts.EndPort)
}

// TrafficSelectors is a Traffic Selector payload: TSi when Responder is
// false, TSr when true.
type TrafficSelectors struct {
	Responder bool
	Selectors []TrafficSelector
}

// PayloadType implements Payload.
func (t *TrafficSelectors) PayloadType() PayloadType {
	if t.Responder {
		return PayloadTSr
	}
	return PayloadTSi
}

func (t *TrafficSelectors) appendBody(b []byte) []byte {
	if len(t.Selectors) > 0xff {
		panic("wire: more than 255 traffic selectors")
	}
	b = append(b, byte(len(t.Selectors)), 0, 0, 0)
	for _, s := range t.Selectors {
		n := s.Type.addrLen()
		if n == 0 {
			panic(fmt.Sprintf("wire: unsupported traffic selector type %v", s.Type))
		}
		l := 8 + 2*n
		b = append(b, byte(s.Type), s.IPProtocol, byte(l>>8), byte(l))
		b = appendU16(b, s.StartPort)
		b = appendU16(b, s.EndPort)
		b = appendAddr(b, s.StartAddr, n)
		b = appendAddr(b, s.EndAddr, n)
	}
	return b
}

// appendAddr appends a as an n-byte address; an address of the wrong
// family is a programming error.
func appendAddr(b []byte, a netip.Addr, n int) []byte {
	if n == 4 {
		a = a.Unmap()
		if !a.Is4() {
			panic(fmt.Sprintf("wire: %v in an IPv4 traffic selector", a))
		}
		v := a.As4()
		return append(b, v[:]...)
	}
	if !a.Is6() {
		panic(fmt.Sprintf("wire: %v in an IPv6 traffic selector", a))
	}
	v := a.As16()
	return append(b, v[:]...)
}

func parseTS(responder bool, b []byte) (*TrafficSelectors, error) {
	if len(b) < 4 {
		return nil, truncated("TS header")
	}
	n := int(b[0])
	t := &TrafficSelectors{Responder: responder}
	if n > 0 {
		t.Selectors = make([]TrafficSelector, 0, min(n, len(b)/16))
	}
	b = b[4:]
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			return nil, truncated("traffic selector header")
		}
		s := TrafficSelector{Type: TSType(b[0]), IPProtocol: b[1]}
		l := int(be16(b[2:]))
		al := s.Type.addrLen()
		if al == 0 {
			return nil, malformed("unsupported traffic selector type %v", s.Type)
		}
		if l != 8+2*al {
			return nil, malformed("%v selector length %d", s.Type, l)
		}
		if len(b) < l {
			return nil, truncated("traffic selector")
		}
		s.StartPort = be16(b[4:])
		s.EndPort = be16(b[6:])
		s.StartAddr, _ = netip.AddrFromSlice(b[8 : 8+al])
		s.EndAddr, _ = netip.AddrFromSlice(b[8+al : l])
		t.Selectors = append(t.Selectors, s)
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, malformed("%d bytes after last traffic selector", len(b))
	}
	return t, nil
}

package wire

import "net/netip"

// NATOA is the NAT Original Address payload (RFC 3947 section 5.2), sent
// in Quick Mode for transport mode. Draft selects payload number 131 of
// draft-ietf-ipsec-nat-t-ike-02/03 instead of 21. The ID type on the wire
// is ID_IPV4_ADDR or ID_IPV6_ADDR according to Addr (an IPv4-mapped IPv6
// address is sent as IPv6; the zero Addr as ::).
type NATOA struct {
	Draft bool
	Addr  netip.Addr
}

// PayloadType implements Payload.
func (n *NATOA) PayloadType() PayloadType {
	if n.Draft {
		return PayloadNATOADraft
	}
	return PayloadNATOA
}

func (n *NATOA) appendBody(b []byte) []byte {
	a := n.Addr
	t := IDIPv6Addr
	if a.Is4() {
		t = IDIPv4Addr
	}
	b = append(b, byte(t), 0, 0, 0)
	return append(b, addrBytes(a, t)...)
}

// addrBytes returns a's bytes in the length ID type t requires.
func addrBytes(a netip.Addr, t IDType) []byte {
	if t == IDIPv4Addr {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func parseNATOA(draft bool, b []byte) (*NATOA, error) {
	if len(b) < 4 {
		return nil, truncated("NAT-OA header")
	}
	t := IDType(b[0])
	if t != IDIPv4Addr && t != IDIPv6Addr {
		return nil, malformed("NAT-OA with ID type %v", t)
	}
	if len(b)-4 != t.addrLen() {
		return nil, malformed("NAT-OA %v with %d address bytes", t, len(b)-4)
	}
	a, _ := netip.AddrFromSlice(b[4:])
	return &NATOA{Draft: draft, Addr: a}, nil
}

package ike

import (
	"net/netip"
	"slices"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Selector is one traffic selector: an address range, an IP protocol (0 = any) and a port
// range, the same for both IKE versions and the dataplane.
type Selector = dataplane.Selector

// PrefixRange returns the first and last address of p.
func PrefixRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	p = p.Masked()
	start := p.Addr()
	b := start.AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	end, _ := netip.AddrFromSlice(b)
	return start, end
}

func maxAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) >= 0 {
		return a
	}
	return b
}

func minAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) <= 0 {
		return a
	}
	return b
}

// intersect returns the intersection of two selectors, ok=false if it is empty.
func intersect(a, b Selector) (Selector, bool) {
	if a.StartAddr.Is4() != b.StartAddr.Is4() {
		return Selector{}, false
	}
	r := a
	switch {
	case a.Proto == 0:
		r.Proto = b.Proto
	case b.Proto != 0 && a.Proto != b.Proto:
		return Selector{}, false
	}
	r.StartAddr = maxAddr(a.StartAddr, b.StartAddr)
	r.EndAddr = minAddr(a.EndAddr, b.EndAddr)
	if r.StartAddr.Compare(r.EndAddr) > 0 {
		return Selector{}, false
	}
	r.StartPort = max(a.StartPort, b.StartPort)
	r.EndPort = min(a.EndPort, b.EndPort)
	if r.StartPort > r.EndPort {
		return Selector{}, false
	}
	return r, true
}

// MaxSelectors bounds the traffic selectors of one side of a Child SA after narrowing. The
// product of what a peer proposes and what we allow could otherwise exceed what a TS payload
// can carry (255) and what a policy should hold; more is refused with TS_UNACCEPTABLE.
const MaxSelectors = 64

// Narrow intersects what the peer proposed with what we allow (RFC 7296 2.9). The result is
// empty when nothing is acceptable, or when it would hold more than MaxSelectors selectors.
// Duplicates are dropped.
func Narrow(proposed, allowed []Selector) []Selector {
	var out []Selector
	for _, p := range proposed {
		for _, a := range allowed {
			r, ok := intersect(p, a)
			if !ok || slices.Contains(out, r) {
				continue
			}
			if len(out) == MaxSelectors {
				return nil
			}
			out = append(out, r)
		}
	}
	return out
}

// Within reports whether every selector of got lies inside one of allowed (initiator check of
// the responder's narrowed answer).
func Within(got, allowed []Selector) bool {
	if len(got) == 0 {
		return false
	}
	for _, g := range got {
		ok := false
		for _, a := range allowed {
			if r, ok2 := intersect(g, a); ok2 && r == g {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// SelectorStrings renders selectors for operators ("10.1.0.0/16", or a range when not a prefix).
func SelectorStrings(ts []Selector) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		s := rangeString(t.StartAddr, t.EndAddr)
		if t.Proto != 0 || t.StartPort != 0 || t.EndPort != 0xffff {
			s += "[" + itoa(int(t.Proto)) + "/" + itoa(int(t.StartPort)) + "-" + itoa(int(t.EndPort)) + "]"
		}
		out = append(out, s)
	}
	return out
}

func rangeString(s, e netip.Addr) string {
	for bits := 0; bits <= s.BitLen(); bits++ {
		p := netip.PrefixFrom(s, bits)
		if p.Masked().Addr() != s {
			continue
		}
		if ps, pe := PrefixRange(p); ps == s && pe == e {
			return p.String()
		}
	}
	return s.String() + "-" + e.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

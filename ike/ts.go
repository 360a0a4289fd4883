package ike

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Selector is one traffic selector: an address range, an IP protocol (0 = any) and a port
// range, the same for both IKE versions and the dataplane.
type Selector = dataplane.Selector

// PrefixRange returns the first and last address of p.
func PrefixRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	p = p.Masked()
	start := p.Addr()
	switch {
	case !start.IsValid():
		return start, netip.Addr{}
	case start.Is4():
		a := start.As4()
		v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1) // 1<<32 is 0 in a uint32
		binary.BigEndian.PutUint32(a[:], v)
		return start, netip.AddrFrom4(a)
	}
	a := start.As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	if n := p.Bits(); n < 64 {
		hi |= 1<<(64-n) - 1
		lo = ^uint64(0)
	} else {
		lo |= 1<<(128-n) - 1
	}
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
	return start, netip.AddrFrom16(a)
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
	var b []byte
	for _, t := range ts {
		b = AppendSelector(b[:0], t)
		out = append(out, string(b))
	}
	return out
}

// AppendSelectors appends the selectors as fmt's %v prints SelectorStrings ("[10.1.0.0/16
// 10.3.0.0/16]"), without building the strings: it is done for every Child SA set up.
func AppendSelectors(b []byte, ts []Selector) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = AppendSelector(b, t)
	}
	return append(b, ']')
}

// AppendSelector appends one selector as SelectorStrings renders it: the address range as a
// prefix where it is one ("10.1.0.0/16", else "10.1.0.1-10.1.0.9"), and then protocol and
// ports in brackets unless they are "any" ("[6/443-443]").
func AppendSelector(b []byte, t Selector) []byte {
	if p, ok := rangePrefix(t.StartAddr, t.EndAddr); ok {
		b = p.AppendTo(b)
	} else {
		b = t.StartAddr.AppendTo(b)
		b = append(b, '-')
		b = t.EndAddr.AppendTo(b)
	}
	if t.Proto != 0 || t.StartPort != 0 || t.EndPort != 0xffff {
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(t.Proto), 10)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(t.StartPort), 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(t.EndPort), 10)
		b = append(b, ']')
	}
	return b
}

// rangePrefix returns the prefix that covers exactly s..e, if there is one. The only
// candidate is the prefix of the bits s and e share: s must continue with zeros and e with
// ones.
func rangePrefix(s, e netip.Addr) (netip.Prefix, bool) {
	if !s.IsValid() || s.BitLen() != e.BitLen() || s.Zone() != "" || e.Zone() != "" {
		return netip.Prefix{}, false
	}
	a, z := s.As16(), e.As16()
	hi := binary.BigEndian.Uint64(a[:8]) ^ binary.BigEndian.Uint64(z[:8])
	lo := binary.BigEndian.Uint64(a[8:]) ^ binary.BigEndian.Uint64(z[8:])
	common := bits.LeadingZeros64(hi)
	if hi == 0 {
		common = 64 + bits.LeadingZeros64(lo)
	}
	common -= 128 - s.BitLen() // an IPv4 address is the last 32 of the 128
	p := netip.PrefixFrom(s, common)
	if ps, pe := PrefixRange(p); ps != s || pe != e {
		return netip.Prefix{}, false
	}
	return p, true
}

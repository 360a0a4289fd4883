package sad

import (
	"fmt"
	"net/netip"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// matchSrc reports whether s covers the flow's source side.
func matchSel(s *dataplane.Selector, a netip.Addr, proto uint8, port uint16, hasPorts bool) bool {
	if s.Proto != 0 && s.Proto != proto {
		return false
	}
	if a.Less(s.StartAddr) || s.EndAddr.Less(a) {
		return false
	}
	if s.StartPort == 0 && s.EndPort == 0xffff {
		return true
	}
	return hasPorts && port >= s.StartPort && port <= s.EndPort
}

// matchAny reports whether any selector of sels covers (a, proto, port).
func matchAny(sels []dataplane.Selector, a netip.Addr, proto uint8, port uint16, hasPorts bool) bool {
	for i := range sels {
		if matchSel(&sels[i], a, proto, port, hasPorts) {
			return true
		}
	}
	return false
}

// checkSelector validates one selector.
func checkSelector(s dataplane.Selector) error {
	if !s.StartAddr.IsValid() || !s.EndAddr.IsValid() {
		return fmt.Errorf("sad: selector with invalid address")
	}
	if s.StartAddr.Is4() != s.EndAddr.Is4() || s.StartAddr.Zone() != "" || s.EndAddr.Zone() != "" {
		return fmt.Errorf("sad: selector %v-%v mixes address families or has a zone", s.StartAddr, s.EndAddr)
	}
	if s.EndAddr.Less(s.StartAddr) {
		return fmt.Errorf("sad: selector range %v-%v is empty", s.StartAddr, s.EndAddr)
	}
	if s.EndPort < s.StartPort {
		return fmt.Errorf("sad: selector port range %d-%d is empty", s.StartPort, s.EndPort)
	}
	return nil
}

// u128 is an IPv4 or IPv6 address as a 128-bit integer.
type u128 struct{ hi, lo uint64 }

func addrU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{be64(b[0:8]), be64(b[8:16])}
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func (u u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(u.hi >> (56 - 8*i))
		b[8+i] = byte(u.lo >> (56 - 8*i))
	}
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (u u128) add(v u128) u128 {
	lo := u.lo + v.lo
	c := uint64(0)
	if lo < u.lo {
		c = 1
	}
	return u128{u.hi + v.hi + c, lo}
}

func (u u128) sub1() u128 {
	if u.lo == 0 {
		return u128{u.hi - 1, ^uint64(0)}
	}
	return u128{u.hi, u.lo - 1}
}

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

func (u u128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// trailingZeros counts trailing zero bits (128 for zero).
func (u u128) trailingZeros() int {
	for i := range 64 {
		if u.lo&(1<<i) != 0 {
			return i
		}
	}
	for i := range 64 {
		if u.hi&(1<<i) != 0 {
			return 64 + i
		}
	}
	return 128
}

func pow2(n int) u128 {
	if n >= 64 {
		return u128{1 << (n - 64), 0}
	}
	return u128{0, 1 << n}
}

// RangePrefixes returns the smallest list of prefixes exactly covering [start, end]
// (at most 2*bits entries). start and end must be of the same family with start <= end.
func RangePrefixes(start, end netip.Addr) []netip.Prefix {
	is4 := start.Is4()
	bits := 128
	if is4 {
		bits = 32
	}
	a, b := addrU128(start), addrU128(end)
	var out []netip.Prefix
	for {
		// Largest aligned block starting at a that does not go past b.
		host := min(a.trailingZeros(), bits)
		for host > 0 {
			last := a.add(pow2(host).sub1())
			if !b.less(last) && !last.less(a) { // a <= last <= b (no wrap)
				break
			}
			host--
		}
		p, _ := a.addr(is4).Prefix(bits - host)
		out = append(out, p)
		next := a.add(pow2(host).sub1())
		if !next.less(b) { // next >= b: done
			return out
		}
		a = next.add(u128{0, 1})
		if a.isZero() {
			return out
		}
	}
}

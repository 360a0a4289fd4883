package sad

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// sel is a traffic selector as the packet path compares it: the address range as 128-bit
// integers (IPv4 in its IPv4-mapped form, told apart by the family flag), 40 bytes where a
// dataplane.Selector takes 64. A flow's source address is converted once per lookup (see
// policyIndex.lookupIn), after which a comparison is two integer compares instead of
// netip.Addr.Compare's family, address and zone checks.
type sel struct {
	start, end         u128
	startPort, endPort uint16
	proto              uint8
	v6                 bool
}

func selOf(s dataplane.Selector) sel {
	return sel{start: addrU128(s.StartAddr), end: addrU128(s.EndAddr), startPort: s.StartPort, endPort: s.EndPort,
		proto: s.Proto, v6: s.StartAddr.Is6()}
}

// selector returns the selector s was made from (checkSelector refuses zones, so nothing
// is lost).
func (s *sel) selector() dataplane.Selector {
	return dataplane.Selector{Proto: s.proto, StartAddr: s.start.addr(!s.v6), EndAddr: s.end.addr(!s.v6),
		StartPort: s.startPort, EndPort: s.endPort}
}

// allPorts reports whether s covers every protocol and port.
func (s *sel) allPorts() bool { return s.proto == 0 && s.startPort == 0 && s.endPort == 0xffff }

// match reports whether s covers (a, proto, port) of an address of family v6.
func (s *sel) match(a u128, v6 bool, proto uint8, port uint16, hasPorts bool) bool {
	if s.proto != 0 && s.proto != proto {
		return false
	}
	if s.v6 != v6 || a.less(s.start) || s.end.less(a) {
		return false
	}
	if s.startPort == 0 && s.endPort == 0xffff {
		return true
	}
	return hasPorts && port >= s.startPort && port <= s.endPort
}

// matchAny reports whether any selector of sels covers (a, proto, port).
func matchAny(sels []sel, a u128, v6 bool, proto uint8, port uint16, hasPorts bool) bool {
	for i := range sels {
		if sels[i].match(a, v6, proto, port, hasPorts) {
			return true
		}
	}
	return false
}

// checkSelector validates one selector.
func checkSelector(s dataplane.Selector) error {
	if !s.StartAddr.IsValid() || !s.EndAddr.IsValid() {
		return errors.New("selector with invalid address")
	}
	if s.StartAddr.Is4() != s.EndAddr.Is4() || s.StartAddr.Zone() != "" || s.EndAddr.Zone() != "" {
		return fmt.Errorf("selector %v-%v mixes address families or has a zone", s.StartAddr, s.EndAddr)
	}
	if s.EndAddr.Less(s.StartAddr) {
		return fmt.Errorf("selector range %v-%v is empty", s.StartAddr, s.EndAddr)
	}
	if s.EndPort < s.StartPort {
		return fmt.Errorf("selector port range %d-%d is empty", s.StartPort, s.EndPort)
	}
	return nil
}

// u128 is an IPv4 or IPv6 address as a 128-bit integer.
type u128 struct{ hi, lo uint64 }

// addrU128 returns a as a 128-bit integer (IPv4 as IPv4-mapped; zero for the zero Addr).
// IPv4 goes through As4, which costs the packet path less than As16.
func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])}
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
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
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
	var out []netip.Prefix
	is4 := start.Is4()
	eachRangePrefix(addrU128(start), addrU128(end), is4, func(a u128, bits int) {
		p, _ := a.addr(is4).Prefix(bits)
		out = append(out, p)
	})
	return out
}

// eachRangePrefix calls f with the address and length of each prefix of RangePrefixes(a, b),
// in order. a and b are IPv4-mapped if is4.
func eachRangePrefix(a, b u128, is4 bool, f func(a u128, bits int)) {
	width := 128
	if is4 {
		width = 32
	}
	for {
		// Largest aligned block starting at a that does not go past b.
		host := min(a.trailingZeros(), width)
		for host > 0 {
			last := a.add(pow2(host).sub1())
			if !b.less(last) && !last.less(a) { // a <= last <= b (no wrap)
				break
			}
			host--
		}
		f(a, width-host)
		next := a.add(pow2(host).sub1())
		if !next.less(b) { // next >= b: done
			return
		}
		a = next.add(u128{0, 1})
		if a.isZero() {
			return
		}
	}
}

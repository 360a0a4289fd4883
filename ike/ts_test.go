package ike

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The straightforward versions of PrefixRange and the range rendering (bit by bit, one
// prefix length after another): the oracles for the fast ones.

func prefixRangeSlow(p netip.Prefix) (netip.Addr, netip.Addr) {
	p = p.Masked()
	start := p.Addr()
	b := start.AsSlice()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= p.Bits() {
				b[i] |= 0x80 >> j
			}
		}
	}
	end, _ := netip.AddrFromSlice(b)
	return start, end
}

func rangeStringSlow(s, e netip.Addr) string {
	for n := 0; n <= s.BitLen(); n++ {
		p := netip.PrefixFrom(s, n)
		if p.Masked().Addr() != s {
			continue
		}
		if ps, pe := prefixRangeSlow(p); ps == s && pe == e {
			return p.String()
		}
	}
	return s.String() + "-" + e.String()
}

// randomRange returns a range that is often a prefix, sometimes a prefix's range with one
// end moved, sometimes anything.
func randomRange(r *rand.Rand, v6 bool) (netip.Addr, netip.Addr) {
	var a [16]byte
	for i := range a {
		a[i] = byte(r.Uint32())
	}
	s := netip.AddrFrom16(a)
	if !v6 {
		s = netip.AddrFrom4([4]byte(a[:4]))
	}
	p := netip.PrefixFrom(s, r.IntN(s.BitLen()+1)).Masked()
	s, e := prefixRangeSlow(p)
	switch r.IntN(4) {
	case 0:
		s = s.Next()
	case 1:
		if e.Prev().IsValid() && s.Less(e) {
			e = e.Prev()
		}
	case 2:
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		e = netip.AddrFrom16(b)
		if !v6 {
			e = netip.AddrFrom4([4]byte(b[:4]))
		}
		if e.Less(s) {
			s, e = e, s
		}
	}
	if !s.IsValid() { // Next of the last address
		s = e
	}
	return s, e
}

func TestPrefixRangeAgainstSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.1.2.3/32"),
		netip.MustParsePrefix("10.1.2.3/24"), netip.MustParsePrefix("::/0"),
		netip.MustParsePrefix("2001:db8::1/128"), netip.MustParsePrefix("2001:db8::/64"),
		netip.MustParsePrefix("2001:db8::/63"), netip.MustParsePrefix("2001:db8::/65"),
		netip.MustParsePrefix("::ffff:10.1.0.0/112"), {},
	} {
		s, e := PrefixRange(p)
		ws, we := prefixRangeSlow(p)
		if s != ws || e != we {
			t.Errorf("PrefixRange(%v) = %v, %v, want %v, %v", p, s, e, ws, we)
		}
	}
	for i := range 20000 {
		s, _ := randomRange(r, i%2 == 0)
		p := netip.PrefixFrom(s, r.IntN(s.BitLen()+1))
		gs, ge := PrefixRange(p)
		ws, we := prefixRangeSlow(p)
		if gs != ws || ge != we {
			t.Fatalf("PrefixRange(%v) = %v, %v, want %v, %v", p, gs, ge, ws, we)
		}
	}
}

func TestSelectorRenderingAgainstSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sel := func(s, e string) Selector {
		return Selector{StartAddr: netip.MustParseAddr(s), EndAddr: netip.MustParseAddr(e), EndPort: 0xffff}
	}
	cases := []Selector{
		sel("0.0.0.0", "255.255.255.255"), sel("10.1.0.0", "10.1.255.255"), sel("10.1.0.1", "10.1.0.9"),
		sel("10.1.0.1", "10.1.0.1"), sel("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
		sel("2001:db8::", "2001:db8::ffff"), sel("2001:db8::1", "2001:db8::2"),
		sel("10.0.0.0", "2001:db8::"), // mixed families: a range, never a prefix
		{StartAddr: netip.MustParseAddr("10.2.0.0"), EndAddr: netip.MustParseAddr("10.2.0.255"), Proto: 6, StartPort: 443, EndPort: 443},
		{StartAddr: netip.MustParseAddr("10.2.0.0"), EndAddr: netip.MustParseAddr("10.2.0.255"), Proto: 17},
		{StartAddr: netip.MustParseAddr("fe80::1%eth0"), EndAddr: netip.MustParseAddr("fe80::1%eth0"), EndPort: 0xffff},
	}
	for i := range 20000 {
		s, e := randomRange(r, i%2 == 1)
		c := Selector{StartAddr: s, EndAddr: e, EndPort: 0xffff}
		if i%7 == 0 {
			c.Proto, c.StartPort, c.EndPort = uint8(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		want := rangeStringSlow(c.StartAddr, c.EndAddr)
		if c.Proto != 0 || c.StartPort != 0 || c.EndPort != 0xffff {
			want += fmt.Sprintf("[%d/%d-%d]", c.Proto, c.StartPort, c.EndPort)
		}
		if got := SelectorStrings([]Selector{c}); len(got) != 1 || got[0] != want {
			t.Fatalf("SelectorStrings(%+v) = %q, want %q", c, got, want)
		}
	}
	want := fmt.Sprintf("%v", SelectorStrings(cases[:4]))
	if got := string(AppendSelectors([]byte("x"), cases[:4])); got != "x"+want {
		t.Errorf("AppendSelectors = %q, want %q", got, "x"+want)
	}
	if got := string(AppendSelectors(nil, nil)); got != "[]" {
		t.Errorf("AppendSelectors(nil) = %q, want []", got)
	}
}

func TestAppendSelectorsAllocs(t *testing.T) {
	ts := []Selector{{StartAddr: netip.MustParseAddr("10.1.0.0"), EndAddr: netip.MustParseAddr("10.1.0.255"), EndPort: 0xffff}}
	b := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { b = AppendSelectors(b[:0], ts) }); n != 0 {
		t.Errorf("%v allocations, want none into a buffer with room", n)
	}
}

func FuzzSelectorRendering(f *testing.F) {
	f.Add([]byte{10, 1, 0, 0}, []byte{10, 1, 0, 255})
	f.Add([]byte{10, 1, 0, 1}, []byte{10, 1, 0, 9})
	f.Add(make([]byte, 16), []byte{0x20, 1, 0xd, 0xb8, 15: 0xff})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		s, ok1 := netip.AddrFromSlice(a)
		e, ok2 := netip.AddrFromSlice(b)
		if !ok1 || !ok2 {
			return
		}
		c := Selector{StartAddr: s, EndAddr: e, EndPort: 0xffff}
		if got, want := SelectorStrings([]Selector{c})[0], rangeStringSlow(s, e); got != want {
			t.Fatalf("%v-%v: %q, want %q", s, e, got, want)
		}
		for n := 0; n <= s.BitLen(); n += 7 {
			p := netip.PrefixFrom(s, n)
			gs, ge := PrefixRange(p)
			ws, we := prefixRangeSlow(p)
			if gs != ws || ge != we {
				t.Fatalf("PrefixRange(%v) = %v, %v, want %v, %v", p, gs, ge, ws, we)
			}
		}
	})
}

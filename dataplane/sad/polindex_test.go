package sad

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// refIndex is the reference for the policy index: the installed policies in a list, looked up
// by scanning all of them and applying the precedence rules of policyIndex literally.
type refIndex struct {
	pols map[string]*refPolicy
	seq  uint64
}

type refPolicy struct {
	cfg dataplane.Policy
	seq uint64
}

func newRef() *refIndex { return &refIndex{pols: map[string]*refPolicy{}} }

func (r *refIndex) set(p dataplane.Policy) {
	if old := r.pols[p.Tunnel]; old != nil {
		old.cfg = p // a replaced policy keeps its place
		return
	}
	r.seq++
	r.pols[p.Tunnel] = &refPolicy{p, r.seq}
}

// lookup returns the tunnel whose policy routes f ("" if none).
func (r *refIndex) lookup(f *Flow) string {
	best, bestLen, bestSeq := "", -1, uint64(0)
	for name, p := range r.pols {
		if !refMatch(p.cfg.RemoteTS, f.Dst, f.Proto, f.DstPort, f.HasPorts) ||
			!refMatch(p.cfg.LocalTS, f.Src, f.Proto, f.SrcPort, f.HasPorts) {
			continue
		}
		l := -1
		for _, s := range p.cfg.RemoteTS {
			l = max(l, blockLen(s, f.Dst))
		}
		if l > bestLen || l == bestLen && p.seq < bestSeq {
			best, bestLen, bestSeq = name, l, p.seq
		}
	}
	return best
}

// refMatch: some selector covers the address, protocol and port (a selector for all ports
// also covers packets without ports).
func refMatch(sels []dataplane.Selector, a netip.Addr, proto uint8, port uint16, hasPorts bool) bool {
	for _, s := range sels {
		inRange := s.StartAddr.Compare(a) <= 0 && a.Compare(s.EndAddr) <= 0
		protoOK := s.Proto == 0 || s.Proto == proto
		allPorts := s.StartPort == 0 && s.EndPort == 0xffff
		portOK := allPorts || hasPorts && s.StartPort <= port && port <= s.EndPort
		if inRange && protoOK && portOK {
			return true
		}
	}
	return false
}

// blockLen is the length of the largest CIDR block that contains a and lies inside s's address
// range, or -1 if a is outside the range.
func blockLen(s dataplane.Selector, a netip.Addr) int {
	if a.Is4() != s.StartAddr.Is4() || a.Compare(s.StartAddr) < 0 || a.Compare(s.EndAddr) > 0 {
		return -1
	}
	// The blocks containing a are nested: if one fits, all longer ones do.
	fits := func(bits int) bool {
		pf, _ := a.Prefix(bits)
		return pf.Addr().Compare(s.StartAddr) >= 0 && lastOf(pf).Compare(s.EndAddr) <= 0
	}
	return sort.Search(a.BitLen(), fits)
}

// polGen draws random policies and flows from small address spaces, so that policies
// overlap a lot: IPv4 in 10.0.0.0/22, IPv6 in 2001:db8::/118, now and then a whole family or
// an IPv4-mapped IPv6 range.
type polGen struct{ r *rand.Rand }

func (g polGen) addr(v6 bool, local bool) netip.Addr {
	n := g.r.IntN(1024)
	switch {
	case !v6 && local:
		return netip.AddrFrom4([4]byte{172, 16, byte(n >> 8), byte(n)})
	case !v6:
		return netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)})
	case g.r.IntN(10) == 0:
		return netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}).As16()) // ::ffff:10.0.x.y
	case local:
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(n >> 8), 15: byte(n)})
	}
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(n >> 8), 15: byte(n)})
}

func (g polGen) selector(local bool) dataplane.Selector {
	v6 := g.r.IntN(3) == 0
	s := dataplane.Selector{EndPort: 0xffff}
	switch k := g.r.IntN(50); {
	case k == 0: // the whole family
		s.StartAddr, s.EndAddr = netip.IPv4Unspecified(), netip.AddrFrom4([4]byte{255, 255, 255, 255})
		if v6 {
			s.StartAddr, s.EndAddr = netip.IPv6Unspecified(), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
		}
	case k < 25: // a prefix
		a := g.addr(v6, local)
		pf, _ := a.Prefix(a.BitLen() - g.r.IntN(11))
		s.StartAddr, s.EndAddr = pf.Addr(), lastOf(pf)
	default: // any range
		a, b := g.addr(v6, local), g.addr(v6, local)
		if a.Is4() != b.Is4() {
			b = a
		}
		if b.Less(a) {
			a, b = b, a
		}
		s.StartAddr, s.EndAddr = a, b
	}
	if g.r.IntN(4) == 0 {
		s.Proto = []uint8{ProtoTCP, ProtoUDP, ProtoICMP}[g.r.IntN(3)]
	}
	switch g.r.IntN(6) {
	case 0:
		s.StartPort = uint16(g.r.IntN(4)) * 100
		s.EndPort = s.StartPort
	case 1:
		s.StartPort, s.EndPort = uint16(g.r.IntN(200)), uint16(200+g.r.IntN(300))
	}
	return s
}

func (g polGen) policy(name string) dataplane.Policy {
	p := dataplane.Policy{Tunnel: name, OutChild: uint64(g.r.IntN(50))}
	for range 1 + g.r.IntN(2) {
		p.LocalTS = append(p.LocalTS, g.selector(true))
	}
	for range 1 + g.r.IntN(3) {
		p.RemoteTS = append(p.RemoteTS, g.selector(false))
	}
	return p
}

func (g polGen) flow() Flow {
	v6 := g.r.IntN(3) == 0
	f := Flow{Src: g.addr(v6, true), Dst: g.addr(v6, false), Proto: []uint8{ProtoTCP, ProtoUDP, ProtoICMP, 50}[g.r.IntN(4)]}
	if f.Src.Is4() != f.Dst.Is4() { // one of them IPv4-mapped: make both so
		f.Src = netip.AddrFrom16(f.Src.As16())
		f.Dst = netip.AddrFrom16(f.Dst.As16())
	}
	if g.r.IntN(10) == 0 { // outside all ranges but those of a whole family
		if n := byte(g.r.IntN(256)); f.Dst.Is4() {
			f.Dst = netip.AddrFrom4([4]byte{192, 0, 2, n})
		} else {
			f.Dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 15: n})
		}
	}
	if f.Proto != 50 && g.r.IntN(8) != 0 {
		f.HasPorts = true
		f.SrcPort, f.DstPort = uint16(g.r.IntN(4))*100, uint16(g.r.IntN(600))
	}
	return f
}

// diffCheck compares the DB's index with the reference for a flow.
func diffCheck(t testing.TB, db *DB, ref *refIndex, f Flow) {
	t.Helper()
	got := ""
	if p := db.pols.lookup(&f); p != nil {
		got = p.tunnel
	}
	if want := ref.lookup(&f); got != want {
		t.Fatalf("%v:%d -> %v:%d proto %d ports %v: index says %q, reference %q",
			f.Src, f.SrcPort, f.Dst, f.DstPort, f.Proto, f.HasPorts, got, want)
	}
}

// checkIndexState checks the index's bookkeeping against the reference: the tunnels, the
// Child SA lists, and that exactly the prefix lengths in use are published.
func checkIndexState(t testing.TB, db *DB, ref *refIndex) {
	t.Helper()
	x := &db.pols
	s := x.snap.Load()
	checkSealed(t, &s.prefixes.root)
	checkSealed(t, &s.tunnels.root)
	if s.tunnels.len() != len(ref.pols) {
		t.Fatalf("%d tunnels indexed, want %d", s.tunnels.len(), len(ref.pols))
	}
	children := map[uint64]int{}
	for name, rp := range ref.pols {
		p := x.tunnel(name)
		if p == nil || p.seq == 0 || p.outChild.Load() != rp.cfg.OutChild || p.tunnel != name ||
			!slices.Equal(p.Config().LocalTS, rp.cfg.LocalTS) || !slices.Equal(p.Config().RemoteTS, rp.cfg.RemoteTS) {
			t.Fatalf("tunnel %q: indexed %+v, want %+v", name, p, rp.cfg)
		}
		if rp.cfg.OutChild != 0 {
			children[rp.cfg.OutChild]++
		}
	}
	if len(x.byChild) != len(children) {
		t.Fatalf("%d Child SAs indexed, want %d", len(x.byChild), len(children))
	}
	for id, ps := range x.byChild {
		if len(ps) != children[id] {
			t.Fatalf("child %d: %d policies, want %d", id, len(ps), children[id])
		}
		for i, p := range ps {
			if p.outChild.Load() != id || x.tunnel(p.tunnel) != p || i > 0 && ps[i-1].seq >= p.seq {
				t.Fatalf("child %d: list %d wrong", id, i)
			}
		}
	}
	var used [2][129]bool
	s.prefixes.each(func(k pfxKey, b bucket) {
		ps := b.list()
		if len(ps) == 0 {
			t.Fatalf("empty bucket %+v kept", k)
		}
		for i, p := range ps {
			if x.tunnel(p.tunnel) != p || i > 0 && ps[i-1].seq >= p.seq {
				t.Fatalf("bucket %+v: entry %d stale or out of order", k, i)
			}
		}
		fam := 0
		if k.v6 {
			fam = 1
		}
		used[fam][k.bits] = true
	})
	for fam, l := range [][]uint8{s.v4Lens, s.v6Lens} {
		var want []uint8
		for bits := 128; bits >= 0; bits-- {
			if used[fam][bits] {
				want = append(want, uint8(bits))
			}
		}
		if fmt.Sprint(l) != fmt.Sprint(want) {
			t.Fatalf("family %d: published lengths %v, in use %v", fam, l, want)
		}
	}
}

// TestPolicyIndexDifferential: thousands of random, heavily overlapping policies (IPv4 and
// IPv6, protocols, ports, several selectors each) are added, replaced and deleted; after
// every few changes random flows are looked up in the index and in the linear reference, and
// the index's bookkeeping is checked. At the end every policy is deleted and the index must be
// empty.
func TestPolicyIndexDifferential(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			g := polGen{rand.New(rand.NewPCG(seed, 0x5ad))}
			db := newDB(t, nil)
			ref := newRef()
			const names, ops = 1200, 5000
			for op := range ops {
				name := fmt.Sprintf("t%d", g.r.IntN(names))
				if _, ok := ref.pols[name]; ok && g.r.IntN(4) == 0 {
					if err := db.DeletePolicy(name); err != nil {
						t.Fatal(err)
					}
					delete(ref.pols, name)
				} else {
					p := g.policy(name)
					if err := db.SetPolicy(p); err != nil {
						t.Fatal(err)
					}
					ref.set(p)
				}
				if op%250 == 0 {
					checkIndexState(t, db, ref)
					for range 100 {
						diffCheck(t, db, ref, g.flow())
					}
				}
			}
			checkIndexState(t, db, ref)
			for range 3000 {
				diffCheck(t, db, ref, g.flow())
			}
			for name := range ref.pols {
				if err := db.DeletePolicy(name); err != nil {
					t.Fatal(err)
				}
				delete(ref.pols, name)
			}
			checkIndexState(t, db, ref)
			if n := db.pols.snap.Load().prefixes.len(); n != 0 {
				t.Fatalf("%d prefixes left in an empty index", n)
			}
		})
	}
}

// TestPolicyIndexPrecedence spells out the precedence rules the differential test checks.
func TestPolicyIndexPrecedence(t *testing.T) {
	db := newDB(t, nil)
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	set := func(name string, remote ...dataplane.Selector) {
		t.Helper()
		if err := db.SetPolicy(dataplane.Policy{Tunnel: name, LocalTS: local, RemoteTS: remote}); err != nil {
			t.Fatal(err)
		}
	}
	route := func(dst string, proto uint8, port uint16) string {
		f := Flow{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.MustParseAddr(dst), Proto: proto, DstPort: port, HasPorts: true}
		if p := db.pols.lookup(&f); p != nil {
			return p.tunnel
		}
		return ""
	}
	tcp80 := rng("10.2.0.7", "10.2.0.7")
	tcp80.Proto, tcp80.StartPort, tcp80.EndPort = ProtoTCP, 80, 80
	set("first", rng("10.2.0.0", "10.2.0.255"))
	set("second", rng("10.2.0.0", "10.2.0.255"))
	// 10.2.0.1-10.2.0.200 is 10.2.0.1/32, .2/31, .4/30, .8/29, .16/28, .32/27, .64/26, .128/26, .192/29, .200/32.
	set("range", rng("10.2.0.1", "10.2.0.200"))
	// Its TCP/80 selector lends its /32 to the whole policy.
	set("lender", tcp80, rng("10.2.0.0", "10.2.0.127"))
	for _, tc := range []struct {
		dst   string
		proto uint8
		port  uint16
		want  string
	}{
		{"10.2.0.100", ProtoUDP, 1, "range"},  // /26 beats /25 and /24
		{"10.2.0.210", ProtoUDP, 1, "first"},  // /24: installed first wins
		{"10.2.0.7", ProtoUDP, 53, "lender"},  // /32 lent by the TCP selector
		{"10.2.0.6", ProtoUDP, 53, "range"},   // lender's /25 loses to range's /30
		{"10.2.0.128", ProtoUDP, 53, "range"}, // range's /26 (10.2.0.128-191)
	} {
		if got := route(tc.dst, tc.proto, tc.port); got != tc.want {
			t.Errorf("%s proto %d port %d: %q, want %q", tc.dst, tc.proto, tc.port, got, tc.want)
		}
	}
	// Replacing keeps the place: "first" still beats "second" after being set again.
	set("first", rng("10.2.0.0", "10.2.0.255"))
	if got := route("10.2.0.210", ProtoUDP, 1); got != "first" {
		t.Errorf("after replacing first: %q", got)
	}
	if err := db.DeletePolicy("first"); err != nil {
		t.Fatal(err)
	}
	if got := route("10.2.0.210", ProtoUDP, 1); got != "second" {
		t.Errorf("after deleting first: %q", got)
	}
	if err := db.DeletePolicy("first"); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

// FuzzPolicyIndex runs a program of SetPolicy, SetPolicies (batches of up to three policies,
// which may name a tunnel twice), DeletePolicy, DeletePolicies and lookups decoded from the
// input against the index and the reference. Addresses come from 10.0.0.0/24 (IPv4) and
// 2001:db8::/120 (IPv6), eight tunnel names, so that programs overlap and replace a lot.
func FuzzPolicyIndex(f *testing.F) {
	f.Add([]byte{0, 1, 0, 10, 20, 0, 0, 0, 5, 3, 0, 0, 0, 15, 0, 0})
	f.Add([]byte{0, 1, 0, 10, 20, 0, 1, 0, 5, 3, 0, 1, 1, 15, 0, 0, 2, 1, 3, 0, 12, 0, 0})
	f.Add([]byte{0, 2, 1, 0, 255, 0, 2, 1, 0, 200, 3, 1, 0, 0, 0, 100, 1, 2, 3, 1, 1, 0, 100})
	f.Fuzz(func(t *testing.T, prog []byte) {
		in := fuzzInput{b: prog}
		db, err := New(Config{Provider: fakeProvider{}})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ref := newRef()
		for len(in.b) > 0 {
			name := fmt.Sprint("t", in.next()%8)
			policy := func(name string) dataplane.Policy {
				p := dataplane.Policy{Tunnel: name, LocalTS: []dataplane.Selector{in.selector()}}
				for range 1 + in.next()%3 {
					p.RemoteTS = append(p.RemoteTS, in.selector())
				}
				return p
			}
			switch op := in.next() % 6; op {
			case 0:
				p := policy(name)
				if err := db.SetPolicy(p); err != nil {
					t.Fatal(err)
				}
				ref.set(p)
			case 1:
				ps := []dataplane.Policy{policy(name)}
				for range in.next() % 3 {
					ps = append(ps, policy(fmt.Sprint("t", in.next()%8)))
				}
				if err := db.SetPolicies(ps); err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					ref.set(p)
				}
			case 2, 4:
				names := []string{name}
				if op == 4 {
					names = append(names, fmt.Sprint("t", in.next()%8))
				}
				_, ok := ref.pols[name]
				var err error
				if op == 2 {
					err = db.DeletePolicy(name)
				} else {
					_, ok2 := ref.pols[names[1]]
					ok = ok && ok2 && names[1] != name
					err = db.DeletePolicies(names)
				}
				if ok != (err == nil) {
					t.Fatalf("deleting %q: %v, reference has them: %v", names, err, ok)
				}
				if ok {
					for _, n := range names {
						delete(ref.pols, n)
					}
				}
			case 3, 5:
				fl := Flow{Proto: []uint8{ProtoTCP, ProtoUDP, ProtoICMP}[in.next()%3], HasPorts: in.next()%2 == 0}
				v6 := in.next()%2 == 1
				fl.Src, fl.Dst = in.addr(v6), in.addr(v6)
				fl.SrcPort, fl.DstPort = uint16(in.next()), uint16(in.next())
				diffCheck(t, db, ref, fl)
			}
		}
		checkIndexState(t, db, ref)
		for v6 := range 2 {
			for a := 0; a < 256; a += 5 {
				fl := Flow{Src: in.addrN(v6 == 1, 0), Dst: in.addrN(v6 == 1, byte(a)), Proto: ProtoUDP, HasPorts: true, DstPort: 53}
				diffCheck(t, db, ref, fl)
			}
		}
	})
}

// fuzzInput decodes a fuzz program; past its end it reads zeros.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) next() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) addrN(v6 bool, n byte) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: n})
	}
	return netip.AddrFrom4([4]byte{10, 0, 0, n})
}

func (in *fuzzInput) addr(v6 bool) netip.Addr { return in.addrN(v6, in.next()) }

// selector reads: flags (bit 0 IPv6, bits 1-2 protocol, bits 3-4 ports), start, length.
func (in *fuzzInput) selector() dataplane.Selector {
	fl := in.next()
	v6 := fl&1 == 1
	start := in.next()
	end := start + min(in.next(), 255-start)
	s := dataplane.Selector{StartAddr: in.addrN(v6, start), EndAddr: in.addrN(v6, end), EndPort: 0xffff}
	s.Proto = []uint8{0, 0, ProtoTCP, ProtoUDP}[fl>>1&3]
	switch fl >> 3 & 3 {
	case 1:
		s.StartPort, s.EndPort = 53, 53
	case 2:
		s.StartPort, s.EndPort = 0, 100
	}
	return s
}

// TestRouteDoesNotAllocate: classifying and looking up a packet allocates nothing, IPv4 or
// IPv6, whether the policy is found on the first prefix or after falling back.
func TestRouteDoesNotAllocate(t *testing.T) {
	db := newDB(t, nil)
	if err := db.AddSA(outTo(1, 0x1000, peerA, "a")); err != nil {
		t.Fatal(err)
	}
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255"), rng("2001:db8:1::", "2001:db8:1::ffff")}
	dns := rng("10.2.0.0", "10.2.0.255")
	dns.Proto, dns.StartPort, dns.EndPort = ProtoUDP, 53, 53
	for _, p := range []dataplane.Policy{
		{Tunnel: "a", LocalTS: local, RemoteTS: []dataplane.Selector{rng("10.0.0.0", "10.255.255.255"), rng("2001:db8:2::", "2001:db8:2::ffff")}, OutChild: 1},
		{Tunnel: "dns", LocalTS: local, RemoteTS: []dataplane.Selector{dns}},
	} {
		if err := db.SetPolicy(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, pkt := range [][]byte{udp("10.1.0.1", "10.2.0.1", 1, 2), udp("2001:db8:1::1", "2001:db8:2::1", 1, 2)} {
		var tl Tally
		n := testing.AllocsPerRun(100, func() {
			if sa, d := db.Route(pkt, 1, &tl); sa == nil || d != DropNone {
				t.Fatalf("route: %v", d)
			}
		})
		if n != 0 {
			t.Errorf("%d allocations per Route", int(n))
		}
	}
}

// TestPolicyReplaceNeverMissing: while tunnel "a" is replaced over and over with selectors
// that file it under other prefixes, and other tunnels come and go, readers find "a" for every
// packet to its range: a change is seen whole or not at all. (An index changed key by key
// fails this: a reader probes the new, longer prefix before it is filed and the old, shorter
// one after it is gone.) Run with -race to check the publication as well.
func TestPolicyReplaceNeverMissing(t *testing.T) {
	db := newDB(t, nil)
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	shapes := [][]dataplane.Selector{
		{rng("10.2.0.0", "10.2.0.255")},
		{rng("10.2.0.0", "10.2.0.127"), rng("10.2.0.128", "10.2.0.255")},
		{rng("10.2.0.1", "10.2.0.254"), rng("10.2.0.0", "10.2.0.0"), rng("10.2.0.255", "10.2.0.255")},
		{rng("10.0.0.0", "10.255.255.255")},
	}
	setA := func(i int) {
		if err := db.SetPolicy(dataplane.Policy{Tunnel: "a", LocalTS: local, RemoteTS: shapes[i%len(shapes)]}); err != nil {
			t.Error(err)
		}
	}
	setA(0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	missed := make(chan string, 2)
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				f := Flow{Src: netip.MustParseAddr("10.1.0.1"), Dst: netip.AddrFrom4([4]byte{10, 2, 0, byte(i*7 + w)}), Proto: ProtoUDP}
				if p := db.pols.lookup(&f); p == nil || p.tunnel != "a" {
					missed <- fmt.Sprintf("%v: %v", f.Dst, p)
					return
				}
			}
		})
	}
	for i := range 2000 {
		setA(i)
		if err := db.SetPolicy(benchPolicy(1000+i, 0)); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := db.DeletePolicy(fmt.Sprintf("t%d", 1000+i/2)); err != nil && !errors.Is(err, dataplane.ErrNotFound) {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(missed)
	for m := range missed {
		t.Fatalf("a packet to tunnel a's range found %s", m)
	}
}

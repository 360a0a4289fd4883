package sad

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// fakeCrypto "seals" by prepending SPI|seq|8-byte IV and appending nothing; Open checks a
// one-byte tag (0xAA) at the end.
type fakeCrypto struct {
	spi uint32
	seq uint32
}

var errFakeAuth = errors.New("fake auth")

func (f *fakeCrypto) Overhead() int  { return 17 }
func (f *fakeCrypto) HeaderLen() int { return 16 }
func (f *fakeCrypto) Seal(dst, inner []byte, nh uint8) ([]byte, error) {
	f.seq++
	var h [16]byte
	binary.BigEndian.PutUint32(h[0:], f.spi)
	binary.BigEndian.PutUint32(h[4:], f.seq)
	n := len(inner)
	out := append(dst, h[:]...)
	out = append(out, inner[:n]...)
	return append(out, nh), nil
}
func (f *fakeCrypto) Open(dst, pkt []byte) ([]byte, uint8, error) {
	if len(pkt) < 17 {
		return nil, 0, errFakeAuth
	}
	nh := pkt[len(pkt)-1]
	return append(dst, pkt[16:len(pkt)-1]...), nh, nil
}

type fakeProvider struct{}

func (fakeProvider) New(c dataplane.SAConfig) (Crypto, error) { return &fakeCrypto{spi: c.SPI}, nil }
func (fakeProvider) Classify(err error) Drop {
	if errors.Is(err, errFakeAuth) {
		return DropAuth
	}
	return DropMalformed
}

func newDB(t *testing.T, flush func(*OutSA, [][]byte)) *DB {
	t.Helper()
	db, err := New(Config{Provider: fakeProvider{}, Flush: flush})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func rng(a, b string) dataplane.Selector {
	return dataplane.Selector{StartAddr: netip.MustParseAddr(a), EndAddr: netip.MustParseAddr(b), EndPort: 0xffff}
}

func lastOf(p netip.Prefix) netip.Addr {
	u := addrU128(p.Masked().Addr())
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	host := 128 - bits
	return u.add(pow2(host).sub1()).addr(p.Addr().Is4())
}

func udp(src, dst string, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	if s.Is4() {
		p := make([]byte, 28)
		p[0] = 0x45
		binary.BigEndian.PutUint16(p[2:], 28)
		p[9] = ProtoUDP
		a, b := s.As4(), d.As4()
		copy(p[12:], a[:])
		copy(p[16:], b[:])
		binary.BigEndian.PutUint16(p[20:], sport)
		binary.BigEndian.PutUint16(p[22:], dport)
		return p
	}
	p := make([]byte, 48)
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], 8)
	p[6] = ProtoUDP
	a, b := s.As16(), d.As16()
	copy(p[8:], a[:])
	copy(p[24:], b[:])
	binary.BigEndian.PutUint16(p[40:], sport)
	binary.BigEndian.PutUint16(p[42:], dport)
	return p
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		a, b string
		want []string
	}{
		{"10.0.0.0", "10.0.0.255", []string{"10.0.0.0/24"}},
		{"10.0.0.1", "10.0.0.1", []string{"10.0.0.1/32"}},
		{"10.0.0.1", "10.0.0.6", []string{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}},
		{"0.0.0.0", "255.255.255.255", []string{"0.0.0.0/0"}},
		{"255.255.255.254", "255.255.255.255", []string{"255.255.255.254/31"}},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"::/0"}},
		{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", []string{"2001:db8::/64"}},
		{"2001:db8::1", "2001:db8::2", []string{"2001:db8::1/128", "2001:db8::2/128"}},
	}
	for _, tc := range tests {
		got := RangePrefixes(netip.MustParseAddr(tc.a), netip.MustParseAddr(tc.b))
		if len(got) != len(tc.want) {
			t.Errorf("%s-%s: got %v want %v", tc.a, tc.b, got, tc.want)
			continue
		}
		for i := range got {
			if got[i].String() != tc.want[i] {
				t.Errorf("%s-%s: got %v want %v", tc.a, tc.b, got, tc.want)
			}
		}
	}
}

func TestPolicyLookup(t *testing.T) {
	db := newDB(t, nil)
	local := []dataplane.Selector{rng("10.1.0.0", "10.1.255.255"), rng("2001:db8:1::", "2001:db8:1::ffff")}
	add := func(name string, remote ...dataplane.Selector) {
		if err := db.SetPolicy(dataplane.Policy{Tunnel: name, LocalTS: local, RemoteTS: remote, OutChild: 0}); err != nil {
			t.Fatal(err)
		}
	}
	add("wide", rng("10.0.0.0", "10.255.255.255"))
	add("narrow", rng("10.2.0.0", "10.2.0.255"))
	add("range", rng("10.3.0.5", "10.3.0.9"))
	https := rng("10.4.0.0", "10.4.0.255")
	https.Proto, https.StartPort, https.EndPort = ProtoUDP, 443, 443
	add("port", https)
	add("v6", rng("2001:db8:2::", "2001:db8:2::ffff"))
	tests := []struct {
		pkt  []byte
		want string
	}{
		{udp("10.1.0.1", "10.2.0.7", 1, 2), "narrow"},
		{udp("10.1.0.1", "10.2.1.7", 1, 2), "wide"},
		{udp("10.1.0.1", "10.3.0.5", 1, 2), "range"},
		{udp("10.1.0.1", "10.3.0.10", 1, 2), "wide"},
		{udp("10.1.0.1", "10.4.0.1", 1, 443), "port"},
		{udp("10.1.0.1", "10.4.0.1", 1, 444), "wide"}, // falls back to a shorter prefix
		{udp("10.9.0.1", "10.2.0.7", 1, 2), ""},       // source outside LocalTS
		{udp("192.0.2.1", "192.0.2.2", 1, 2), ""},
		{udp("2001:db8:1::1", "2001:db8:2::1", 1, 2), "v6"},
		{udp("2001:db8:1::1", "2001:db8:3::1", 1, 2), ""},
	}
	for i, tc := range tests {
		f, err := ParseFlow(tc.pkt)
		if err != nil {
			t.Fatal(err)
		}
		p := db.pols.lookup(&f)
		got := ""
		if p != nil {
			got = p.tunnel
		}
		if got != tc.want {
			t.Errorf("%d: %v->%v: got %q want %q", i, f.Src, f.Dst, got, tc.want)
		}
	}
}

func TestSetPolicyRejectsBadSelectors(t *testing.T) {
	db := newDB(t, nil)
	bad := []dataplane.Selector{
		{StartAddr: netip.MustParseAddr("10.0.0.2"), EndAddr: netip.MustParseAddr("10.0.0.1"), EndPort: 1},
		{StartAddr: netip.MustParseAddr("10.0.0.2"), EndAddr: netip.MustParseAddr("::1"), EndPort: 1},
		{StartAddr: netip.MustParseAddr("10.0.0.1"), EndAddr: netip.MustParseAddr("10.0.0.2"), StartPort: 5, EndPort: 1},
		{},
	}
	for _, s := range bad {
		if err := db.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{s}, RemoteTS: []dataplane.Selector{s}}); err == nil {
			t.Errorf("selector %+v accepted", s)
		}
	}
	if err := db.DeletePolicy("nope"); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("DeletePolicy: %v", err)
	}
	if err := db.DeleteSA(dataplane.InSA(0x1234)); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("DeleteSA: %v", err)
	}
}

// outSA is an outbound SA of Child SA spi>>12 (0x1000 -> 1).
func outSA(spi uint32, soft, hard uint64) dataplane.SAConfig {
	return dataplane.SAConfig{SPI: spi, Dir: dataplane.Out, Tunnel: "t", ChildID: uint64(spi >> 12), Encap: dataplane.EncapUDP,
		SoftPackets: soft, HardPackets: hard}
}

func TestLifetimes(t *testing.T) {
	db := newDB(t, nil)
	c := outSA(0x1000, 2, 4)
	c.SoftBytes, c.HardBytes = 0, 0
	if err := db.AddSA(c); err != nil {
		t.Fatal(err)
	}
	sa := db.OutSA(1)
	var tl Tally
	pkt := udp("10.1.0.1", "10.2.0.1", 1, 2)
	for i := range 4 {
		if _, d := sa.Seal(nil, pkt, int64(i+1), &tl); d != DropNone {
			t.Fatalf("packet %d: %v", i, d)
		}
	}
	if _, d := sa.Seal(nil, pkt, 9, &tl); d != DropExpired {
		t.Fatalf("5th packet: %v", d)
	}
	st := sa.Stats()
	if st.Packets != 4 || st.Bytes != 4*28 || st.LastUsed.UnixNano() != 4 {
		t.Fatalf("stats %+v", st)
	}
	if tl[CExpired] != 1 || tl[CPacketsOut] != 4 {
		t.Fatalf("tally %v", tl)
	}
	want := []dataplane.EventKind{dataplane.EventSoftExpire, dataplane.EventHardExpire}
	for _, k := range want {
		if ev := <-db.Events(); ev.Kind != k || ev.SPI != 0x1000 {
			t.Fatalf("event %+v, want %v", ev, k)
		}
	}

	// Byte limits.
	b := outSA(0x2000, 0, 0)
	b.SoftBytes, b.HardBytes = 50, 60
	if err := db.AddSA(b); err != nil {
		t.Fatal(err)
	}
	sb := db.OutSA(2)
	for i, want := range []Drop{DropNone, DropNone, DropNone, DropExpired} { // 0,28,56 < 60
		if _, d := sb.Seal(nil, pkt, 1, &tl); d != want {
			t.Fatalf("packet %d: %v want %v", i, d, want)
		}
	}
}

func TestHoldQueueDropOldest(t *testing.T) {
	var flushed [][]byte
	db := newDB(t, func(sa *OutSA, p [][]byte) { flushed = append(flushed, p...) })
	err := db.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")},
		RemoteTS: []dataplane.Selector{rng("10.2.0.0", "10.2.0.255")}, OutChild: 1})
	if err != nil {
		t.Fatal(err)
	}
	var tl Tally
	for i := range DefaultQueueLen + 10 {
		p := udp("10.1.0.1", "10.2.0.1", uint16(i), 2)
		if _, d := db.Route(p, 1, &tl); d != DropHeld {
			t.Fatalf("drop %v", d)
		}
	}
	if tl[CHeld] != DefaultQueueLen+10 || tl[CQueueDrops] != 10 {
		t.Fatalf("tally %v", tl)
	}
	// No Trap: no acquire event.
	select {
	case ev := <-db.Events():
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
	if err := db.AddSA(outSA(0x1000, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if len(flushed) != DefaultQueueLen {
		t.Fatalf("flushed %d", len(flushed))
	}
	for i, p := range flushed {
		if sp := binary.BigEndian.Uint16(p[20:]); int(sp) != i+10 {
			t.Fatalf("flushed[%d] has port %d", i, sp)
		}
	}
	if sa, d := db.Route(udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropNone || sa != db.OutSA(1) {
		t.Fatalf("route after SA: %v %v", sa, d)
	}
	// Deleting the SA makes the policy hold again.
	if err := db.DeleteSA(dataplane.OutSA(1, 0x1000)); err != nil {
		t.Fatal(err)
	}
	if _, d := db.Route(udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropHeld {
		t.Fatalf("after delete: %v", d)
	}
}

func TestAcquireRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := newDB(t, nil)
		for _, n := range []string{"a", "b"} {
			remote := rng("10.2.0.0", "10.2.0.255")
			if n == "b" {
				remote = rng("10.3.0.0", "10.3.0.255")
			}
			if err := db.SetPolicy(dataplane.Policy{Tunnel: n, Trap: true,
				LocalTS: []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}, RemoteTS: []dataplane.Selector{remote}}); err != nil {
				t.Fatal(err)
			}
		}
		var tl Tally
		send := func(dst string) { db.Route(udp("10.1.0.1", dst, 1, 2), time.Now().UnixNano(), &tl) }
		for range 20 {
			send("10.2.0.1")
			send("10.3.0.1")
		}
		time.Sleep(1500 * time.Millisecond)
		send("10.2.0.1")
		synctest.Wait()
		var got []dataplane.Event
		for len(db.Events()) > 0 {
			got = append(got, <-db.Events())
		}
		if len(got) != 3 || got[0].Tunnel != "a" || got[1].Tunnel != "b" || got[2].Tunnel != "a" || got[2].Suppressed != 19 {
			t.Fatalf("events %+v", got)
		}
	})
}

func TestUnknownSPILimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newSPILimiter(UnknownSPILimits{TableSize: 8})
		src := netip.MustParseAddr("192.0.2.1")
		now := func() int64 { return time.Now().UnixNano() }
		// Per SPI: 1 per second; suppressed ones are reported with the next event.
		if ok, _ := l.allow(1, src, now()); !ok {
			t.Fatal("first event refused")
		}
		for range 5 {
			if ok, _ := l.allow(1, src, now()); ok {
				t.Fatal("second event within 1s allowed")
			}
		}
		time.Sleep(time.Second)
		if ok, sup := l.allow(1, src, now()); !ok || sup != 5 {
			t.Fatalf("after 1s: %v %d", ok, sup)
		}
		// Per source: 10 per second, whatever the SPIs.
		time.Sleep(10 * time.Second)
		src2 := netip.MustParseAddr("192.0.2.2")
		n := 0
		for spi := range uint32(100) {
			if ok, _ := l.allow(1000+spi, src2, now()); ok {
				n++
			}
		}
		if n != 10 {
			t.Fatalf("%d events from one source, want 10", n)
		}
		// Table bounded.
		if len(l.spi.ent) != 8 || len(l.spi.idx) != 8 {
			t.Fatalf("table size %d/%d", len(l.spi.ent), len(l.spi.idx))
		}
		// Overall limit: 100/s across sources.
		time.Sleep(10 * time.Second)
		n = 0
		for i := range 1000 {
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			if ok, _ := l.allow(uint32(5000+i), a, now()); ok {
				n++
			}
		}
		if n != 100 {
			t.Fatalf("%d events overall, want 100", n)
		}
	})
}

func TestOpenInboundChecks(t *testing.T) {
	db := newDB(t, nil)
	in := dataplane.SAConfig{SPI: 0x3000, Dir: dataplane.In, Tunnel: "t", Encap: dataplane.EncapUDP}
	if err := db.AddSA(in); err != nil {
		t.Fatal(err)
	}
	seal := func(inner []byte) []byte {
		f := &fakeCrypto{spi: 0x3000}
		p, _ := f.Seal(nil, inner, 4)
		return p
	}
	src, dst := netip.MustParseAddrPort("192.0.2.2:4500"), netip.MustParseAddrPort("192.0.2.1:4500")
	var tl Tally
	// No policy for the tunnel yet: mismatch.
	if _, _, d := db.Open(seal(udp("10.2.0.1", "10.1.0.1", 1, 2)), src, dst, 1, &tl); d != DropPolicyMismatch {
		t.Fatalf("no policy: %v", d)
	}
	if err := db.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")},
		RemoteTS: []dataplane.Selector{rng("10.2.0.0", "10.2.0.255")}}); err != nil {
		t.Fatal(err)
	}
	inner, sa, d := db.Open(seal(udp("10.2.0.1", "10.1.0.1", 1, 2)), src, dst, 1, &tl)
	if d != DropNone || sa == nil || len(inner) != 28 {
		t.Fatalf("open: %v %d", d, len(inner))
	}
	if _, _, d := db.Open(seal(udp("10.9.0.1", "10.1.0.1", 1, 2)), src, dst, 1, &tl); d != DropPolicyMismatch {
		t.Fatalf("spoofed source: %v", d)
	}
	if _, _, d := db.Open([]byte{0, 0, 0x30, 0, 0, 0, 0, 1, 9}, src, dst, 1, &tl); d != DropMalformed && d != DropAuth {
		t.Fatalf("short: %v", d)
	}
	if _, _, d := db.Open(seal(udp("10.2.0.1", "10.1.0.1", 1, 2))[:5], src, dst, 1, &tl); d != DropMalformed {
		t.Fatalf("truncated: %v", d)
	}
	if tl[CPacketsIn] != 1 || tl[CPolicyMismatch] != 2 {
		t.Fatalf("tally %v", tl)
	}
}

func TestParseFlow(t *testing.T) {
	f, err := ParseFlow(udp("10.0.0.1", "10.0.0.2", 1000, 53))
	if err != nil || f.Proto != ProtoUDP || f.SrcPort != 1000 || f.DstPort != 53 || !f.HasPorts {
		t.Fatalf("%+v %v", f, err)
	}
	// IPv6 with a hop-by-hop header.
	p := udp("2001:db8::1", "2001:db8::2", 7, 8)
	ext := append(append([]byte{}, p[:40]...), ProtoUDP, 0, 0, 0, 0, 0, 0, 0)
	ext = append(ext, p[40:]...)
	ext[6] = 0
	binary.BigEndian.PutUint16(ext[4:], 16)
	f, err = ParseFlow(ext)
	if err != nil || f.Proto != ProtoUDP || f.DstPort != 8 {
		t.Fatalf("%+v %v", f, err)
	}
	// Non-first IPv4 fragment: no ports.
	frag := udp("10.0.0.1", "10.0.0.2", 1, 2)
	frag[7] = 10
	if f, err = ParseFlow(frag); err != nil || f.HasPorts {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range [][]byte{nil, {0x45}, {0x70, 0, 0, 0}, udp("10.0.0.1", "10.0.0.2", 1, 2)[:27]} {
		if _, err := ParseFlow(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func FuzzParseFlow(f *testing.F) {
	f.Add(udp("10.0.0.1", "10.0.0.2", 1000, 53))
	f.Add(udp("2001:db8::1", "2001:db8::2", 7, 8))
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 44, 64})
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := ParseFlow(b)
		if err == nil && !fl.Src.IsValid() {
			t.Fatal("valid parse without addresses")
		}
	})
}

func FuzzRangePrefixes(f *testing.F) {
	f.Add([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 6})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) != 4 || len(b) != 4 {
			return
		}
		x, y := netip.AddrFrom4([4]byte(a)), netip.AddrFrom4([4]byte(b))
		if y.Less(x) {
			x, y = y, x
		}
		ps := RangePrefixes(x, y)
		if len(ps) == 0 || len(ps) > 62 || ps[0].Addr() != x || lastOf(ps[len(ps)-1]) != y {
			t.Fatalf("%v-%v: %v", x, y, ps)
		}
		for i := 1; i < len(ps); i++ {
			if lastOf(ps[i-1]).Next() != ps[i].Addr() {
				t.Fatalf("gap: %v", ps)
			}
		}
	})
}

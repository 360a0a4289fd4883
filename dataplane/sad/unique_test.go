package sad

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

var (
	peerA = netip.MustParseAddrPort("192.0.2.10:4500")
	peerB = netip.MustParseAddrPort("192.0.2.20:4500")
	local = netip.MustParseAddrPort("192.0.2.1:4500")
)

func outTo(child uint64, spi uint32, remote netip.AddrPort, tunnel string) dataplane.SAConfig {
	return dataplane.SAConfig{SPI: spi, Dir: dataplane.Out, Tunnel: tunnel, ChildID: child,
		Local: local, Remote: remote, Encap: dataplane.EncapUDP}
}

func inFrom(child uint64, spi uint32, remote netip.AddrPort, tunnel string) dataplane.SAConfig {
	return dataplane.SAConfig{SPI: spi, Dir: dataplane.In, Tunnel: tunnel, ChildID: child,
		Local: local, Remote: remote, Encap: dataplane.EncapUDP}
}

// twoTunnels installs tunnel "a" (child 1, to peerA, 10.2.0.0/24) and "b" (child 2, to peerB,
// 10.3.0.0/24) whose outbound SPIs are both spi.
func twoTunnels(t *testing.T, db *DB, spi uint32) {
	t.Helper()
	for _, c := range []dataplane.SAConfig{
		outTo(1, spi, peerA, "a"), inFrom(1, 0x1001, peerA, "a"),
		outTo(2, spi, peerB, "b"), inFrom(2, 0x2001, peerB, "b"),
	} {
		if err := db.AddSA(c); err != nil {
			t.Fatalf("AddSA %v child %d: %v", c.Dir, c.ChildID, err)
		}
	}
	lts := []dataplane.Selector{rng("10.1.0.0", "10.1.0.255")}
	for _, p := range []dataplane.Policy{
		{Tunnel: "a", LocalTS: lts, RemoteTS: []dataplane.Selector{rng("10.2.0.0", "10.2.0.255")}, OutChild: 1},
		{Tunnel: "b", LocalTS: lts, RemoteTS: []dataplane.Selector{rng("10.3.0.0", "10.3.0.255")}, OutChild: 2},
	} {
		if err := db.SetPolicy(p); err != nil {
			t.Fatal(err)
		}
	}
}

// routeTo routes a packet to dst and returns the SA that seals it (nil if none).
func routeTo(db *DB, dst string) *OutSA {
	var tl Tally
	sa, _ := db.Route(udp("10.1.0.1", dst, 1, 2), 1, &tl)
	return sa
}

func TestDuplicateInboundSPIRefused(t *testing.T) {
	db := newDB(t, nil)
	if err := db.AddSA(inFrom(1, 0x3000, peerA, "a")); err != nil {
		t.Fatal(err)
	}
	first := db.InSA(0x3000)
	err := db.AddSA(inFrom(2, 0x3000, peerB, "b"))
	if !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("duplicate inbound SPI: %v, want ErrExists", err)
	}
	if db.InSA(0x3000) != first || first.Config().Tunnel != "a" {
		t.Fatal("the installed inbound SA changed")
	}
	// A second inbound SA for the same Child SA is refused too.
	if err := db.AddSA(inFrom(1, 0x3001, peerA, "a")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("second inbound SA of child 1: %v", err)
	}
	if db.InSA(0x3001) != nil {
		t.Fatal("refused SA installed")
	}
}

func TestDuplicateOutboundRefused(t *testing.T) {
	db := newDB(t, nil)
	if err := db.AddSA(outTo(1, 0x4000, peerA, "a")); err != nil {
		t.Fatal(err)
	}
	sa := db.OutSA(1)
	// Same (peer, SPI) under another Child SA: the peer could not tell them apart.
	if err := db.AddSA(outTo(2, 0x4000, peerA, "b")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("same peer and SPI: %v, want ErrExists", err)
	}
	// Same address, other port (raw vs UDP, or a NAT rebinding): still the same host.
	other := netip.AddrPortFrom(peerA.Addr(), 0)
	c := outTo(3, 0x4000, other, "c")
	c.Encap = dataplane.EncapRaw
	if err := db.AddSA(c); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("same address, other port: %v, want ErrExists", err)
	}
	// A second outbound SA of the same Child SA, whatever its SPI.
	if err := db.AddSA(outTo(1, 0x4001, peerB, "a")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("second outbound SA of child 1: %v, want ErrExists", err)
	}
	if db.OutSA(1) != sa || db.OutSA(2) != nil || db.OutSA(3) != nil {
		t.Fatal("the SA table changed")
	}
	if err := db.AddSA(outTo(0, 0x4002, peerB, "x")); err == nil {
		t.Fatal("outbound SA without Child SA id accepted")
	}
}

func TestSameOutboundSPITwoPeers(t *testing.T) {
	db := newDB(t, nil)
	const spi = 0x5000
	twoTunnels(t, db, spi)
	a, b := db.OutSA(1), db.OutSA(2)
	if a == nil || b == nil || a == b {
		t.Fatalf("SAs %p %p", a, b)
	}
	if a.Remote() != peerA || b.Remote() != peerB {
		t.Fatalf("remotes %v %v", a.Remote(), b.Remote())
	}
	// Each policy seals with its own SA (its own keys: distinct Crypto objects).
	if got := routeTo(db, "10.2.0.1"); got != a {
		t.Fatalf("tunnel a routes to %p, want %p", got, a)
	}
	if got := routeTo(db, "10.3.0.1"); got != b {
		t.Fatalf("tunnel b routes to %p, want %p", got, b)
	}
	if a.Crypto() == b.Crypto() {
		t.Fatal("both SAs share one transform")
	}
	var tl Tally
	for _, sa := range []*OutSA{a, b, b} {
		if _, d := sa.Seal(nil, udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropNone {
			t.Fatal(d)
		}
	}
	sa, _ := db.SAStats(dataplane.OutSA(1, spi))
	sb, _ := db.SAStats(dataplane.OutSA(2, spi))
	if sa.Packets != 1 || sb.Packets != 2 {
		t.Fatalf("stats a=%+v b=%+v", sa, sb)
	}
	// A reference with the wrong SPI finds nothing.
	if _, ok := db.SAStats(dataplane.OutSA(1, spi+1)); ok {
		t.Fatal("stale reference resolved")
	}
	if err := db.DeleteSA(dataplane.OutSA(1, spi+1)); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("delete with wrong SPI: %v", err)
	}
	if len(db.SAs()) != 4 {
		t.Fatalf("SAs: %+v", db.SAs())
	}
}

func TestRefusedInstallKeepsTraffic(t *testing.T) {
	var flushed []*OutSA
	db := newDB(t, func(sa *OutSA, _ [][]byte) { flushed = append(flushed, sa) })
	twoTunnels(t, db, 0x6000)
	a := db.OutSA(1)
	// Peer B, authenticated, picks the SPI we use towards A, for a new Child SA (id 3) that
	// it claims lives at A's address: refused.
	if err := db.AddSA(outTo(3, 0x6000, peerA, "b")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("AddSA: %v", err)
	}
	// Or a new SA for the existing Child SA 1: refused.
	if err := db.AddSA(outTo(1, 0x6001, peerB, "b")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("AddSA: %v", err)
	}
	// And an inbound SA on A's SPI: refused.
	if err := db.AddSA(inFrom(3, 0x1001, peerB, "b")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("AddSA: %v", err)
	}
	if db.OutSA(1) != a || a.Remote() != peerA || db.OutSA(3) != nil || db.InSA(0x1001).Config().Tunnel != "a" {
		t.Fatal("installed SAs changed")
	}
	if p, _ := db.Policy("a"); p.SA() != a || p.Config().OutChild != 1 {
		t.Fatal("policy a changed")
	}
	if got := routeTo(db, "10.2.0.1"); got != a {
		t.Fatalf("tunnel a routes to %p, want %p", got, a)
	}
	var tl Tally
	if _, d := a.Seal(nil, udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropNone {
		t.Fatal(d)
	}
	if len(flushed) != 0 {
		t.Fatal("refused install flushed packets")
	}
}

func TestDeleteOneOfSameSPI(t *testing.T) {
	db := newDB(t, nil)
	twoTunnels(t, db, 0x7000)
	b := db.OutSA(2)
	if err := db.DeleteSA(dataplane.OutSA(1, 0x7000)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSA(dataplane.OutSA(1, 0x7000)); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if db.OutSA(1) != nil || db.OutSA(2) != b {
		t.Fatal("wrong SA deleted")
	}
	var tl Tally
	if _, d := db.Route(udp("10.1.0.1", "10.2.0.1", 1, 2), 1, &tl); d != DropHeld {
		t.Fatalf("tunnel a: %v, want held", d)
	}
	if got := routeTo(db, "10.3.0.1"); got != b {
		t.Fatal("tunnel b lost its SA")
	}
	// The pair (peerA, SPI) is free again: a new Child SA may use it and tunnel a resumes
	// once its policy points there.
	if err := db.AddSA(outTo(4, 0x7000, peerA, "a")); err != nil {
		t.Fatal(err)
	}
	p, _ := db.Policy("a")
	c := p.Config()
	c.OutChild = 4
	if err := db.SetPolicy(c); err != nil {
		t.Fatal(err)
	}
	if got := routeTo(db, "10.2.0.1"); got == nil || got != db.OutSA(4) {
		t.Fatal("tunnel a not on the new SA")
	}
	// Inbound deletes are by SPI and only touch that SA.
	if err := db.DeleteSA(dataplane.InSA(0x1001)); err != nil {
		t.Fatal(err)
	}
	if db.InSA(0x1001) != nil || db.InSA(0x2001) == nil {
		t.Fatal("wrong inbound SA deleted")
	}
}

func TestUpdateRemote(t *testing.T) {
	db := newDB(t, nil)
	twoTunnels(t, db, 0x8000)
	a := db.OutSA(1)
	moved := netip.MustParseAddrPort("198.51.100.7:31000")
	if err := db.UpdateRemote(1, moved); err != nil {
		t.Fatal(err)
	}
	if a.Remote() != moved || db.OutSA(1) != a || db.InSA(0x1001).Remote() != moved {
		t.Fatalf("remotes %v %v", a.Remote(), db.InSA(0x1001).Remote())
	}
	if c := a.Config(); c.Remote != moved {
		t.Fatalf("Config().Remote = %v", c.Remote)
	}
	if routeTo(db, "10.2.0.1") != a {
		t.Fatal("policy lost its SA")
	}
	// Its old (address, SPI) pair is free, the new one taken.
	if err := db.AddSA(outTo(5, 0x8000, moved, "x")); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("AddSA on the new pair: %v", err)
	}
	if err := db.AddSA(outTo(5, 0x8000, peerA, "x")); err != nil {
		t.Fatalf("AddSA on the old pair: %v", err)
	}
	// Moving child 2 onto child 1's new address clashes (same SPI): refused, nothing changes.
	if err := db.UpdateRemote(2, netip.AddrPortFrom(moved.Addr(), 4500)); !errors.Is(err, dataplane.ErrExists) {
		t.Fatalf("clash: %v", err)
	}
	if db.OutSA(2).Remote() != peerB {
		t.Fatal("refused update changed the SA")
	}
	// Port rules: UDP encapsulation needs a port; unknown children are not found.
	if err := db.UpdateRemote(2, netip.AddrPortFrom(peerB.Addr(), 0)); err == nil {
		t.Fatal("port 0 accepted for a UDP-encapsulated SA")
	}
	if err := db.UpdateRemote(2, netip.MustParseAddrPort("[2001:db8::1]:4500")); err == nil {
		t.Fatal("IPv6 remote accepted for an IPv4 SA")
	}
	if err := db.UpdateRemote(99, moved); !errors.Is(err, dataplane.ErrNotFound) {
		t.Fatalf("unknown child: %v", err)
	}
	// Deleting after a move frees the new pair.
	if err := db.DeleteSA(dataplane.OutSA(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSA(outTo(6, 0x8000, moved, "y")); err != nil {
		t.Fatalf("pair not freed by delete: %v", err)
	}
}

// TestSequenceLimit checks that an outbound SA without ESN is rekeyed (soft expire) before
// its 32-bit sequence numbers run out and stops (hard expire) at 2^32-1 packets, whatever
// its configured lifetime; with ESN the configured lifetime stands.
func TestSequenceLimit(t *testing.T) {
	db := newDB(t, nil)
	c := outTo(1, 0x9000, peerA, "a")
	c.SoftPackets, c.HardPackets = 0, 0 // unlimited by configuration
	if err := db.AddSA(c); err != nil {
		t.Fatal(err)
	}
	sa := db.OutSA(1)
	if cfg := sa.Config(); cfg.SoftPackets != 1<<32-1<<20 || cfg.HardPackets != 1<<32-1 {
		t.Fatalf("limits %d %d", cfg.SoftPackets, cfg.HardPackets)
	}
	pkt := udp("10.1.0.1", "10.2.0.1", 1, 2)
	var tl Tally
	sa.packets.Store(1<<32 - 1<<20 - 2) // as if that many packets had been sealed
	for i := range 2 {
		if _, d := sa.Seal(nil, pkt, 1, &tl); d != DropNone {
			t.Fatalf("packet %d: %v", i, d)
		}
	}
	ev := <-db.Events()
	if ev.Kind != dataplane.EventSoftExpire || ev.Child != 1 || ev.SPI != 0x9000 || ev.Dir != dataplane.Out {
		t.Fatalf("event %+v", ev)
	}
	sa.packets.Store(1<<32 - 3)
	for i := range 2 { // sequence numbers 2^32-2 and 2^32-1
		if _, d := sa.Seal(nil, pkt, 1, &tl); d != DropNone {
			t.Fatalf("packet %d: %v", i, d)
		}
	}
	if _, d := sa.Seal(nil, pkt, 1, &tl); d != DropExpired {
		t.Fatalf("packet 2^32: %v", d)
	}
	if ev := <-db.Events(); ev.Kind != dataplane.EventHardExpire || ev.Child != 1 {
		t.Fatalf("event %+v", ev)
	}

	// Smaller configured limits are kept; ESN keeps the configuration; inbound SAs are not
	// limited by our sequence numbers.
	small := outTo(2, 0x9001, peerB, "b")
	small.SoftPackets, small.HardPackets = 90, 100
	esn := outTo(3, 0x9002, peerB, "c")
	esn.ESN = true
	in := inFrom(4, 0x9003, peerB, "d")
	for _, c := range []dataplane.SAConfig{small, esn, in} {
		if err := db.AddSA(c); err != nil {
			t.Fatal(err)
		}
	}
	if c := db.OutSA(2).Config(); c.SoftPackets != 90 || c.HardPackets != 100 {
		t.Fatalf("small: %d %d", c.SoftPackets, c.HardPackets)
	}
	if c := db.OutSA(3).Config(); c.SoftPackets != 0 || c.HardPackets != 0 {
		t.Fatalf("esn: %d %d", c.SoftPackets, c.HardPackets)
	}
	if c := db.InSA(0x9003).Config(); c.SoftPackets != 0 || c.HardPackets != 0 {
		t.Fatalf("in: %d %d", c.SoftPackets, c.HardPackets)
	}
}

func TestPacketLimits(t *testing.T) {
	const soft, hard = dataplane.SeqSoftPackets, dataplane.SeqHardPackets
	tests := []struct {
		esn              bool
		soft, hard       uint64
		wantSoft, wantHd uint64
	}{
		{false, 0, 0, soft, hard},
		{false, 900, 1000, 900, 1000},
		{false, 1 << 40, 1 << 41, soft, hard},
		{false, 0, 1000, soft, 1000}, // a soft limit above the hard one never fires first
		{false, 1 << 33, 0, soft, hard},
		{true, 0, 0, 0, 0},
		{true, 1 << 40, 1 << 41, 1 << 40, 1 << 41},
	}
	for _, tc := range tests {
		s, h := dataplane.PacketLimits(tc.esn, tc.soft, tc.hard)
		if s != tc.wantSoft || h != tc.wantHd {
			t.Errorf("PacketLimits(%v, %d, %d) = %d, %d; want %d, %d", tc.esn, tc.soft, tc.hard, s, h, tc.wantSoft, tc.wantHd)
		}
	}
}

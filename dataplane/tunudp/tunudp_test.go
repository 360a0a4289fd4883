package tunudp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/esp"
	"github.com/vigil-ipsec/vigil/internal/netns"
)

const (
	spiAB = 0xa0000001 // A -> B, chosen by B
	spiBA = 0xb0000001 // B -> A, chosen by A
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 36) }

func prefixSel(p netip.Prefix) dataplane.Selector {
	a := p.Masked().Addr().As4()
	last := a
	host := 32 - p.Bits()
	for i := 0; i < host; i++ {
		last[3-i/8] |= 1 << (i % 8)
	}
	return dataplane.Selector{StartAddr: netip.AddrFrom4(a), EndAddr: netip.AddrFrom4(last), EndPort: 0xffff}
}

type ikeRec struct {
	local, remote netip.AddrPort
	msg           string
}

type site struct {
	tp     *netns.Topo
	a, b   *Dataplane
	ikeA   chan ikeRec
	ikeB   chan ikeRec
	encap  dataplane.Encap
	portAB uint16
}

func openIn(t *testing.T, ns *netns.NS, cfg Config, h dataplane.IKEHandler) *Dataplane {
	t.Helper()
	var dp *Dataplane
	if err := ns.Do(func() error {
		var err error
		dp, err = Open(cfg, h)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dp.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return dp
}

func handler(ch chan ikeRec) dataplane.IKEHandler {
	return func(local, remote netip.AddrPort, msg []byte) {
		select {
		case ch <- ikeRec{local, remote, string(msg)}:
		default:
		}
	}
}

// newSite builds hostA - gwA = gwB - hostB with a dataplane on each gateway and, unless
// noSAs, a tunnel between 10.1.0.0/24 and 10.2.0.0/24.
func newSite(t *testing.T, encap dataplane.Encap, mod func(*Config), noSAs bool) *site {
	tp := netns.NewSiteToSite(t, "vgdp")
	s := &site{tp: tp, ikeA: make(chan ikeRec, 16), ikeB: make(chan ikeRec, 16), encap: encap}
	cfg := func(a netip.Addr) Config {
		c := Config{TUNName: "vgdp0", Addrs: []netip.Addr{a}, Raw: encap == dataplane.EncapRaw}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	s.a = openIn(t, tp.GwA, cfg(netns.GwAWAN), handler(s.ikeA))
	s.b = openIn(t, tp.GwB, cfg(netns.GwBWAN), handler(s.ikeB))
	if !noSAs {
		s.install(t)
	}
	return s
}

func (s *site) install(t *testing.T) {
	t.Helper()
	port := uint16(4500)
	if s.encap == dataplane.EncapRaw {
		port = 0
	}
	la, lb := netip.AddrPortFrom(netns.GwAWAN, port), netip.AddrPortFrom(netns.GwBWAN, port)
	mk := func(spi uint32, dir dataplane.Direction, local, remote netip.AddrPort, k byte) dataplane.SAConfig {
		return dataplane.SAConfig{SPI: spi, Dir: dir, Tunnel: "t", ChildID: 1, Local: local, Remote: remote, Encap: s.encap,
			Encr: crypto.EncrAESGCM16, EncrKey: key(k)}
	}
	for _, step := range []error{
		s.a.AddSA(mk(spiAB, dataplane.Out, la, lb, 1)),
		s.b.AddSA(mk(spiAB, dataplane.In, lb, la, 1)),
		s.b.AddSA(mk(spiBA, dataplane.Out, lb, la, 2)),
		s.a.AddSA(mk(spiBA, dataplane.In, la, lb, 2)),
		s.b.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{prefixSel(netns.NetB)},
			RemoteTS: []dataplane.Selector{prefixSel(netns.NetA)}, OutChild: 1}),
		s.a.SetPolicy(dataplane.Policy{Tunnel: "t", LocalTS: []dataplane.Selector{prefixSel(netns.NetA)},
			RemoteTS: []dataplane.Selector{prefixSel(netns.NetB)}, OutChild: 1}),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
}

func ping(t *testing.T, ns *netns.NS, dst netip.Addr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ns.Ping(ctx, dst); err != nil {
		t.Fatalf("ping %v from %s: %v", dst, ns.Name, err)
	}
}

// tcpTransfer sends n bytes from hostA to hostB over TCP and returns the throughput in bit/s.
func tcpTransfer(t *testing.T, tp *netns.Topo, n int) float64 {
	t.Helper()
	var ln net.Listener
	if err := tp.HostB.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(netns.HostBAddr, 5201).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	sum := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		var last []byte
		buf := make([]byte, 1<<16)
		var total int64
		for {
			k, err := c.Read(buf)
			total += int64(k)
			if k > 0 {
				last = append(last[:0], buf[max(0, k-16):k]...)
			}
			if err != nil {
				break
			}
		}
		sum <- last
		got <- total
	}()
	var c net.Conn
	if err := tp.HostA.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(netns.HostBAddr, 5201).String(), 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, n)
	rand.Read(data)
	start := time.Now()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	total := <-got
	el := time.Since(start)
	if total != int64(n) {
		t.Fatalf("received %d of %d bytes", total, n)
	}
	if l := <-sum; !bytes.HasSuffix(data, l) {
		t.Fatal("data corrupted")
	}
	return float64(n) * 8 / el.Seconds()
}

func TestTunnelUDP(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	ping(t, s.tp.HostA, netns.HostBAddr)
	ping(t, s.tp.GwA, netns.GwBLAN) // gateway to gateway: route src hint 10.1.0.1
	bps := tcpTransfer(t, s.tp, 16<<20/transferDiv)
	t.Logf("TCP hostA->hostB through ESP-in-UDP: %.0f Mbit/s", bps/1e6)
	ca, cb := s.a.Counters(), s.b.Counters()
	if ca.PacketsOut == 0 || cb.PacketsIn < ca.PacketsOut/2 || cb.AuthFails != 0 || cb.ReplayDrops != 0 {
		t.Fatalf("counters A %+v B %+v", ca, cb)
	}
	st, ok := s.b.SAStats(dataplane.InSA(spiAB))
	if !ok || st.Bytes < 16<<20/transferDiv || st.LastUsed.IsZero() {
		t.Fatalf("SA stats %+v", st)
	}
}

func TestTunnelRawESP(t *testing.T) {
	s := newSite(t, dataplane.EncapRaw, nil, false)
	ping(t, s.tp.HostA, netns.HostBAddr)
	bps := tcpTransfer(t, s.tp, 4<<20/transferDiv)
	t.Logf("TCP hostA->hostB through raw ESP: %.0f Mbit/s", bps/1e6)
	if st, _ := s.a.SAStats(dataplane.InSA(spiBA)); st.Packets == 0 {
		t.Fatalf("no packets on raw inbound SA: %+v", st)
	}
}

// udpIn opens a UDP socket inside ns.
func udpIn(t *testing.T, ns *netns.NS, laddr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := ns.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(laddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitIKE(t *testing.T, ch chan ikeRec) ikeRec {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no IKE message")
	}
	return ikeRec{}
}

func TestIKEDelivery(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, true)
	a500, a4500 := netip.AddrPortFrom(netns.GwAWAN, 500), netip.AddrPortFrom(netns.GwAWAN, 4500)
	b500, b4500 := netip.AddrPortFrom(netns.GwBWAN, 500), netip.AddrPortFrom(netns.GwBWAN, 4500)

	if err := s.a.SendIKE(a500, b500, []byte("init")); err != nil {
		t.Fatal(err)
	}
	if r := waitIKE(t, s.ikeB); r != (ikeRec{b500, a500, "init"}) {
		t.Fatalf("got %+v", r)
	}
	if err := s.b.SendIKE(b4500, a4500, []byte("auth")); err != nil {
		t.Fatal(err)
	}
	if r := waitIKE(t, s.ikeA); r != (ikeRec{a4500, b4500, "auth"}) {
		t.Fatalf("got %+v", r)
	}
	// A foreign socket: the marker is stripped on 4500, kept on 500; keepalives are counted.
	c := udpIn(t, s.tp.GwA, netip.AddrPortFrom(netns.GwAWAN, 4501))
	from := netip.AddrPortFrom(netns.GwAWAN, 4501)
	send := func(to netip.AddrPort, b []byte) {
		if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	send(b4500, []byte{0xff})
	send(b4500, append([]byte{0, 0, 0, 0}, "nat-t"...))
	if r := waitIKE(t, s.ikeB); r != (ikeRec{b4500, from, "nat-t"}) {
		t.Fatalf("got %+v", r)
	}
	send(b500, []byte("\x00\x00\x00\x00plain"))
	if r := waitIKE(t, s.ikeB); r != (ikeRec{b500, from, "\x00\x00\x00\x00plain"}) {
		t.Fatalf("got %+v", r)
	}
	if err := s.a.SendKeepalive(a4500, b4500); err != nil {
		t.Fatal(err)
	}
	send(b4500, append([]byte{0, 0, 0, 0}, "sync"...)) // ordered after the keepalive
	waitIKE(t, s.ikeB)
	if c := s.b.Counters(); c.Keepalives != 2 || c.IKEIn != 4 {
		t.Fatalf("counters %+v", c)
	}
}

func TestReplayAndUnknownSPI(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	ping(t, s.tp.HostA, netns.HostBAddr) // consumes sequence number 1 and more
	sa, err := esp.New(esp.Config{SPI: spiAB, Encr: crypto.EncrAESGCM16, EncrKey: key(1)})
	if err != nil {
		t.Fatal(err)
	}
	inner := []byte{0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 253, 0, 0, 10, 1, 0, 2, 10, 2, 0, 2}
	replayed, err := sa.Seal(nil, inner, 4) // sequence number 1 again
	if err != nil {
		t.Fatal(err)
	}
	c := udpIn(t, s.tp.GwA, netip.AddrPortFrom(netns.GwAWAN, 4501))
	b4500 := netip.AddrPortFrom(netns.GwBWAN, 4500)
	if _, err := c.WriteToUDPAddrPort(replayed, b4500); err != nil {
		t.Fatal(err)
	}
	unknown := append([]byte{0xde, 0xad, 0xbe, 0xef}, make([]byte, 60)...)
	if _, err := c.WriteToUDPAddrPort(unknown, b4500); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-s.b.Events():
		if ev.Kind != dataplane.EventUnknownSPI || ev.SPI != 0xdeadbeef || ev.Src != netip.AddrPortFrom(netns.GwAWAN, 4501) || ev.Dst != b4500 {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no unknown-SPI event")
	}
	// A marked IKE message sent after both: once it is delivered, the counters of the packets
	// before it are published.
	if _, err := c.WriteToUDPAddrPort([]byte("\x00\x00\x00\x00sync"), b4500); err != nil {
		t.Fatal(err)
	}
	waitIKE(t, s.ikeB)
	if st, _ := s.b.SAStats(dataplane.InSA(spiAB)); st.ReplayDrops != 1 {
		t.Fatalf("SA stats %+v", st)
	}
	if cb := s.b.Counters(); cb.ReplayDrops != 1 || cb.UnknownSPI != 1 {
		t.Fatalf("counters %+v", cb)
	}
}

func TestPacketTooBig(t *testing.T) {
	// A device MTU of 1500 lets 1450-byte packets reach the dataplane, which can carry at most
	// 1500 - 28 - 37 (AES-GCM worst case) = 1435 bytes: it must answer with ICMP.
	s := newSite(t, dataplane.EncapUDP, func(c *Config) { c.MTU = 1500 }, false)
	ping(t, s.tp.HostA, netns.HostBAddr)
	var fd int
	var conn *net.UDPConn
	if err := s.tp.HostA.Do(func() error {
		var err error
		conn, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(netns.HostBAddr, 9)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, _ := conn.SyscallConn()
	var serr error
	rc.Control(func(f uintptr) {
		fd = int(f)
		serr = errors.Join(unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO),
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1))
	})
	if serr != nil {
		t.Fatal(serr)
	}
	if _, err := conn.Write(make([]byte, 1450-28)); err != nil {
		t.Fatal(err)
	}
	// The ICMP error is reported on the socket as EMSGSIZE.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := conn.Read(make([]byte, 100))
	if !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("read: %v, want EMSGSIZE", err)
	}
	var mtu int
	rc.Control(func(f uintptr) { mtu, serr = unix.GetsockoptInt(int(f), unix.IPPROTO_IP, unix.IP_MTU) })
	if serr != nil || mtu != 1435 {
		t.Fatalf("path MTU %d (%v), want 1435", mtu, serr)
	}
	// The worker counts the drop after it has written the ICMP error (its tally is flushed per
	// batch): wait for the counter rather than race it.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		c := s.a.Counters()
		if c.TooBig == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v", c)
		}
	}
}

func TestHoldAcquireFlush(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, true)
	if err := s.a.SetPolicy(dataplane.Policy{Tunnel: "t", Trap: true, LocalTS: []dataplane.Selector{prefixSel(netns.NetA)},
		RemoteTS: []dataplane.Selector{prefixSel(netns.NetB)}}); err != nil {
		t.Fatal(err)
	}
	s.a.syncRoutes() // a policy without SA does not wait for its route
	recv := udpIn(t, s.tp.HostB, netip.AddrPortFrom(netns.HostBAddr, 7000))
	snd := udpIn(t, s.tp.HostA, netip.AddrPortFrom(netns.HostAAddr, 7001))
	if _, err := snd.WriteToUDPAddrPort([]byte("held"), netip.AddrPortFrom(netns.HostBAddr, 7000)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-s.a.Events():
		if ev.Kind != dataplane.EventAcquire || ev.Tunnel != "t" || ev.Dst != netip.AddrPortFrom(netns.HostBAddr, 7000) {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no acquire")
	}
	s.install(t) // SetPolicy with OutChild flushes the held packet
	recv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, err := recv.Read(buf)
	if err != nil || string(buf[:n]) != "held" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

func TestRoutesFollowPolicies(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	show := func() string {
		s.a.syncRoutes()
		out, err := s.tp.GwA.Run(context.Background(), "ip", "route", "show", "dev", "vgdp0")
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if r := show(); !bytes.Contains([]byte(r), []byte("10.2.0.0/24")) || !bytes.Contains([]byte(r), []byte("src 10.1.0.1")) {
		t.Fatalf("routes: %q", r)
	}
	if err := s.a.DeletePolicy("t"); err != nil {
		t.Fatal(err)
	}
	if r := show(); bytes.Contains([]byte(r), []byte("10.2.0.0/24")) {
		t.Fatalf("route left after DeletePolicy: %q", r)
	}
}

// TestManyRoutes: 5,000 policies set one after the other (as at the start of a gateway with
// 5,000 tunnels) all get their route through the router's batches; deleting half the
// policies removes exactly their routes, and Close removes the rest.
func TestManyRoutes(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, true)
	const n = 5000
	pf := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 + byte(i>>11), byte(i >> 3), byte(i&7) * 32}), 27)
	}
	for i := range n {
		if err := s.a.SetPolicy(dataplane.Policy{Tunnel: fmt.Sprintf("t%d", i), LocalTS: []dataplane.Selector{prefixSel(netns.NetA)},
			RemoteTS: []dataplane.Selector{prefixSel(pf(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		s.a.syncRoutes()
		out, err := s.tp.GwA.Run(context.Background(), "ip", "-4", "route", "show", "dev", "vgdp0", "proto", "0x56")
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(out, []byte("\n"))
	}
	if got := count(); got != n {
		t.Fatalf("%d routes after %d policies", got, n)
	}
	for i := 0; i < n; i += 2 {
		if err := s.a.DeletePolicy(fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != n/2 {
		t.Fatalf("%d routes after deleting %d of %d policies", got, n/2, n)
	}
	out, err := s.tp.GwA.Run(context.Background(), "ip", "-4", "route", "show", pf(1).String())
	if err != nil || !bytes.Contains(out, []byte("vgdp0")) {
		t.Fatalf("route of a kept policy: %q %v", out, err)
	}
	if err := s.a.Close(); err != nil {
		t.Fatal(err)
	}
	out, err = s.tp.GwA.Run(context.Background(), "ip", "-4", "route", "show", "proto", "0x56")
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("routes left after Close: %d lines, %v", bytes.Count(out, []byte("\n")), err)
	}
}

// TestRoutesShared: a route needed by two tunnels stays until both let go of it; replacing a
// policy moves its routes; a tunnel named twice in one batch ends with the routes of its last
// entry. The dataplane keeps no list of a tunnel's routes: it reads them from the installed
// policy, so these are the cases where that could go wrong.
func TestRoutesShared(t *testing.T) {
	s := newSite(t, dataplane.EncapUDP, nil, false)
	routes := func() string {
		t.Helper()
		s.a.syncRoutes()
		out, err := s.tp.GwA.Run(context.Background(), "ip", "-4", "route", "show", "dev", "vgdp0", "proto", "0x56")
		if err != nil {
			t.Fatal(err)
		}
		var dsts []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				dsts = append(dsts, f[0])
			}
		}
		slices.Sort(dsts)
		return strings.Join(dsts, " ")
	}
	pol := func(tunnel string, remote ...string) dataplane.Policy {
		p := dataplane.Policy{Tunnel: tunnel, LocalTS: []dataplane.Selector{prefixSel(netns.NetA)}}
		for _, r := range remote {
			p.RemoteTS = append(p.RemoteTS, prefixSel(netip.MustParsePrefix(r)))
		}
		return p
	}
	if err := s.a.DeletePolicy("t"); err != nil { // the site's own policy
		t.Fatal(err)
	}
	if err := s.a.SetPolicies([]dataplane.Policy{pol("x", "10.9.1.0/24"), pol("y", "10.9.1.0/24", "10.9.2.0/24")}); err != nil {
		t.Fatal(err)
	}
	if got, want := routes(), "10.9.1.0/24 10.9.2.0/24"; got != want {
		t.Fatalf("routes %q, want %q", got, want)
	}
	if err := s.a.DeletePolicy("x"); err != nil {
		t.Fatal(err)
	}
	if got, want := routes(), "10.9.1.0/24 10.9.2.0/24"; got != want {
		t.Fatalf("after deleting x (y still needs both): routes %q, want %q", got, want)
	}
	if err := s.a.SetPolicy(pol("y", "10.9.3.0/24")); err != nil {
		t.Fatal(err)
	}
	if got, want := routes(), "10.9.3.0/24"; got != want {
		t.Fatalf("after replacing y: routes %q, want %q", got, want)
	}
	if err := s.a.SetPolicies([]dataplane.Policy{pol("z", "10.9.4.0/24"), pol("z", "10.9.5.0/24")}); err != nil {
		t.Fatal(err)
	}
	if got, want := routes(), "10.9.3.0/24 10.9.5.0/24"; got != want {
		t.Fatalf("after z twice in one batch: routes %q, want %q", got, want)
	}
	if err := s.a.DeletePolicies([]string{"y", "z"}); err != nil {
		t.Fatal(err)
	}
	if got := routes(); got != "" {
		t.Fatalf("after deleting all: routes %q", got)
	}
}

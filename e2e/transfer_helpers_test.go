package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/api"
	"github.com/vigil-ipsec/vigil/internal/netns"
	"github.com/vigil-ipsec/vigil/internal/vigiltest"
)

// xferDefaultMB is the size of one dataplane transfer; VIGIL_E2E_TRANSFER_MB may lower it.
const xferDefaultMB = 50

// xferSize is the number of bytes each transfer moves: xferDefaultMB MB, or fewer if
// VIGIL_E2E_TRANSFER_MB asks for it (values above the default are capped to keep the suite short).
func xferSize(t testing.TB) int64 {
	t.Helper()
	mb := int64(xferDefaultMB)
	if s := os.Getenv("VIGIL_E2E_TRANSFER_MB"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			t.Fatalf("VIGIL_E2E_TRANSFER_MB=%q: want a positive integer", s)
		}
		mb = min(n, mb)
	}
	return mb << 20
}

// xferOpts tunes one TCP transfer.
type xferOpts struct {
	Size int64  // bytes to send
	Seed uint64 // seeds the pseudo-random payload

	// Rate limits the sender to this many bytes per second (0: as fast as possible).
	Rate int64
	// Mid, if set, is called on the sender's goroutine once a third of Size has been written.
	// It must not block.
	Mid func()
	// Hold, if set, stops the sender at two thirds of Size until it is closed, so that the last
	// third is written only after whatever Mid started is over.
	Hold <-chan struct{}
}

// xferResult is what a completed transfer measured.
type xferResult struct {
	Bytes    int64         // bytes received (equal to Size on success)
	Duration time.Duration // from connect to the receiver seeing EOF
}

// Mbps is the goodput in Mbit/s.
func (r xferResult) Mbps() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Bytes) * 8 / r.Duration.Seconds() / 1e6
}

// xferRun sends opt.Size pseudo-random bytes over TCP from a client in namespace from to a
// listener on dst (port chosen by the kernel) in namespace to, hashes the stream with SHA-256 on
// both ends and fails unless the receiver got every byte with the sender's hash. It never calls
// t.Fatal, so it may run on any goroutine; ctx bounds the whole transfer.
func xferRun(ctx context.Context, from, to *netns.NS, dst netip.Addr, opt xferOpts) (xferResult, error) {
	var ln net.Listener
	if err := to.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(dst, 0).String())
		return err
	}); err != nil {
		return xferResult{}, fmt.Errorf("listen in %s: %w", to.Name, err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	type recvResult struct {
		n   int64
		sum [sha256.Size]byte
		end time.Time
		err error
	}
	recvc := make(chan recvResult, 1)
	go func() {
		var r recvResult
		defer func() { recvc <- r }()
		c, err := ln.Accept()
		if err != nil {
			r.err = fmt.Errorf("accept: %w", err)
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		h := sha256.New()
		r.n, err = io.Copy(h, c)
		r.end = time.Now()
		if err != nil {
			r.err = fmt.Errorf("receive after %d bytes: %w", r.n, err)
			return
		}
		h.Sum(r.sum[:0])
	}()

	var conn net.Conn
	if err := from.Do(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp4", addr)
		return err
	}); err != nil {
		ln.Close()
		<-recvc
		return xferResult{}, fmt.Errorf("dial %s from %s: %w", addr, from.Name, err)
	}
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	sent, sum, serr := xferSend(ctx, conn.(*net.TCPConn), start, opt)
	stop()
	if serr == nil {
		serr = conn.(*net.TCPConn).CloseWrite()
	}
	if serr != nil {
		conn.Close()
	}
	r := <-recvc
	conn.Close()
	res := xferResult{Bytes: r.n, Duration: r.end.Sub(start)}
	switch {
	case serr != nil:
		return res, fmt.Errorf("send after %d of %d bytes: %w", sent, opt.Size, serr)
	case r.err != nil:
		return res, r.err
	case r.n != opt.Size:
		return res, fmt.Errorf("received %d bytes, sent %d", r.n, opt.Size)
	case r.sum != sum:
		return res, fmt.Errorf("SHA-256 differs: sent %x, received %x", sum, r.sum)
	}
	return res, nil
}

// send writes opt.Size bytes of the seeded stream to c and returns how many it wrote and their
// SHA-256.
func xferSend(ctx context.Context, c *net.TCPConn, start time.Time, opt xferOpts) (int64, [sha256.Size]byte, error) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], opt.Seed)
	src := rand.NewChaCha8(seed)
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var sum [sha256.Size]byte
	third, twoThirds := opt.Size/3, 2*opt.Size/3
	midDone := opt.Mid == nil
	var sent int64
	for sent < opt.Size {
		n := min(int64(len(buf)), opt.Size-sent)
		if !midDone && sent < third {
			n = min(n, third-sent)
		}
		if opt.Hold != nil && sent < twoThirds {
			n = min(n, twoThirds-sent)
		}
		b := buf[:n]
		src.Read(b)
		h.Write(b)
		if _, err := c.Write(b); err != nil {
			return sent, sum, err
		}
		sent += n
		if !midDone && sent >= third {
			midDone = true
			opt.Mid()
		}
		if opt.Hold != nil && sent == twoThirds {
			select {
			case <-opt.Hold:
			case <-ctx.Done():
				return sent, sum, fmt.Errorf("held at %d bytes: %w", sent, ctx.Err())
			}
		}
		if opt.Rate > 0 {
			// Pace the sender: wait until the rate allows the bytes sent so far.
			due := start.Add(time.Duration(float64(sent) / float64(opt.Rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				tm := time.NewTimer(d)
				select {
				case <-tm.C:
				case <-ctx.Done():
					tm.Stop()
					return sent, sum, ctx.Err()
				}
			}
		}
	}
	h.Sum(sum[:0])
	return sent, sum, nil
}

// transfer runs xferRun from one host of topo to the other (aToB chooses the direction),
// fails the test on error and logs the goodput.
func xferTCP(t *testing.T, ctx context.Context, topo *netns.Topo, aToB bool, opt xferOpts) xferResult {
	t.Helper()
	from, to, dst, dir := topo.HostA, topo.HostB, netns.HostBAddr, "hostA -> hostB"
	if !aToB {
		from, to, dst, dir = topo.HostB, topo.HostA, netns.HostAAddr, "hostB -> hostA"
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	r, err := xferRun(ctx, from, to, dst, opt)
	if err != nil {
		t.Fatalf("transfer %s: %v", dir, err)
	}
	t.Logf("transfer %s: %d bytes in %v = %.0f Mbit/s", dir, r.Bytes, r.Duration.Round(time.Millisecond), r.Mbps())
	return r
}

// xferChild returns the single installed Child SA of tunnel "site" on v.
func xferChild(t *testing.T, ctx context.Context, v *vigiltest.Vigil) api.ChildSA {
	t.Helper()
	sas, err := v.WaitFor(ctx, "an installed child", vigiltest.HasChild("site"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := vigiltest.Child(sas, "site")
	return c
}

// xferCheckCounters asserts that v's Child SA (still the one of before) counted at least n bytes
// (inner packets, so headers included) in direction out (or in), at least n/1500 packets, and not
// grossly more (which would mean double counting).
func xferCheckCounters(t *testing.T, ctx context.Context, v *vigiltest.Vigil, name string, before api.ChildSA, n int64, out bool) {
	t.Helper()
	after := xferChild(t, ctx, v)
	if after.SPIIn != before.SPIIn {
		t.Fatalf("%s: Child SA changed during the transfer (%v -> %v)", name, before.SPIIn, after.SPIIn)
	}
	dir, db, dp := "in", after.BytesIn-before.BytesIn, after.PacketsIn-before.PacketsIn
	if out {
		dir, db, dp = "out", after.BytesOut-before.BytesOut, after.PacketsOut-before.PacketsOut
	}
	if db < uint64(n) || db > uint64(n+n/2+1<<20) {
		t.Errorf("%s: bytes_%s grew by %d for a transfer of %d bytes", name, dir, db, n)
	}
	if dp < uint64(n/1500) {
		t.Errorf("%s: packets_%s grew by %d for a transfer of %d bytes", name, dir, dp, n)
	}
}

// ---- raw frame capture and injection (replay test) ----

// xferPacketSock is an AF_PACKET socket bound to one interface inside a namespace.
type xferPacketSock struct {
	fd      int
	ifindex int
}

func xferHtons(v uint16) uint16 { return v<<8 | v>>8 }

// xferOpenPacketSock opens an AF_PACKET/SOCK_RAW socket for IPv4 frames on ifname in ns.
func xferOpenPacketSock(ns *netns.NS, ifname string) (*xferPacketSock, error) {
	var ps *xferPacketSock
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(xferHtons(unix.ETH_P_IP)))
		if err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: xferHtons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind AF_PACKET to %s: %w", ifname, err)
		}
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return err
		}
		ps = &xferPacketSock{fd: fd, ifindex: ifi.Index}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ns.Name, ifname, err)
	}
	return ps, nil
}

func (p *xferPacketSock) Close() error { return unix.Close(p.fd) }

// next returns the next received (not outgoing) frame that match accepts, or an error once ctx
// ends.
func (p *xferPacketSock) next(ctx context.Context, match func([]byte) bool) ([]byte, error) {
	buf := make([]byte, 65536)
	for ctx.Err() == nil {
		n, from, err := unix.Recvfrom(p.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if match(buf[:n]) {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
	return nil, ctx.Err()
}

// inject transmits frame (Ethernet header included) on the socket's interface.
func (p *xferPacketSock) inject(frame []byte) error {
	if len(frame) < 14 {
		return errors.New("frame too short")
	}
	sa := &unix.SockaddrLinklayer{Protocol: xferHtons(unix.ETH_P_IP), Ifindex: p.ifindex, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	return unix.Sendto(p.fd, frame, 0, sa)
}

// xferIsESP reports whether frame is an IPv4 ESP packet from src to dst: IP protocol 50, or UDP
// to port 4500 whose payload is not IKE (non-ESP marker) or a NAT keepalive.
func xferIsESP(frame []byte, src, dst netip.Addr) bool {
	ip, ok := xferIPv4(frame)
	if !ok || netip.AddrFrom4([4]byte(ip[12:16])) != src || netip.AddrFrom4([4]byte(ip[16:20])) != dst {
		return false
	}
	hl := int(ip[0]&0xf) * 4
	switch ip[9] {
	case unix.IPPROTO_ESP:
		return len(ip) >= hl+8
	case unix.IPPROTO_UDP:
		u := ip[hl:]
		if len(u) < 8+8 || binary.BigEndian.Uint16(u[2:4]) != 4500 {
			return false
		}
		return binary.BigEndian.Uint32(u[8:12]) != 0
	}
	return false
}

// xferIPv4 returns the IPv4 packet in an Ethernet frame (trimmed to its total length).
func xferIPv4(frame []byte) ([]byte, bool) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:14]) != unix.ETH_P_IP {
		return nil, false
	}
	ip := frame[14:]
	hl := int(ip[0]&0xf) * 4
	tl := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[0]>>4 != 4 || hl < 20 || tl < hl || tl > len(ip) {
		return nil, false
	}
	return ip[:tl], true
}

// xferFixUDPChecksum recomputes the UDP checksum of an IPv4/UDP frame. A frame captured on the
// receiving veth may carry only the partial checksum of a sender using checksum offload; sent
// again from a packet socket it would be dropped as corrupt before reaching the ESP code.
func xferFixUDPChecksum(frame []byte) {
	ip, ok := xferIPv4(frame)
	if !ok || ip[9] != unix.IPPROTO_UDP {
		return
	}
	hl := int(ip[0]&0xf) * 4
	u := ip[hl:]
	u[6], u[7] = 0, 0
	var s uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			s += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			s += uint32(b[0]) << 8
		}
	}
	add(ip[12:20])
	s += unix.IPPROTO_UDP + uint32(len(u))
	add(u)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	c := ^uint16(s)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:8], c)
}

// xferUDPListen opens a UDP socket on addr inside ns.
func xferUDPListen(ns *netns.NS, addr netip.Addr) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := ns.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	return c, err
}

package tunudp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

type sockKind uint8

const (
	kindIKE  sockKind = iota // UDP port 500: IKE only
	kindNATT                 // UDP port 4500: IKE with non-ESP marker, keepalives, ESP
	kindRaw                  // IP protocol 50
)

// batchConn is implemented by ipv4.PacketConn and ipv6.PacketConn (their Message types are the
// same type): recvmmsg/sendmmsg.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// sock is one listening socket.
type sock struct {
	kind  sockKind
	local netip.AddrPort // port 0 for raw sockets
	conn  net.PacketConn
	udp   *net.UDPConn // nil for raw
	bc    batchConn
	v4    bool
	gso   atomic.Bool // UDP_SEGMENT usable
	gro   bool        // UDP_GRO enabled: messages may hold several datagrams
	// groMsgs counts received messages that held more than one datagram.
	groMsgs atomic.Uint64
}

// Socket buffer sizes. The NAT-T and raw sockets carry all ESP of their address, received by
// one goroutine that also decrypts: a deep receive queue absorbs the bursts it cannot drain
// at once (TCP through the tunnel sees every overflow as a loss).
const (
	sockBufBytes = 4 << 20
	espRcvBytes  = 32 << 20
)

// setBuffers sets the receive and send buffers; as root SO_*BUFFORCE goes past the sysctl
// maximum, otherwise the kernel caps them at net.core.{r,w}mem_max.
func setBuffers(c syscall.Conn, rcv, snd int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		for _, o := range [][3]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, rcv}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, snd}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], o[2]) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[1], o[2])
			}
		}
	})
}

func openUDP(kind sockKind, a netip.AddrPort) (*sock, error) {
	network := "udp4"
	if a.Addr().Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(a))
	if err != nil {
		return nil, err
	}
	rcv := sockBufBytes
	if kind == kindNATT {
		rcv = espRcvBytes
	}
	setBuffers(c, rcv, sockBufBytes)
	s := &sock{kind: kind, local: a, conn: c, udp: c, v4: a.Addr().Is4()}
	s.gso.Store(kind == kindNATT && gsoSupported(c))
	s.gro = kind == kindNATT && enableGRO(c)
	if s.v4 {
		s.bc = ipv4.NewPacketConn(c)
	} else {
		s.bc = ipv6.NewPacketConn(c)
	}
	return s, nil
}

func openRaw(a netip.Addr) (*sock, error) {
	network := "ip4:50"
	if a.Is6() {
		network = "ip6:50"
	}
	c, err := net.ListenIP(network, &net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()})
	if err != nil {
		return nil, err
	}
	setBuffers(c, espRcvBytes, sockBufBytes)
	s := &sock{kind: kindRaw, local: netip.AddrPortFrom(a, 0), conn: c, v4: a.Is4()}
	if s.v4 {
		s.bc = ipv4.NewPacketConn(c)
	} else {
		s.bc = ipv6.NewPacketConn(c)
	}
	return s, nil
}

// sockSet is an immutable snapshot of the listening sockets, replaced on Listen.
type sockSet struct {
	ike, natt, raw map[netip.Addr]*sock
	all            []*sock
}

func (s *sockSet) clone() *sockSet {
	n := &sockSet{ike: map[netip.Addr]*sock{}, natt: map[netip.Addr]*sock{}, raw: map[netip.Addr]*sock{}}
	for _, x := range s.all {
		n.add(x)
	}
	return n
}

func (s *sockSet) add(x *sock) {
	switch x.kind {
	case kindIKE:
		s.ike[x.local.Addr()] = x
	case kindNATT:
		s.natt[x.local.Addr()] = x
	case kindRaw:
		s.raw[x.local.Addr()] = x
	}
	s.all = append(s.all, x)
}

// pick returns the socket of a kind bound to a; if a is unspecified or not listened on, the
// first socket of the same family.
func (s *sockSet) pick(m map[netip.Addr]*sock, a netip.Addr) *sock {
	a = a.Unmap()
	if x := m[a]; x != nil {
		return x
	}
	if a.IsValid() && !a.IsUnspecified() {
		return nil
	}
	for _, x := range s.all {
		if m[x.local.Addr()] == x && x.v4 == (!a.IsValid() || a.Is4()) {
			return x
		}
	}
	return nil
}

var errNoSocket = errors.New("tunudp: no socket for local address")

func sockErr(kind string, a netip.AddrPort) error {
	return fmt.Errorf("%w %v (%s)", errNoSocket, a, kind)
}

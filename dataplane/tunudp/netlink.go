package tunudp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// Minimal rtnetlink client for setting the TUN device up: bring a link up and give it an
// address. Each call opens a short-lived NETLINK_ROUTE socket in the calling thread's
// namespace (callers run inside netnsHandle.do). Routes have their own client (routes.go).

type nlAttr struct {
	typ  uint16
	data []byte
}

func nlRequest(typ, flags uint16, body []byte, attrs []nlAttr) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, 256)
	msg = append(msg, body...)
	for _, a := range attrs {
		l := unix.SizeofRtAttr + len(a.data)
		msg = binary.NativeEndian.AppendUint16(msg, uint16(l))
		msg = binary.NativeEndian.AppendUint16(msg, a.typ)
		msg = append(msg, a.data...)
		for len(msg)%4 != 0 {
			msg = append(msg, 0)
		}
	}
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink recv: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("netlink parse: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return syscall.Errno(-e)
				}
				return nil
			}
		}
	}
}

// linkUp sets IFF_UP on the interface.
func linkUp(index int) error {
	body := make([]byte, unix.SizeofIfInfomsg)
	body[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(body[4:], uint32(index))
	binary.NativeEndian.PutUint32(body[8:], unix.IFF_UP)  // flags
	binary.NativeEndian.PutUint32(body[12:], unix.IFF_UP) // change mask
	if err := nlRequest(unix.RTM_NEWLINK, 0, body, nil); err != nil {
		return fmt.Errorf("link %d up: %w", index, err)
	}
	return nil
}

// addrAdd assigns a prefix to the interface.
func addrAdd(index int, p netip.Prefix) error {
	body := make([]byte, unix.SizeofIfAddrmsg)
	fam := uint8(unix.AF_INET)
	if p.Addr().Is6() {
		fam = unix.AF_INET6
	}
	body[0] = fam
	body[1] = uint8(p.Bits())
	binary.NativeEndian.PutUint32(body[4:], uint32(index))
	a := p.Addr().AsSlice()
	err := nlRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body,
		[]nlAttr{{unix.IFA_LOCAL, a}, {unix.IFA_ADDRESS, a}})
	if err != nil {
		return fmt.Errorf("address %v: %w", p, err)
	}
	return nil
}

// routeProto marks routes installed by Vigil (as "ip route" shows them: proto 0x56 'V').
const routeProto = 0x56

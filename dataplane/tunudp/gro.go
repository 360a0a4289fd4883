package tunudp

import (
	"encoding/binary"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic receive offload (UDP_GRO socket option, Linux 5.0): the kernel may hand the
// socket a run of datagrams of one flow as a single "super-datagram" whose payloads are
// concatenated, with a UDP_GRO control message carrying the segment size. Every segment but
// the last has exactly that size. GSO packets sent by a peer on the same host (veth) arrive
// this way without ever being cut up, as do runs the receiving NIC's GRO merged; each queued
// super-datagram costs the socket's receive buffer one skb instead of dozens.

// groOOBSize is the control buffer per received message: room for the UDP_GRO message (an
// int) with space to spare for any other message the kernel might add.
const groOOBSize = 64

// enableGRO turns UDP_GRO on for c and reports whether the kernel accepted it.
func enableGRO(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	})
	return ok
}

var (
	cmsgHdrLen   = unix.CmsgLen(0)                       // aligned header length
	cmsgAlign    = unix.CmsgSpace(1) - unix.CmsgSpace(0) // alignment of control messages
	cmsgLenBytes = int(unsafe.Sizeof(unix.Cmsghdr{}.Len))
)

// groSegmentSize returns the segment size from a UDP_GRO control message in oob (the control
// data received with one datagram), or 0 when there is none or it is malformed.
func groSegmentSize(oob []byte) int {
	for len(oob) >= cmsgHdrLen {
		var l uint64
		if cmsgLenBytes == 8 {
			l = binary.NativeEndian.Uint64(oob)
		} else {
			l = uint64(binary.NativeEndian.Uint32(oob))
		}
		if l < uint64(cmsgHdrLen) || l > uint64(len(oob)) {
			return 0
		}
		level := int32(binary.NativeEndian.Uint32(oob[cmsgLenBytes:]))
		typ := int32(binary.NativeEndian.Uint32(oob[cmsgLenBytes+4:]))
		data := oob[cmsgHdrLen:l]
		if level == unix.SOL_UDP && typ == unix.UDP_GRO {
			switch {
			case len(data) >= 4: // the kernel sends an int
				return max(0, int(int32(binary.NativeEndian.Uint32(data))))
			case len(data) >= 2:
				return int(binary.NativeEndian.Uint16(data))
			}
			return 0
		}
		next := (int(l) + cmsgAlign - 1) &^ (cmsgAlign - 1)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return 0
}

// splitGRO appends to dst the datagrams a received payload holds: data cut into pieces of
// seg bytes, the last possibly shorter. A seg of zero or less, or one not smaller than data,
// means a single datagram. The pieces alias data and have no spare capacity.
func splitGRO(dst [][]byte, data []byte, seg int) [][]byte {
	if seg <= 0 || seg >= len(data) {
		return append(dst, data[:len(data):len(data)])
	}
	for len(data) > seg {
		dst = append(dst, data[:seg:seg])
		data = data[seg:]
	}
	return append(dst, data[:len(data):len(data)])
}

package tunudp

import (
	"errors"
	"net"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18): a run of equal-sized datagrams
// to one destination is handed to the kernel as a single message whose iovecs are the
// datagrams; the kernel (or the NIC) cuts it back into datagrams of the segment size. Sealed
// packets of a TCP flow (TSO super-packets split by the TUN library) come in such runs.
const (
	maxGSOSegments = 64
	maxGSOBytes    = 65000
)

// gsoSupported reports whether the socket accepts UDP_SEGMENT.
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// sendQueue collects the sealed packets of one batch for one socket.
type sendQueue struct {
	s      *sock
	pkts   [][]byte
	dsts   []net.Addr
	msgs   []ipv4.Message
	starts []int // index in pkts of each message's first packet
	oobs   [][]byte
}

func (q *sendQueue) add(pkt []byte, dst net.Addr) {
	q.pkts = append(q.pkts, pkt)
	q.dsts = append(q.dsts, dst)
}

func queueFor(l *[]*sendQueue, s *sock) *sendQueue {
	for _, q := range *l {
		if q.s == s {
			return q
		}
	}
	q := &sendQueue{s: s}
	*l = append(*l, q)
	return q
}

// build turns pkts[from:] into messages, merging runs when gso is set.
func (q *sendQueue) build(from int, gso bool) {
	q.msgs, q.starts = q.msgs[:0], q.starts[:0]
	for i := from; i < len(q.pkts); {
		j := i + 1
		seg := len(q.pkts[i])
		if gso {
			total := seg
			for j < len(q.pkts) && j-i < maxGSOSegments && q.dsts[j] == q.dsts[i] &&
				len(q.pkts[j]) <= seg && total+len(q.pkts[j]) <= maxGSOBytes {
				total += len(q.pkts[j])
				j++
				if len(q.pkts[j-1]) < seg { // only the last segment may be shorter
					break
				}
			}
		}
		m := ipv4.Message{Buffers: q.pkts[i:j], Addr: q.dsts[i]}
		if j-i > 1 {
			k := len(q.msgs)
			for len(q.oobs) <= k {
				q.oobs = append(q.oobs, make([]byte, unix.CmsgSpace(2)))
			}
			m.OOB = segmentCmsg(q.oobs[k], uint16(seg))
		}
		q.msgs = append(q.msgs, m)
		q.starts = append(q.starts, i)
		i = j
	}
}

// segmentCmsg writes a UDP_SEGMENT control message into b.
func segmentCmsg(b []byte, seg uint16) []byte {
	b = b[:unix.CmsgSpace(2)]
	clear(b)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = seg
	return b
}

// flush sends the queued packets and empties the queue. If a GSO message fails, GSO is turned
// off for the socket and the rest is sent datagram by datagram.
func (d *Dataplane) flushQueue(q *sendQueue) {
	gso := q.s.gso.Load()
	q.build(0, gso)
	for len(q.msgs) > 0 {
		n, err := q.s.bc.WriteBatch(q.msgs, 0)
		if err == nil && n == len(q.msgs) {
			break
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			if n < len(q.msgs) && len(q.msgs[n].Buffers) > 1 {
				d.log.Info("tunudp: UDP GSO failed, disabling it", "local", q.s.local, "err", err)
				q.s.gso.Store(false)
				q.build(q.starts[n], false)
				continue
			}
			d.stats.Inc(sad.CSendErrors, 1)
			d.log.Debug("tunudp: send", "err", err)
			n++ // skip the failing datagram
		}
		if n <= 0 {
			n = 1
		}
		if n >= len(q.msgs) {
			break
		}
		q.msgs = q.msgs[n:]
		q.starts = q.starts[n:]
	}
	clear(q.pkts)
	clear(q.dsts)
	q.pkts, q.dsts = q.pkts[:0], q.dsts[:0]
	for i := range q.msgs {
		q.msgs[i] = ipv4.Message{}
	}
}

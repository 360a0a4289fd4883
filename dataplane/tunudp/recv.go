package tunudp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

// maxSpare bounds the buffers a receive worker keeps for datagrams split off GRO messages;
// when a message needs more than are free, the inner packets queued so far are written to
// the TUN device first. The kernel merges at most 64 datagrams into one message.
const maxSpare = 128

// receiver is one receive worker on one socket.
type receiver struct {
	d    *Dataplane
	s    *sock
	msgs []ipv4.Message
	bufs [][]byte // the receive buffer of each message
	segs [][]byte // scratch: the datagrams of one GRO message
	// spare are buffers of their own for the datagrams after the first of a GRO message: the
	// TUN library appends merged TCP segments to a packet's buffer, so every inner packet of
	// a write needs a buffer (and headroom) of its own. Allocated on first use.
	spare [][]byte
	used  int      // spare[:used] hold packets queued in out
	out   [][]byte // inner packets for the next TUN write, each with tunWriteOffset headroom
	t     sad.Tally
	max   int // the batch's largest size
}

// A receiver starts with one message buffer (64 KiB: a GRO message) and doubles its batch,
// up to espBatch (ikeBatch for IKE), whenever a read fills the whole batch. A gateway with
// 1,000 local addresses has three sockets on each, and most of them carry little: a full
// batch per socket from the start would hold 8.5 MiB per address.
func newReceiver(d *Dataplane, s *sock) *receiver {
	r := &receiver{d: d, s: s, max: espBatch}
	if s.kind == kindIKE {
		r.max = ikeBatch
	}
	r.grow(1)
	return r
}

// grow makes the batch n messages long (at the loop's top: no buffer is in use).
func (r *receiver) grow(n int) {
	for len(r.msgs) < n {
		buf := make([]byte, recvBufSize)
		m := ipv4.Message{Buffers: [][]byte{buf}}
		if r.s.gro {
			m.OOB = make([]byte, groOOBSize)
		}
		r.bufs = append(r.bufs, buf)
		r.msgs = append(r.msgs, m)
	}
}

// recvLoop receives datagrams on one socket: IKE goes to the handler, ESP is opened and the
// inner packets written to the TUN device.
func (d *Dataplane) recvLoop(s *sock) {
	defer d.wg.Done()
	newReceiver(d, s).run()
}

func (r *receiver) run() {
	for {
		k, err := r.s.bc.ReadBatch(r.msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				r.d.fail(fmt.Sprintf("receive on %v", r.s.local), err)
				return
			}
			r.d.log.Debug("tunudp: receive", "local", r.s.local, "err", err)
			continue
		}
		now := time.Now().UnixNano()
		merged := 0
		for i := range k {
			m := &r.msgs[i]
			src := sourceOf(m.Addr)
			seg := 0
			if r.s.gro && m.NN > 0 {
				seg = groSegmentSize(m.OOB[:m.NN])
			}
			if seg <= 0 || seg >= m.N {
				r.datagram(r.bufs[i], 0, m.N, src, now, false)
				continue
			}
			r.segs = splitGRO(r.segs[:0], r.bufs[i][:m.N], seg)
			merged++
			if r.used > 0 && r.used+len(r.segs)-1 > maxSpare && !r.flush() {
				r.d.fail("TUN write", os.ErrClosed)
				return
			}
			// The first datagram is opened in place; the TUN library may then grow its inner
			// packet over the rest of the buffer, which by then has been copied or handled.
			off := 0
			for j, p := range r.segs {
				r.datagram(r.bufs[i], off, len(p), src, now, j > 0)
				off += len(p)
			}
			clear(r.segs)
		}
		if !r.flush() {
			r.d.fail("TUN write", os.ErrClosed)
			return
		}
		if merged > 0 {
			r.s.groMsgs.Add(uint64(merged))
		}
		r.d.stats.Add(&r.t)
		if k == len(r.msgs) && k < r.max {
			r.grow(min(2*k, r.max))
		}
	}
}

// datagram handles the datagram at buf[off:off+n]: IKE, a keepalive or ESP. Inner packets
// are queued in r.out; with own the ESP packet is first copied into a spare buffer.
func (r *receiver) datagram(buf []byte, off, n int, src netip.AddrPort, now int64, own bool) {
	data := buf[off : off+n]
	switch r.s.kind {
	case kindIKE:
		r.d.deliverIKE(r.s.local, src, data, &r.t)
		return
	case kindNATT:
		if len(data) == 1 && data[0] == 0xff {
			r.t[sad.CKeepalives]++
			return
		}
		if len(data) >= 4 && data[0]|data[1]|data[2]|data[3] == 0 {
			r.d.deliverIKE(r.s.local, src, data[4:], &r.t)
			return
		}
	case kindRaw:
		if r.s.v4 {
			if len(data) < 20 || int(data[0]&0xf)*4 > len(data) {
				r.t.Drop(sad.DropMalformed)
				return
			}
			hl := int(data[0]&0xf) * 4
			off, n = off+hl, n-hl
		}
	}
	if own {
		if r.used == len(r.spare) {
			r.spare = append(r.spare, make([]byte, recvBufSize))
		}
		sp := r.spare[r.used]
		copy(sp, buf[off:off+n])
		buf, off = sp, 0
	}
	// pkt keeps the capacity up to the end of buf, so the inner packet's position in buf
	// follows from its capacity.
	inner, _, drop := r.d.db.Open(buf[off:off+n], src, r.s.local, now, &r.t)
	if drop != sad.DropNone {
		return
	}
	start := len(buf) - cap(inner) // inner aliases buf
	if len(inner) == 0 || start < tunWriteOffset || &buf[start] != &inner[0] {
		r.t.Drop(sad.DropMalformed)
		return
	}
	r.out = append(r.out, buf[start-tunWriteOffset:start+len(inner)])
	if own {
		r.used++
	}
}

// flush writes the queued inner packets to the TUN device and frees the spare buffers. It
// reports false when the device is closed.
func (r *receiver) flush() bool {
	if len(r.out) > 0 {
		if _, err := r.d.tun.Write(r.out, tunWriteOffset); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return false
			}
			r.t[sad.CSendErrors]++
			r.d.log.Debug("tunudp: TUN write", "err", err)
		}
		clear(r.out)
		r.out = r.out[:0]
	}
	r.used = 0
	return true
}

package tunudp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
)

const (
	// tunHeadroom is where inner packets are read into TUN buffers: room for the largest ESP
	// header (8 + 16-byte IV) in front, so sealing happens in place.
	tunHeadroom = 32
	// tunTail is spare capacity after the largest inner packet for padding, trailer and ICV.
	tunTail = 128
	// tunWriteOffset is the headroom handed to tun.Device.Write (at least the virtio-net
	// header). Opened ESP leaves at least 16 bytes (SPI, sequence, 8-byte IV) before the inner
	// packet.
	tunWriteOffset = 16
	// recvBufSize holds the largest UDP datagram; big buffers also let the TUN library
	// coalesce TCP segments into one super-packet (GRO) when writing.
	recvBufSize = 65536
	espBatch    = 64
	ikeBatch    = 8
	// maxReadFailures consecutive failed reads without a packet mean the device or socket is
	// broken for good: the worker stops and reports the failure instead of spinning.
	maxReadFailures = 10000
)

// tunLoop reads inner packets from the TUN device, seals them and sends them.
func (d *Dataplane) tunLoop() {
	defer d.wg.Done()
	n := d.tun.BatchSize()
	bufSize := tunHeadroom + d.cfg.MTU + tunTail
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, bufSize)
	}
	sizes := make([]int, n)
	var queues []*sendQueue
	addrCache := map[netip.AddrPort]net.Addr{}
	var t sad.Tally
	failures := 0 // consecutive reads that failed without a packet
	for {
		k, err := d.tun.Read(bufs, sizes, tunHeadroom)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
				// Close closed the device, or it went away under us (EBADFD).
				d.fail("TUN read", err)
				return
			}
			d.stats.Inc(sad.CMalformed, 1)
			d.log.Debug("tunudp: TUN read", "err", err)
			if k == 0 {
				if failures++; failures >= maxReadFailures {
					d.fail(fmt.Sprintf("TUN read failed %d times in a row", failures), err)
					return
				}
				continue
			}
		}
		failures = 0
		now := time.Now().UnixNano()
		for i := range k {
			pkt := bufs[i][tunHeadroom : tunHeadroom+sizes[i]]
			sa, drop := d.db.Route(pkt, now, &t)
			if drop != sad.DropNone {
				continue
			}
			out, s, dst, ok := d.seal(sa, bufs[i][:cap(bufs[i])], tunHeadroom, len(pkt), now, &t, addrCache)
			if !ok {
				continue
			}
			queueFor(&queues, s).add(out, dst)
		}
		for _, q := range queues {
			if len(q.pkts) > 0 {
				d.flushQueue(q)
			}
		}
		d.stats.Add(&t)
		if len(addrCache) > 4096 {
			clear(addrCache)
		}
	}
}

// seal encapsulates the inner packet at buf[off:off+n] in place for sa and picks the socket
// and destination to send it with. Packets too big for the path are answered with ICMP.
func (d *Dataplane) seal(sa *sad.OutSA, buf []byte, off, n int, now int64, t *sad.Tally,
	cache map[netip.AddrPort]net.Addr) ([]byte, *sock, net.Addr, bool) {
	remote := sa.Remote()
	raw := sa.Encap() == dataplane.EncapRaw
	outer := 20
	if remote.Addr().Unmap().Is6() {
		outer = 40
	}
	if !raw {
		outer += 8
	}
	pkt := buf[off : off+n]
	if limit := d.cfg.LinkMTU - outer - sa.Overhead(); n > limit && mustNotFragment(pkt, limit) {
		d.packetTooBig(pkt, limit)
		t.Drop(sad.DropTooBig)
		return nil, nil, nil, false
	}
	ss := d.socks.Load()
	var s *sock
	if raw {
		s = ss.pick(ss.raw, sa.Local().Addr())
	} else {
		s = ss.pick(ss.natt, sa.Local().Addr())
	}
	if s == nil {
		t.Drop(sad.DropNoRoute)
		return nil, nil, nil, false
	}
	hl := sa.HeaderLen()
	region := buf[off-hl:]
	out, drop := sa.Seal(region[:0], region[hl:hl+n], now, t)
	if drop != sad.DropNone {
		return nil, nil, nil, false
	}
	var dst net.Addr
	if cache != nil {
		dst = cache[remote]
	}
	if dst == nil {
		r := unmapAP(remote)
		if raw {
			dst = &net.IPAddr{IP: r.Addr().AsSlice()}
		} else {
			dst = net.UDPAddrFromAddrPort(r)
		}
		if cache != nil {
			cache[remote] = dst
		}
	}
	return out, s, dst, true
}

// flush seals and sends packets released from a policy's hold queue (control-plane goroutine).
func (d *Dataplane) flush(sa *sad.OutSA, pkts [][]byte) {
	now := time.Now().UnixNano()
	var t sad.Tally
	for _, p := range pkts {
		buf := make([]byte, tunHeadroom+len(p)+tunTail)
		copy(buf[tunHeadroom:], p)
		out, s, dst, ok := d.seal(sa, buf, tunHeadroom, len(p), now, &t, nil)
		if ok {
			q := &sendQueue{s: s}
			q.add(out, dst)
			d.flushQueue(q)
		}
	}
	d.stats.Add(&t)
}

func (d *Dataplane) deliverIKE(local, remote netip.AddrPort, msg []byte, t *sad.Tally) {
	t[sad.CIKEIn]++
	// Publish this batch's counters so far: whoever reacts to the message sees the packets
	// that arrived before it counted.
	d.stats.Add(t)
	if d.h != nil {
		d.h(local, remote, msg)
	}
}

func sourceOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case *net.IPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return netip.AddrPortFrom(ip.Unmap(), 0)
	}
	return netip.AddrPort{}
}

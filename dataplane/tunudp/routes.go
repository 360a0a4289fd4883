package tunudp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// The routes into the TUN device follow the policies (policy.go decides which prefixes need
// one). One goroutine, the router, applies the changes: it runs on an OS thread locked in the
// dataplane's namespace for its whole life, owns one netlink socket, and sends the changes
// queued meanwhile in one message of up to maxRouteBatch requests. A gateway that starts with
// 100,000 tunnels thus installs 100,000 routes in some hundred system calls, and SetPolicy
// does not wait for the kernel.

// maxRouteBatch bounds the route requests in one netlink message (and the acknowledgements
// the socket buffers at once).
const maxRouteBatch = 256

// addrCacheAge: how long the router reuses the host's address list to pick preferred source
// addresses (reading it is a netlink dump of every address).
const addrCacheAge = time.Second

// routeOp is one change for the router: add a route to dst (with a preferred source address
// from local), delete it, or, with done set, only report (closing done) that every change
// queued before it is applied.
type routeOp struct {
	add   bool
	dst   netip.Prefix
	local []dataplane.Selector
	done  chan struct{}
}

// router owns the kernel's routes of the dataplane.
type router struct {
	mu      sync.Mutex
	pending []routeOp // queued, not yet taken by run
	closing bool
	wake    chan struct{} // 1-buffered: pending or closing changed
	stopped chan struct{}

	log      *slog.Logger
	tunIndex int

	fd int // NETLINK_ROUTE socket
	// failed: routes whose addition the kernel refused, so that their removal is not sent
	// (the dataplane counts the references of every route; the router keeps only this).
	failed  map[netip.Prefix]struct{}
	addrs   []netip.Addr // this host's addresses, read at addrsAt
	addrsAt time.Time
	seq     uint32
	out, in []byte // requests sent, answers read
}

// startRouter starts the router in namespace ns for the TUN device tunIndex.
func startRouter(ns *netnsHandle, tunIndex int, log *slog.Logger) (*router, error) {
	r := &router{wake: make(chan struct{}, 1), stopped: make(chan struct{}), log: log,
		tunIndex: tunIndex, failed: map[netip.Prefix]struct{}{}, in: make([]byte, 1<<16)}
	started := make(chan error, 1)
	go func() {
		defer close(r.stopped)
		// Never unlocked: the runtime discards the thread (and its namespace) with the goroutine.
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.f.Fd()), unix.CLONE_NEWNET); err != nil {
			started <- fmt.Errorf("tunudp: setns: %w", err)
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
			if err != nil {
				unix.Close(fd)
			}
		}
		if err != nil {
			started <- fmt.Errorf("tunudp: netlink socket: %w", err)
			return
		}
		r.fd = fd
		defer unix.Close(fd)
		started <- nil
		r.run()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return r, nil
}

// enqueue hands ops to the router, in order. It never waits: the queue is unbounded, so
// that a gateway registering 100,000 tunnels is not held up by the kernel.
func (r *router) enqueue(ops ...routeOp) {
	r.mu.Lock()
	r.pending = append(r.pending, ops...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// sync waits until every change queued so far is applied.
func (r *router) sync() {
	done := make(chan struct{})
	r.enqueue(routeOp{done: done})
	<-done
}

// stop applies what is queued and ends the router. The dataplane queues the removal of its
// routes first. Nothing may be queued after.
func (r *router) stop() {
	r.mu.Lock()
	r.closing = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.stopped
}

func (r *router) run() {
	for {
		<-r.wake
		r.mu.Lock()
		ops, closing := r.pending, r.closing
		r.pending = nil
		r.mu.Unlock()
		for len(ops) > 0 {
			n := min(len(ops), maxRouteBatch)
			r.apply(ops[:n])
			ops = ops[n:]
		}
		ops = nil // do not keep the batch's array while idle
		if closing {
			return
		}
	}
}

// apply sends the route changes of batch in one netlink message, reads the answers, and then
// closes the done channels of the sync markers in it.
func (r *router) apply(batch []routeOp) {
	if time.Since(r.addrsAt) > addrCacheAge && hasAdd(batch) {
		r.addrs = hostAddrs()
		r.addrsAt = time.Now()
	}
	msg := r.out[:0]
	type pending struct {
		op  routeOp
		src netip.Addr
	}
	sent := map[uint32]pending{}
	for _, op := range batch {
		if op.done != nil {
			continue
		}
		var src netip.Addr // a removal needs none: the kernel matches on the rest
		if op.add {
			v4, v6 := pickSource(op.local, r.addrs)
			src = v4
			if op.dst.Addr().Is6() {
				src = v6
			}
		} else if _, failed := r.failed[op.dst]; failed {
			delete(r.failed, op.dst) // its addition failed: nothing to remove
			continue
		}
		r.seq++
		msg = appendRouteMsg(msg, r.seq, op.add, r.tunIndex, op.dst, src)
		sent[r.seq] = pending{op, src}
	}
	r.out = msg
	if len(sent) > 0 {
		errs := r.roundTrip(msg, len(sent))
		for seq, p := range sent {
			err, answered := errs[seq]
			switch {
			case !answered:
				err = errors.New("no answer from the kernel")
			case !p.op.add && errors.Is(err, unix.ESRCH):
				err = nil // someone removed it already
			}
			if err != nil {
				r.log.Warn("route change failed", "op", opName(p.op.add), "dst", p.op.dst, "dev", r.tunIndex, "err", err)
			}
			if p.op.add && err != nil {
				r.failed[p.op.dst] = struct{}{}
			} else if p.op.add {
				delete(r.failed, p.op.dst)
			}
		}
	}
	for _, op := range batch {
		if op.done != nil {
			close(op.done)
		}
	}
}

func hasAdd(batch []routeOp) bool {
	for _, op := range batch {
		if op.add {
			return true
		}
	}
	return false
}

func opName(add bool) string {
	if add {
		return "add"
	}
	return "delete"
}

// roundTrip sends msg (n requests, each asking for an acknowledgement) and returns the
// outcome by sequence number: nil for success.
func (r *router) roundTrip(msg []byte, n int) map[uint32]error {
	out := make(map[uint32]error, n)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return out
	}
	for len(out) < n {
		k, _, err := unix.Recvfrom(r.fd, r.in, 0)
		if err != nil {
			return out
		}
		msgs, err := syscall.ParseNetlinkMessage(r.in[:k])
		if err != nil {
			return out
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			var err error
			if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
				err = syscall.Errno(-e)
			}
			out[m.Header.Seq] = err
		}
	}
	return out
}

// appendRouteMsg appends an RTM_NEWROUTE (add, replacing) or RTM_DELROUTE request for dst
// through interface index, with an optional preferred source address.
func appendRouteMsg(msg []byte, seq uint32, add bool, index int, dst netip.Prefix, src netip.Addr) []byte {
	start := len(msg)
	msg = append(msg, make([]byte, unix.NLMSG_HDRLEN+unix.SizeofRtMsg)...)
	body := msg[start+unix.NLMSG_HDRLEN:]
	body[0] = unix.AF_INET
	if dst.Addr().Is6() {
		body[0] = unix.AF_INET6
	}
	body[1] = uint8(dst.Bits())
	body[4] = unix.RT_TABLE_MAIN
	body[5] = routeProto
	body[6] = unix.RT_SCOPE_LINK
	body[7] = unix.RTN_UNICAST
	attr := func(typ uint16, data []byte) {
		msg = binary.NativeEndian.AppendUint16(msg, uint16(unix.SizeofRtAttr+len(data)))
		msg = binary.NativeEndian.AppendUint16(msg, typ)
		msg = append(msg, data...)
		for len(msg)%4 != 0 {
			msg = append(msg, 0)
		}
	}
	attr(unix.RTA_DST, dst.Masked().Addr().AsSlice())
	attr(unix.RTA_OIF, binary.NativeEndian.AppendUint32(nil, uint32(index)))
	if src.IsValid() && src.Is4() == dst.Addr().Is4() {
		attr(unix.RTA_PREFSRC, src.AsSlice())
	}
	typ, flags := uint16(unix.RTM_NEWROUTE), uint16(unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	if !add {
		typ, flags = unix.RTM_DELROUTE, 0
	}
	h := msg[start:]
	binary.NativeEndian.PutUint32(h[0:], uint32(len(msg)-start))
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(h[8:], seq)
	return msg
}

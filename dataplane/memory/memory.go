package memory

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
	"github.com/vigil-ipsec/vigil/dataplane/sad"
	"github.com/vigil-ipsec/vigil/dataplane/sad/espsa"
)

// Queue sizes of an attached dataplane.
const (
	IKEQueueLen      = 256  // IKE messages waiting for the handler
	ReceivedQueueLen = 1024 // inner packets waiting on Received
)

// ErrHeld is returned by Inject and SendInner when the packet was queued on a policy that has
// no SA yet; it is sent when the SA arrives.
var ErrHeld error = sad.DropHeld

// ErrClosed is returned after Close.
var ErrClosed = errors.New("memory: dataplane closed")

// Options tune an attached dataplane; the zero value gives the defaults.
type Options struct {
	UnknownSPI sad.UnknownSPILimits
	QueueLen   int // policy hold queue (default sad.DefaultQueueLen)
	// IKEQueueLen is how many received IKE messages may wait for the handler (default
	// IKEQueueLen); beyond it they are dropped, like datagrams on a full socket buffer.
	IKEQueueLen int
	// Deliver, if set, receives decrypted inner packets instead of the Received channel; the
	// slice is only valid during the call (benchmarks use it to avoid a copy per packet).
	Deliver func(inner []byte)
}

// Dataplane is an in-memory dataplane.Dataplane attached to a Network.
type Dataplane struct {
	net     *Network
	db      *sad.DB
	h       dataplane.IKEHandler
	deliver func([]byte)

	ike        chan ikeMsg
	received   chan []byte
	dropIKE    atomic.Pointer[func(local, remote netip.AddrPort, msg []byte) bool]
	offline    atomic.Bool   // cut off the network (SetOffline)
	keepalives atomic.Uint64 // NAT keepalives sent

	mu     sync.Mutex
	addrs  map[netip.Addr]bool
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup

	recvDrops atomic.Uint64

	failed   chan error // buffered, one error
	failOnce sync.Once
}

var _ dataplane.Dataplane = (*Dataplane)(nil)

type ikeMsg struct {
	local, remote netip.AddrPort
	msg           []byte
	at            time.Time // delivery time (Network.SetIKELatency); zero: at once
}

// Attach creates a dataplane listening on addrs whose received IKE messages go to h.
func (n *Network) Attach(addrs []netip.Addr, h dataplane.IKEHandler) *Dataplane {
	return n.AttachWith(addrs, h, Options{})
}

// AttachWith is Attach with options.
func (n *Network) AttachWith(addrs []netip.Addr, h dataplane.IKEHandler, o Options) *Dataplane {
	d := &Dataplane{
		net: n, h: h, deliver: o.Deliver,
		ike:      make(chan ikeMsg, cmp.Or(max(o.IKEQueueLen, 0), IKEQueueLen)),
		received: make(chan []byte, ReceivedQueueLen),
		addrs:    map[netip.Addr]bool{},
		done:     make(chan struct{}),
		failed:   make(chan error, 1),
	}
	db, err := sad.New(sad.Config{
		Provider: espsa.Provider{}, UnknownSPI: o.UnknownSPI, QueueLen: o.QueueLen,
		Flush: d.flush,
	})
	if err != nil {
		panic(err) // only a missing Provider fails, and it is set above
	}
	d.db = db
	for _, a := range addrs {
		d.addrs[a.Unmap()] = true
		n.listen(a, d)
	}
	d.wg.Add(1)
	go d.ikeLoop()
	return d
}

func (d *Dataplane) ikeLoop() {
	defer d.wg.Done()
	for {
		select {
		case m := <-d.ike:
			if !d.wait(m.at) {
				return
			}
			if d.offline.Load() { // cut off while the message was on its way
				d.db.Stats().Inc(sad.CIKEDrops, 1)
				continue
			}
			if d.h != nil {
				d.h(m.local, m.remote, m.msg)
			}
			d.db.Stats().Inc(sad.CIKEIn, 1)
		case <-d.done:
			return
		}
	}
}

// DB exposes the SA database (for white-box tests).
func (d *Dataplane) DB() *sad.DB { return d.db }

// AddSA installs one direction of a Child SA.
func (d *Dataplane) AddSA(c dataplane.SAConfig) error { return d.db.AddSA(c) }

// DeleteSA removes an SA.
func (d *Dataplane) DeleteSA(r dataplane.SARef) error { return d.db.DeleteSA(r) }

// SAStats reports counters of an installed SA.
func (d *Dataplane) SAStats(r dataplane.SARef) (dataplane.Stats, bool) { return d.db.SAStats(r) }

// UpdateRemote changes the outer remote address of a Child SA's SAs.
func (d *Dataplane) UpdateRemote(child uint64, remote netip.AddrPort) error {
	return d.db.UpdateRemote(child, remote)
}

// Failed delivers the error passed to Fail.
func (d *Dataplane) Failed() <-chan error { return d.failed }

// Fail simulates a dataplane failure (a dead worker): err is delivered on Failed (only the
// first one). The dataplane keeps working otherwise.
func (d *Dataplane) Fail(err error) {
	d.failOnce.Do(func() { d.failed <- err })
}

// SAs lists the installed SAs with their counters.
func (d *Dataplane) SAs() []sad.SAInfo { return d.db.SAs() }

// SetPolicy adds or replaces a tunnel's policy.
func (d *Dataplane) SetPolicy(p dataplane.Policy) error { return d.db.SetPolicy(p) }

// DeletePolicy removes a tunnel's policy.
func (d *Dataplane) DeletePolicy(tunnel string) error { return d.db.DeletePolicy(tunnel) }

// WatchSA asks for an EventActive with the SA's next packet.
func (d *Dataplane) WatchSA(r dataplane.SARef, since time.Time) (bool, error) {
	return d.db.WatchSA(r, since)
}

// SetPolicies adds or replaces many tunnels' policies as one change.
func (d *Dataplane) SetPolicies(ps []dataplane.Policy) error { return d.db.SetPolicies(ps) }

// DeletePolicies removes many tunnels' policies as one change.
func (d *Dataplane) DeletePolicies(tunnels []string) error { return d.db.DeletePolicies(tunnels) }

// Events delivers dataplane events.
func (d *Dataplane) Events() <-chan dataplane.Event { return d.db.Events() }

// Counters returns the global counters.
func (d *Dataplane) Counters() sad.Counters { return d.db.Stats().Snapshot() }

// ReceivedDrops counts inner packets lost because Received was full.
func (d *Dataplane) ReceivedDrops() uint64 { return d.recvDrops.Load() }

// Received delivers copies of the inner packets decrypted by this dataplane.
func (d *Dataplane) Received() <-chan []byte { return d.received }

// Listen adds addr to the addresses this dataplane receives on.
func (d *Dataplane) Listen(addr netip.Addr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.addrs[addr.Unmap()] = true
	d.net.listen(addr, d)
	return nil
}

// DropIKE installs a loss hook: SendIKE silently drops messages for which f returns true.
// f runs in the sender's goroutine; nil removes the hook.
func (d *Dataplane) DropIKE(f func(local, remote netip.AddrPort, msg []byte) bool) {
	if f == nil {
		d.dropIKE.Store(nil)
		return
	}
	d.dropIKE.Store(&f)
}

// SendIKE delivers msg to the handler of the dataplane listening on remote's address, as if
// it arrived on remote from local. Like UDP it succeeds when nobody listens (the message is
// counted as dropped); it fails if local is not one of this dataplane's addresses.
// SendKeepalive counts a NAT keepalive; there is no NAT in the memory network to keep.
func (d *Dataplane) SendKeepalive(local, remote netip.AddrPort) error {
	d.keepalives.Add(1)
	return nil
}

// Keepalives is the number of NAT keepalives sent.
func (d *Dataplane) Keepalives() uint64 { return d.keepalives.Load() }

func (d *Dataplane) SendIKE(local, remote netip.AddrPort, msg []byte) error {
	d.mu.Lock()
	closed, ok := d.closed, d.addrs[local.Addr().Unmap()]
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return fmt.Errorf("memory: SendIKE from %v: not a local address", local)
	}
	st := d.db.Stats()
	st.Inc(sad.CIKEOut, 1)
	if f := d.dropIKE.Load(); f != nil && (*f)(local, remote, msg) {
		st.Inc(sad.CIKEDrops, 1)
		return nil
	}
	peer := d.net.lookup(remote.Addr())
	if peer == nil || d.offline.Load() || peer.offline.Load() {
		st.Inc(sad.CIKEDrops, 1)
		return nil
	}
	m := ikeMsg{local: remote, remote: local, msg: append([]byte(nil), msg...)}
	if l := d.net.IKELatency(); l > 0 {
		m.at = time.Now().Add(l)
	}
	select {
	case peer.ike <- m:
	default:
		peer.db.Stats().Inc(sad.CIKEDrops, 1)
	}
	return nil
}

// Close detaches the dataplane from its network and stops its goroutines.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.net.detach(d)
	close(d.done)
	d.wg.Wait()
	d.db.Close()
	return nil
}

// bufPool holds packet buffers for sealing.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// Inject runs an inner IP packet through the outbound path as if read from a TUN device:
// policy lookup, ESP sealing, delivery to the peer dataplane owning the SA's remote address,
// and decryption there. It returns nil once the packet reached the peer's Received channel,
// ErrHeld if it was queued on a policy without SA, and otherwise the sad.Drop that stopped it
// (sad.DropNoRoute if this dataplane or the peer's is offline).
func (d *Dataplane) Inject(pkt []byte) error {
	now := time.Now().UnixNano()
	var t sad.Tally
	defer d.db.Stats().Add(&t)
	sa, drop := d.db.Route(pkt, now, &t)
	if drop != sad.DropNone {
		return drop
	}
	return d.sealSend(sa, pkt, now, &t)
}

// SendInner builds a UDP packet (ports 9 to 9) from src to dst carrying payload and Injects it.
func (d *Dataplane) SendInner(src, dst netip.Addr, payload []byte) error {
	pkt, err := BuildUDP(netip.AddrPortFrom(src, 9), netip.AddrPortFrom(dst, 9), payload)
	if err != nil {
		return err
	}
	return d.Inject(pkt)
}

func (d *Dataplane) sealSend(sa *sad.OutSA, pkt []byte, now int64, t *sad.Tally) error {
	hl := sa.HeaderLen()
	need := hl + len(pkt) + sa.Overhead()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if cap(*bp) < need {
		*bp = make([]byte, 0, need)
	}
	buf := (*bp)[:hl+len(pkt)]
	copy(buf[hl:], pkt)
	out, drop := sa.Seal(buf[:0], buf[hl:], now, t)
	if drop != sad.DropNone {
		return drop
	}
	c := sa.Config()
	peer := d.net.lookup(c.Remote.Addr())
	if peer == nil || d.offline.Load() || peer.offline.Load() {
		t.Drop(sad.DropNoRoute)
		return sad.DropNoRoute
	}
	return peer.receiveESP(out, c.Local, c.Remote, now)
}

// InjectESP runs an ESP packet (starting at the SPI) through the inbound path as if it
// arrived from src on our address dst. It returns nil if an inner packet was delivered, and
// sad.DropNoRoute while the dataplane is offline.
func (d *Dataplane) InjectESP(src, dst netip.AddrPort, pkt []byte) error {
	if d.offline.Load() {
		d.db.Stats().Inc(sad.CNoRoute, 1)
		return sad.DropNoRoute
	}
	return d.receiveESP(append([]byte(nil), pkt...), src, dst, time.Now().UnixNano())
}

// receiveESP decrypts pkt in place.
func (d *Dataplane) receiveESP(pkt []byte, src, dst netip.AddrPort, now int64) error {
	var t sad.Tally
	defer d.db.Stats().Add(&t)
	inner, _, drop := d.db.Open(pkt, src, dst, now, &t)
	if drop != sad.DropNone {
		return drop
	}
	if d.deliver != nil {
		d.deliver(inner)
		return nil
	}
	select {
	case d.received <- append([]byte(nil), inner...):
		return nil
	default:
		d.recvDrops.Add(1)
		return errors.New("memory: Received queue full")
	}
}

// flush sends packets released from a hold queue.
func (d *Dataplane) flush(sa *sad.OutSA, pkts [][]byte) {
	now := time.Now().UnixNano()
	var t sad.Tally
	for _, p := range pkts {
		_ = d.sealSend(sa, p, now, &t) // failures are counted
	}
	d.db.Stats().Add(&t)
}

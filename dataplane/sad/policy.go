package sad

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Policy is the runtime state of one tunnel's policy: its selectors (immutable), the
// outbound SA it currently resolves to, and its hold queue.
type Policy struct {
	// What a packet routed by the policy reads, at the front to share its first cache lines.
	sa atomic.Pointer[OutSA] // nil: hold
	// remoteAny: every remote selector covers all protocols and ports, so a packet found under
	// one of the policy's prefixes (which contain its destination) matches RemoteTS.
	remoteAny bool
	local0    dataplane.Selector // cfg.LocalTS[0], saves reading the selector array

	cfg  dataplane.Policy // selectors copied at SetPolicy, never mutated afterwards
	seq  uint64           // installation order, breaks ties between equally specific policies
	keys []pfxKey         // the prefixes it is filed under in the index (remoteKeys)

	lastAcquire   atomic.Int64 // unix nanos of the last EventAcquire
	acqSuppressed atomic.Uint64

	mu    sync.Mutex // guards the fields below
	queue [][]byte   // ring of held packets, drop-oldest
	head  int        // index of the oldest packet in queue
	n     int        // number of packets held
	next  *Policy    // set when SetPolicy replaced this policy; held packets go there
}

// Config returns a copy of the policy as installed.
func (p *Policy) Config() dataplane.Policy {
	c := p.cfg
	c.LocalTS = append([]dataplane.Selector(nil), c.LocalTS...)
	c.RemoteTS = append([]dataplane.Selector(nil), c.RemoteTS...)
	return c
}

// SA returns the outbound SA the policy currently uses (nil while it holds).
func (p *Policy) SA() *OutSA { return p.sa.Load() }

func newPolicy(cfg dataplane.Policy, seq uint64) *Policy {
	p := &Policy{cfg: cfg, seq: seq, keys: remoteKeys(cfg.RemoteTS), local0: cfg.LocalTS[0], remoteAny: true}
	for _, s := range cfg.RemoteTS {
		if s.Proto != 0 || s.StartPort != 0 || s.EndPort != 0xffff {
			p.remoteAny = false
		}
	}
	return p
}

// matchFiled reports whether an outbound packet's flow, found under one of the policy's
// prefixes, falls under the policy.
func (p *Policy) matchFiled(f *Flow) bool {
	return (p.remoteAny || matchAny(p.cfg.RemoteTS, f.Dst, f.Proto, f.DstPort, f.HasPorts)) &&
		p.matchLocal(f.Src, f.Proto, f.SrcPort, f.HasPorts)
}

// matchIn reports whether a decrypted inbound packet's flow falls under the policy.
func (p *Policy) matchIn(f *Flow) bool {
	return p.matchLocal(f.Dst, f.Proto, f.DstPort, f.HasPorts) &&
		matchAny(p.cfg.RemoteTS, f.Src, f.Proto, f.SrcPort, f.HasPorts)
}

// matchLocal reports whether LocalTS covers (a, proto, port).
func (p *Policy) matchLocal(a netip.Addr, proto uint8, port uint16, hasPorts bool) bool {
	return matchSel(&p.local0, a, proto, port, hasPorts) || matchAny(p.cfg.LocalTS[1:], a, proto, port, hasPorts)
}

// hold queues a copy of pkt. If the policy got an SA meanwhile it returns it instead and the
// caller seals the packet itself. Returns whether an older packet was dropped.
func (p *Policy) hold(pkt []byte, qlen int) (sa *OutSA, dropped bool) {
	p.mu.Lock()
	for p.next != nil {
		nx := p.next
		p.mu.Unlock()
		p = nx
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if sa := p.sa.Load(); sa != nil {
		return sa, false
	}
	if len(p.queue) < qlen {
		p.queue = append(p.queue, nil)
	}
	var slot int
	if p.n == qlen {
		slot = p.head
		p.head = (p.head + 1) % qlen
		dropped = true
	} else {
		slot = (p.head + p.n) % len(p.queue)
		p.n++
	}
	p.queue[slot] = append(p.queue[slot][:0], pkt...)
	return nil, dropped
}

// take removes and returns all held packets, oldest first.
func (p *Policy) takeLocked() [][]byte {
	if p.n == 0 {
		return nil
	}
	out := make([][]byte, 0, p.n)
	for i := range p.n {
		j := (p.head + i) % len(p.queue)
		out = append(out, p.queue[j])
		p.queue[j] = nil
	}
	p.head, p.n = 0, 0
	return out
}

// acquire reports whether an EventAcquire may be raised now (1/s per tunnel) and how many
// were suppressed before it.
func (p *Policy) acquire(now int64) (bool, uint64) {
	last := p.lastAcquire.Load()
	if last != 0 && now-last < int64(time.Second) || !p.lastAcquire.CompareAndSwap(last, now) {
		p.acqSuppressed.Add(1)
		return false, 0
	}
	return true, p.acqSuppressed.Swap(0)
}

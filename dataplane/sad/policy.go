package sad

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Policy is the runtime state of one tunnel's policy: its selectors (immutable), the
// outbound SA it currently resolves to, and its hold queue.
//
// A gateway keeps one per configured tunnel, most of them idle, so the layout is lean (176
// bytes, one allocation, for a tunnel with one local and one remote selector): the selectors
// are held once, in the compact form the packet path compares (sel), the first of each side
// inline; the prefixes the index files the policy under are not kept but computed again from
// the remote selectors when it is replaced or removed; the hold queue is allocated by the
// first packet held.
type Policy struct {
	// What a packet routed by the policy reads, at the front to share its first cache line.
	sa atomic.Pointer[OutSA] // nil: hold
	// remoteAny: every remote selector covers all protocols and ports, so a packet found under
	// one of the policy's prefixes (which contain its destination) matches the remote side.
	remoteAny bool
	trap      atomic.Bool // switched in place with the outbound SA (DB.switchInPlace)
	local0    sel         // the first local selector
	remote0   sel         // the first remote selector
	more      *extraSels  // the other selectors; nil with one of each side

	seq      uint64 // installation order, breaks ties between equally specific policies
	tunnel   string
	outChild atomic.Uint64 // written under DB.mu (switched in place by DB.switchInPlace)

	lastAcquire   atomic.Int64 // unix nanos of the last EventAcquire
	acqSuppressed atomic.Uint64

	mu   sync.Mutex // guards the fields below
	q    *holdQueue // nil until a packet is held
	next *Policy    // set when SetPolicy replaced this policy; held packets go there
}

// extraSels are a policy's selectors after the first of each side.
type extraSels struct {
	local, remote []sel
}

// holdQueue is a ring of held packets, drop-oldest.
type holdQueue struct {
	pkts [][]byte
	head int // index of the oldest packet in pkts
	n    int // number of packets held
}

// Config returns a copy of the policy as installed.
func (p *Policy) Config() dataplane.Policy {
	c := dataplane.Policy{Tunnel: p.tunnel, OutChild: p.outChild.Load(), Trap: p.trap.Load(),
		LocalTS: []dataplane.Selector{p.local0.selector()}, RemoteTS: []dataplane.Selector{p.remote0.selector()}}
	if p.more != nil {
		for i := range p.more.local {
			c.LocalTS = append(c.LocalTS, p.more.local[i].selector())
		}
		for i := range p.more.remote {
			c.RemoteTS = append(c.RemoteTS, p.more.remote[i].selector())
		}
	}
	return c
}

// SA returns the outbound SA the policy currently uses (nil while it holds).
func (p *Policy) SA() *OutSA { return p.sa.Load() }

// checkPolicy validates a policy before it is installed.
func checkPolicy(p *dataplane.Policy) error {
	if p.Tunnel == "" {
		return errors.New("policy without tunnel name")
	}
	if len(p.LocalTS) == 0 || len(p.RemoteTS) == 0 {
		return fmt.Errorf("policy %q: empty traffic selectors", p.Tunnel)
	}
	for _, sels := range [2][]dataplane.Selector{p.LocalTS, p.RemoteTS} {
		for _, s := range sels {
			if err := checkSelector(s); err != nil {
				return fmt.Errorf("policy %q: %w", p.Tunnel, err)
			}
		}
	}
	return nil
}

// newPolicy validates cfg and returns its runtime state (not installed: no seq, no SA).
func newPolicy(cfg *dataplane.Policy) (*Policy, error) {
	if err := checkPolicy(cfg); err != nil {
		return nil, err
	}
	p := &Policy{tunnel: cfg.Tunnel, local0: selOf(cfg.LocalTS[0]), remote0: selOf(cfg.RemoteTS[0])}
	p.outChild.Store(cfg.OutChild)
	p.trap.Store(cfg.Trap)
	if len(cfg.LocalTS) > 1 || len(cfg.RemoteTS) > 1 {
		p.more = &extraSels{local: sels(cfg.LocalTS[1:]), remote: sels(cfg.RemoteTS[1:])}
	}
	p.remoteAny = true
	p.eachRemote(func(s *sel) {
		if !s.allPorts() {
			p.remoteAny = false
		}
	})
	return p, nil
}

// sels converts selectors (nil for none).
func sels(ss []dataplane.Selector) []sel {
	if len(ss) == 0 {
		return nil
	}
	out := make([]sel, len(ss))
	for i, s := range ss {
		out[i] = selOf(s)
	}
	return out
}

// sameFiling reports whether p and o are filed alike and match the same packets: the same
// selectors (they may differ in their outbound SA and trap setting).
func (p *Policy) sameFiling(o *Policy) bool {
	if p.local0 != o.local0 || p.remote0 != o.remote0 || (p.more == nil) != (o.more == nil) {
		return false
	}
	return p.more == nil || slices.Equal(p.more.local, o.more.local) && slices.Equal(p.more.remote, o.more.remote)
}

// eachRemote calls f for every remote selector.
func (p *Policy) eachRemote(f func(*sel)) {
	f(&p.remote0)
	if p.more != nil {
		for i := range p.more.remote {
			f(&p.more.remote[i])
		}
	}
}

// RemotePrefixes appends to buf the distinct prefixes that exactly cover the policy's remote
// selectors (what RangePrefixes gives for each), in selector order: the routes it needs.
func (p *Policy) RemotePrefixes(buf []netip.Prefix) []netip.Prefix {
	first := len(buf)
	p.eachRemote(func(s *sel) {
		is4 := !s.v6
		eachRangePrefix(s.start, s.end, is4, func(a u128, bits int) {
			pf, _ := a.addr(is4).Prefix(bits)
			if !slices.Contains(buf[first:], pf) {
				buf = append(buf, pf)
			}
		})
	})
	return buf
}

// keys returns the distinct prefixes the policy is filed under, sorted by cmpPfx.
func (p *Policy) keys(buf []pfxKey) []pfxKey {
	keys := buf[:0]
	p.eachRemote(func(s *sel) { keys = appendPrefixKeys(keys, s) })
	if len(keys) > 1 {
		slices.SortFunc(keys, cmpPfx)
		keys = slices.Compact(keys)
	}
	return keys
}

// matchFiled reports whether an outbound packet's flow, found under one of the policy's
// prefixes, falls under the policy. src is f.Src as addrU128 gives it.
func (p *Policy) matchFiled(f *Flow, src u128) bool {
	return (p.remoteAny || p.matchRemote(addrU128(f.Dst), f.Dst.Is6(), f.Proto, f.DstPort, f.HasPorts)) &&
		p.matchLocal(src, f.Src.Is6(), f.Proto, f.SrcPort, f.HasPorts)
}

// matchIn reports whether a decrypted inbound packet's flow falls under the policy.
func (p *Policy) matchIn(f *Flow) bool {
	return p.matchLocal(addrU128(f.Dst), f.Dst.Is6(), f.Proto, f.DstPort, f.HasPorts) &&
		p.matchRemote(addrU128(f.Src), f.Src.Is6(), f.Proto, f.SrcPort, f.HasPorts)
}

// matchLocal reports whether the local selectors cover (a, proto, port).
func (p *Policy) matchLocal(a u128, v6 bool, proto uint8, port uint16, hasPorts bool) bool {
	return p.local0.match(a, v6, proto, port, hasPorts) ||
		p.more != nil && matchAny(p.more.local, a, v6, proto, port, hasPorts)
}

// matchRemote reports whether the remote selectors cover (a, proto, port).
func (p *Policy) matchRemote(a u128, v6 bool, proto uint8, port uint16, hasPorts bool) bool {
	return p.remote0.match(a, v6, proto, port, hasPorts) ||
		p.more != nil && matchAny(p.more.remote, a, v6, proto, port, hasPorts)
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
	if p.q == nil {
		p.q = &holdQueue{}
	}
	q := p.q
	if len(q.pkts) < qlen {
		q.pkts = append(q.pkts, nil)
	}
	var slot int
	if q.n == qlen {
		slot = q.head
		q.head = (q.head + 1) % qlen
		dropped = true
	} else {
		slot = (q.head + q.n) % len(q.pkts)
		q.n++
	}
	q.pkts[slot] = append(q.pkts[slot][:0], pkt...)
	return nil, dropped
}

// takeLocked removes and returns all held packets, oldest first, and frees the queue.
func (p *Policy) takeLocked() [][]byte {
	q := p.q
	p.q = nil
	if q == nil || q.n == 0 {
		return nil
	}
	out := make([][]byte, 0, q.n)
	for i := range q.n {
		out = append(out, q.pkts[(q.head+i)%len(q.pkts)])
	}
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

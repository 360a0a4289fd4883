package sad

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Policy is the runtime state of one tunnel's policy: its selectors (immutable), the
// outbound SA it currently resolves to, and its hold queue.
type Policy struct {
	cfg dataplane.Policy // selectors copied at SetPolicy, never mutated afterwards
	seq uint64           // installation order, breaks ties between equally specific policies

	sa atomic.Pointer[OutSA] // nil: hold

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

// matchOut reports whether an outbound packet's flow falls under the policy.
func (p *Policy) matchOut(f *Flow) bool {
	return matchAny(p.cfg.RemoteTS, f.Dst, f.Proto, f.DstPort, f.HasPorts) &&
		matchAny(p.cfg.LocalTS, f.Src, f.Proto, f.SrcPort, f.HasPorts)
}

// matchIn reports whether a decrypted inbound packet's flow falls under the policy.
func (p *Policy) matchIn(f *Flow) bool {
	return matchAny(p.cfg.LocalTS, f.Dst, f.Proto, f.DstPort, f.HasPorts) &&
		matchAny(p.cfg.RemoteTS, f.Src, f.Proto, f.SrcPort, f.HasPorts)
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

// policyTable is an immutable snapshot of all policies with a longest-prefix-match index on
// the RemoteTS (destination) addresses. Each selector's address range is split into the
// minimal set of CIDR prefixes; a lookup probes one hash map per distinct prefix length in
// use, longest first, and checks the full selectors only of the few policies filed under the
// matching prefix. Typical configurations use a handful of prefix lengths, so a lookup costs
// a few hash probes regardless of the number of tunnels.
type policyTable struct {
	byTunnel map[string]*Policy
	byChild  map[uint64][]*Policy // by Policy.OutChild (normally one each)
	v4       map[uint64][]*Policy // key: masked address<<8 | prefix length
	v4Lens   []int                // distinct prefix lengths, descending
	v6       map[v6Key][]*Policy
	v6Lens   []int
}

type v6Key struct {
	hi, lo uint64
	bits   uint8
}

func v4Key(a uint32, bits int) uint64 {
	var m uint32
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return uint64(a&m)<<8 | uint64(bits)
}

func mkV6Key(u u128, bits int) v6Key {
	var mh, ml uint64
	switch {
	case bits >= 64:
		mh = ^uint64(0)
		if bits > 64 {
			ml = ^uint64(0) << (128 - bits)
		}
	case bits > 0:
		mh = ^uint64(0) << (64 - bits)
	}
	return v6Key{u.hi & mh, u.lo & ml, uint8(bits)}
}

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func buildTable(pols map[string]*Policy) *policyTable {
	t := &policyTable{byTunnel: pols, byChild: map[uint64][]*Policy{}, v4: map[uint64][]*Policy{}, v6: map[v6Key][]*Policy{}}
	sorted := make([]*Policy, 0, len(pols))
	for _, p := range pols {
		sorted = append(sorted, p)
	}
	slices.SortFunc(sorted, func(a, b *Policy) int { return int(a.seq) - int(b.seq) })
	lens4, lens6 := map[int]bool{}, map[int]bool{}
	for _, p := range sorted {
		if id := p.cfg.OutChild; id != 0 {
			t.byChild[id] = append(t.byChild[id], p)
		}
		for _, s := range p.cfg.RemoteTS {
			for _, pf := range RangePrefixes(s.StartAddr, s.EndAddr) {
				if pf.Addr().Is4() {
					k := v4Key(addr4(pf.Addr()), pf.Bits())
					if l := t.v4[k]; len(l) == 0 || l[len(l)-1] != p {
						t.v4[k] = append(l, p)
					}
					lens4[pf.Bits()] = true
				} else {
					k := mkV6Key(addrU128(pf.Addr()), pf.Bits())
					if l := t.v6[k]; len(l) == 0 || l[len(l)-1] != p {
						t.v6[k] = append(l, p)
					}
					lens6[pf.Bits()] = true
				}
			}
		}
	}
	desc := func(m map[int]bool) []int {
		var l []int
		for k := range m {
			l = append(l, k)
		}
		slices.Sort(l)
		slices.Reverse(l)
		return l
	}
	t.v4Lens, t.v6Lens = desc(lens4), desc(lens6)
	return t
}

// lookup returns the most specific policy matching an outbound flow, or nil.
func (t *policyTable) lookup(f *Flow) *Policy {
	if f.Dst.Is4() {
		a := addr4(f.Dst)
		for _, l := range t.v4Lens {
			for _, p := range t.v4[v4Key(a, l)] {
				if p.matchOut(f) {
					return p
				}
			}
		}
		return nil
	}
	u := addrU128(f.Dst)
	for _, l := range t.v6Lens {
		for _, p := range t.v6[mkV6Key(u, l)] {
			if p.matchOut(f) {
				return p
			}
		}
	}
	return nil
}

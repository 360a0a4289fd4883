package sad

import (
	"hash/maphash"
	"sync/atomic"
)

// rcuMap is a hash map for one writer and any number of lock-free readers, for tables that are
// read on every packet and written by the control plane (the policy index, policies by
// tunnel name). Writers must be serialised by the caller (DB.mu).
//
// Each slot holds an immutable chain of nodes. A write builds the new chain of its one slot
// (a new key is one new node in front of the old chain; a change or removal copies only the
// nodes before the key) and publishes it with one atomic store, so a write costs O(1) instead
// of copying the table, and a reader sees the old or the new chain, never a half-built one.
// When the number of keys passes the number of slots the writer builds a table twice the size
// and swaps the table pointer (O(n), so O(1) amortised per write); a table that falls to an
// eighth full is halved the same way.
//
// Keys are hashed with a per-map random seed: keys come from traffic selectors a peer
// proposes, and a peer that could predict the hash could pile its keys into one chain.
type rcuMap[K comparable, V any] struct {
	tab  atomic.Pointer[rcuTable[K, V]]
	hash func(maphash.Seed, K) uint64
	seed maphash.Seed
	n    int // keys in the map (writer only)
}

type rcuTable[K comparable, V any] struct {
	mask  uint64
	slots []atomic.Pointer[rcuNode[K, V]]
}

// rcuNode is never modified once published.
type rcuNode[K comparable, V any] struct {
	hash uint64 // saves rehashing on resize and most key compares on lookup
	key  K
	val  V
	next *rcuNode[K, V]
}

const rcuMinSlots = 16

func (m *rcuMap[K, V]) init(hash func(maphash.Seed, K) uint64) {
	m.hash, m.seed, m.n = hash, maphash.MakeSeed(), 0
	m.tab.Store(newRCUTable[K, V](rcuMinSlots))
}

func newRCUTable[K comparable, V any](size int) *rcuTable[K, V] {
	return &rcuTable[K, V]{mask: uint64(size - 1), slots: make([]atomic.Pointer[rcuNode[K, V]], size)}
}

// get returns the value of k. It takes no lock and does not allocate.
func (m *rcuMap[K, V]) get(k K) (V, bool) {
	h := m.hash(m.seed, k)
	t := m.tab.Load()
	for n := t.slots[h&t.mask].Load(); n != nil; n = n.next {
		if n.hash == h && n.key == k {
			return n.val, true
		}
	}
	var zero V
	return zero, false
}

// len returns the number of keys (writer only).
func (m *rcuMap[K, V]) len() int { return m.n }

// set adds or replaces k (writer only).
func (m *rcuMap[K, V]) set(k K, v V) {
	h := m.hash(m.seed, k)
	t := m.tab.Load()
	slot := &t.slots[h&t.mask]
	head := slot.Load()
	if rest, found := cutChain(head, h, k); found != nil {
		slot.Store(copyChain(head, found, &rcuNode[K, V]{h, k, v, rest}))
		return
	}
	slot.Store(&rcuNode[K, V]{h, k, v, head})
	m.n++
	if m.n > len(t.slots) {
		m.resize(2 * len(t.slots))
	}
}

// del removes k and reports whether it was there (writer only).
func (m *rcuMap[K, V]) del(k K) bool {
	h := m.hash(m.seed, k)
	t := m.tab.Load()
	slot := &t.slots[h&t.mask]
	head := slot.Load()
	rest, found := cutChain(head, h, k)
	if found == nil {
		return false
	}
	slot.Store(copyChain(head, found, rest))
	m.n--
	if len(t.slots) > rcuMinSlots && m.n < len(t.slots)/8 {
		m.resize(len(t.slots) / 2)
	}
	return true
}

// cutChain finds k in the chain from head: the node and what follows it.
func cutChain[K comparable, V any](head *rcuNode[K, V], h uint64, k K) (rest, found *rcuNode[K, V]) {
	for n := head; n != nil; n = n.next {
		if n.hash == h && n.key == k {
			return n.next, n
		}
	}
	return nil, nil
}

// copyChain returns a copy of the nodes from head up to (not including) stop, followed by tail.
func copyChain[K comparable, V any](head, stop, tail *rcuNode[K, V]) *rcuNode[K, V] {
	if head == stop {
		return tail
	}
	c := *head
	c.next = copyChain(head.next, stop, tail)
	return &c
}

// resize publishes a table of size slots holding the same entries (writer only). The old
// table's nodes are shared with readers still walking it, so the new chains are new nodes.
func (m *rcuMap[K, V]) resize(size int) {
	old := m.tab.Load()
	t := newRCUTable[K, V](size)
	for i := range old.slots {
		for n := old.slots[i].Load(); n != nil; n = n.next {
			s := &t.slots[n.hash&t.mask]
			s.Store(&rcuNode[K, V]{n.hash, n.key, n.val, s.Load()})
		}
	}
	m.tab.Store(t)
}

// each calls f for every entry; entries written meanwhile may or may not be seen.
func (m *rcuMap[K, V]) each(f func(K, V)) {
	t := m.tab.Load()
	for i := range t.slots {
		for n := t.slots[i].Load(); n != nil; n = n.next {
			f(n.key, n.val)
		}
	}
}

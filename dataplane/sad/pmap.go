package sad

import "math/bits"

// pmap is a persistent (immutable) hash map: a hash array mapped trie with 32-way nodes.
// with and without return a new map that shares all but the O(log n) nodes on the path to
// the key with the old one, which stays valid and unchanged. That is what lets the policy
// index publish a whole change (several keys of one tunnel) with one atomic pointer swap
// while the packet path reads without a lock: a reader sees the old or the new map, never a
// mix, and a change costs O(log n) instead of a rebuild.
//
// The caller hashes keys (with a secret seed: keys come from selectors a peer proposes) and
// passes the same hash for the same key every time. Levels take 5 hash bits each, from the
// low end; keys whose whole 64-bit hashes collide share a slot.
//
// The fan-out is a trade: a change copies the arrays of children on its path, which costs
// (through the garbage collector) about as much as the change itself, and a lookup reads one
// slot per level. 32 keeps both low: 3 or 4 levels for 100,000 keys, about 9 KiB copied.
type pmap[K comparable, V any] struct {
	root pslot[K, V] // holds no entry while n == 0
	n    int
}

// pslot is one position of the trie: a subtrie (bitmap != 0) or an entry. The subtrie's
// bitmap and children sit in the parent's slot, and so does the entry, so a lookup reads one
// slot per level and nothing else.
type pslot[K comparable, V any] struct {
	bitmap uint32        // which of the 32 positions below are used
	kids   []pslot[K, V] // one per bit set in bitmap, in bit order
	// With bitmap == 0: the entry, and in more the other entries with the same hash (rare).
	hash uint64
	key  K
	val  V
	more *pentry[K, V]
}

type pentry[K comparable, V any] struct {
	key  K
	val  V
	next *pentry[K, V]
}

const (
	pmapBits = 5
	pmapMask = 1<<pmapBits - 1
)

func (m pmap[K, V]) len() int { return m.n }

// get returns the value of k (whose hash is h). It does not allocate.
func (m pmap[K, V]) get(h uint64, k K) (V, bool) {
	var zero V
	if m.n == 0 {
		return zero, false
	}
	s := &m.root
	for shift := uint(0); s.bitmap != 0; shift += pmapBits {
		bit := uint32(1) << (h >> shift & pmapMask)
		if s.bitmap&bit == 0 {
			return zero, false
		}
		s = &s.kids[bits.OnesCount32(s.bitmap&(bit-1))]
	}
	if s.hash != h {
		return zero, false
	}
	if s.key == k {
		return s.val, true
	}
	for e := s.more; e != nil; e = e.next {
		if e.key == k {
			return e.val, true
		}
	}
	return zero, false
}

// pmapBatch lets several changes in a row copy each trie node at most once: the arrays of
// children the batch allocated belong to versions nobody reads yet, so its later changes
// write them in place. Results of a batch may be published only once its last change is made;
// after that the batch must not be used. A nil batch copies every time (one change).
type pmapBatch[K comparable, V any] struct {
	owned map[*pslot[K, V]]bool // the first element of each array the batch allocated
}

func (b *pmapBatch[K, V]) fresh(kids []pslot[K, V]) []pslot[K, V] {
	if b != nil {
		if b.owned == nil {
			b.owned = map[*pslot[K, V]]bool{}
		}
		b.owned[&kids[0]] = true
	}
	return kids
}

// writable returns kids if the batch allocated it, else a copy.
func (b *pmapBatch[K, V]) writable(kids []pslot[K, V]) []pslot[K, V] {
	if b != nil && b.owned[&kids[0]] {
		return kids
	}
	return b.fresh(append([]pslot[K, V](nil), kids...))
}

// with returns m with k set to v.
func (m pmap[K, V]) with(b *pmapBatch[K, V], h uint64, k K, v V) pmap[K, V] {
	if m.n == 0 {
		return pmap[K, V]{pslot[K, V]{hash: h, key: k, val: v}, 1}
	}
	root, added := m.root.with(b, 0, h, k, v)
	if added {
		m.n++
	}
	return pmap[K, V]{root, m.n}
}

// without returns m without k (m itself if k is not there).
func (m pmap[K, V]) without(b *pmapBatch[K, V], h uint64, k K) pmap[K, V] {
	if m.n == 0 {
		return m
	}
	root, removed, empty := m.root.without(b, 0, h, k)
	switch {
	case !removed:
		return m
	case empty:
		return pmap[K, V]{}
	}
	return pmap[K, V]{root, m.n - 1}
}

// with returns s (which is not empty) with k set to v, and whether k is new.
func (s pslot[K, V]) with(b *pmapBatch[K, V], shift uint, h uint64, k K, v V) (pslot[K, V], bool) {
	if s.bitmap == 0 {
		if s.hash == h {
			return s.withSameHash(k, v)
		}
		// Another hash ends here: move its entry one level down and go on from there.
		bit := uint32(1) << (s.hash >> shift & pmapMask)
		s = pslot[K, V]{bitmap: bit, kids: b.fresh([]pslot[K, V]{s})}
	}
	bit := uint32(1) << (h >> shift & pmapMask)
	i := bits.OnesCount32(s.bitmap & (bit - 1))
	if s.bitmap&bit == 0 {
		kids := b.fresh(make([]pslot[K, V], len(s.kids)+1))
		copy(kids, s.kids[:i])
		kids[i] = pslot[K, V]{hash: h, key: k, val: v}
		copy(kids[i+1:], s.kids[i:])
		return pslot[K, V]{bitmap: s.bitmap | bit, kids: kids}, true
	}
	kid, added := s.kids[i].with(b, shift+pmapBits, h, k, v)
	kids := b.writable(s.kids)
	kids[i] = kid
	return pslot[K, V]{bitmap: s.bitmap, kids: kids}, added
}

// withSameHash sets k to v in an entry slot whose hash is k's.
func (s pslot[K, V]) withSameHash(k K, v V) (pslot[K, V], bool) {
	if s.key == k {
		s.val = v
		return s, false
	}
	for e := s.more; e != nil; e = e.next {
		if e.key == k {
			s.more = s.more.copyUntil(e, &pentry[K, V]{k, v, e.next})
			return s, false
		}
	}
	s.more = &pentry[K, V]{k, v, s.more}
	return s, true
}

// without returns s (which is not empty) without k, whether k was there, and whether s is
// empty now.
func (s pslot[K, V]) without(b *pmapBatch[K, V], shift uint, h uint64, k K) (_ pslot[K, V], removed, empty bool) {
	if s.bitmap == 0 {
		if s.hash != h {
			return s, false, false
		}
		if s.key == k {
			if s.more == nil {
				return pslot[K, V]{}, true, true
			}
			return pslot[K, V]{hash: h, key: s.more.key, val: s.more.val, more: s.more.next}, true, false
		}
		for e := s.more; e != nil; e = e.next {
			if e.key == k {
				s.more = s.more.copyUntil(e, e.next)
				return s, true, false
			}
		}
		return s, false, false
	}
	bit := uint32(1) << (h >> shift & pmapMask)
	if s.bitmap&bit == 0 {
		return s, false, false
	}
	i := bits.OnesCount32(s.bitmap & (bit - 1))
	kid, removed, gone := s.kids[i].without(b, shift+pmapBits, h, k)
	switch {
	case !removed:
		return s, false, false
	case gone && len(s.kids) == 1:
		return pslot[K, V]{}, true, true
	case gone:
		kids := b.fresh(make([]pslot[K, V], len(s.kids)-1))
		copy(kids, s.kids[:i])
		copy(kids[i:], s.kids[i+1:])
		s = pslot[K, V]{bitmap: s.bitmap &^ bit, kids: kids}
	default:
		kids := b.writable(s.kids)
		kids[i] = kid
		s = pslot[K, V]{bitmap: s.bitmap, kids: kids}
	}
	// A subtrie left with one entry becomes that entry, so that the trie is as shallow after
	// removals as if the remaining keys had been added alone.
	if len(s.kids) == 1 && s.kids[0].bitmap == 0 {
		return s.kids[0], true, false
	}
	return s, true, false
}

// copyUntil returns a copy of the chain from e up to (not including) stop, followed by tail.
func (e *pentry[K, V]) copyUntil(stop, tail *pentry[K, V]) *pentry[K, V] {
	if e == stop {
		return tail
	}
	c := *e
	c.next = c.next.copyUntil(stop, tail)
	return &c
}

// each calls f for every entry.
func (m pmap[K, V]) each(f func(K, V)) {
	if m.n > 0 {
		m.root.each(f)
	}
}

func (s *pslot[K, V]) each(f func(K, V)) {
	if s.bitmap == 0 {
		f(s.key, s.val)
		for e := s.more; e != nil; e = e.next {
			f(e.key, e.val)
		}
		return
	}
	for i := range s.kids {
		s.kids[i].each(f)
	}
}

// depth returns the number of levels of the trie (for tests).
func (s *pslot[K, V]) depth() int {
	if s.bitmap == 0 {
		return 0
	}
	d := 0
	for i := range s.kids {
		d = max(d, s.kids[i].depth())
	}
	return d + 1
}

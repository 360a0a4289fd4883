package sad

import (
	"math/bits"
	"unsafe"
)

// pmap is a persistent (immutable) hash map: a hash array mapped trie with 32-way nodes.
// with and without return a new map that shares all but the O(log n) nodes on the path to
// the key with the old one, which stays valid and unchanged. That is what lets the policy
// index publish a whole change (the keys of one tunnel, or of a batch of 100,000 tunnels)
// with one atomic pointer swap while the packet path reads without a lock: a reader sees the
// old or the new map, never a mix, and a change costs O(log n) instead of a rebuild.
//
// The caller hashes keys (with a secret seed: keys come from selectors a peer proposes) and
// passes the same hash for the same key every time. Levels take 5 hash bits each, from the
// low end; keys whose whole 64-bit hashes collide share a slot.
//
// The fan-out is a trade: a change copies the arrays of children on its path, which costs
// (through the garbage collector) about as much as the change itself, and a lookup reads one
// slot per level. 32 keeps both low: 3 or 4 levels for 100,000 keys, about 6 KiB copied for
// the policy index's prefixes. A batch (pmapBatch) copies each array of the map it starts
// from at most once, however many of its changes pass through it.
//
// Memory: a map of n keys holds n entry slots and, for the subtries, about n/3 more slots
// (100,000 random hashes fill 1,024 arrays of 32 slots at the third level and about 26,000
// small arrays of 3 or 4 entries below). The arrays of a published map have their exact
// length (a batch in progress gives its arrays room to grow, see pmapBatch).
type pmap[K comparable, V any] struct {
	root pslot[K, V] // holds no entry while n == 0
	n    int
}

// pslot is one position of the trie: a subtrie (bitmap != 0) or an entry (bitmap == 0). The
// subtrie's bitmap and children sit in the parent's slot, and so does the entry, so a lookup
// reads one slot per level and nothing else. To keep slots small (they are what a change
// copies, and a trie of 100,000 keys holds 130,000 of them), the children are a pointer to
// the first element of an array of exactly popcount(bitmap) slots, not a slice, and an entry
// uses the same pointer for the chain of other entries with its hash. The policy index's
// prefix slots are 64 bytes, one cache line (slice and chain pointer took 88).
type pslot[K comparable, V any] struct {
	bitmap uint32 // subtrie: which of the 32 positions below are used; 0: an entry
	// owned: the children were allocated by the batch in progress, which may write them in
	// place (see pmapBatch). Never set in a published map.
	owned bool
	// Subtrie: the first of its children, one per bit set in bitmap, in bit order.
	// Entry: the next entry with the same hash (a separately allocated slot, rare), or nil.
	kids *pslot[K, V]
	// Entry only.
	hash uint64
	key  K
	val  V
}

const (
	pmapBits = 5
	pmapMask = 1<<pmapBits - 1
)

// children returns a subtrie's children.
func (s *pslot[K, V]) children() []pslot[K, V] {
	return unsafe.Slice(s.kids, bits.OnesCount32(s.bitmap))
}

func (m pmap[K, V]) len() int { return m.n }

// get returns the value of k (whose hash is h). It does not allocate.
func (m *pmap[K, V]) get(h uint64, k K) (V, bool) {
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
		// The child's index is below popcount(bitmap), the length of the array.
		i := uintptr(bits.OnesCount32(s.bitmap & (bit - 1)))
		s = (*pslot[K, V])(unsafe.Add(unsafe.Pointer(s.kids), i*unsafe.Sizeof(*s)))
	}
	if s.hash != h {
		return zero, false
	}
	for ; s != nil; s = s.kids {
		if s.key == k {
			return s.val, true
		}
	}
	return zero, false
}

// pmapBatch lets several changes in a row copy each trie array at most once: the arrays the
// batch allocated belong to versions nobody reads yet, so its later changes write them in
// place. The slot that points to such an array is marked owned; the arrays are allocated
// with room to grow (a power of two of slots, up to 32) so that adding keys to them does not
// copy them each time either. seal trims the arrays and clears the marks: the result of a
// batch may be published only after seal, and the batch must not be used afterwards. A nil
// batch copies every time (one change) and needs no seal.
//
// Filling an empty map with 100,000 keys in one batch allocates about twice the final trie
// (one key at a time without a batch: about 9 KiB per key).
type pmapBatch[K comparable, V any] struct{}

// capFor is the number of slots a batch allocates for an array of n.
func capFor(n int) int { return 1 << bits.Len(uint(n-1)) }

// alloc returns a new array of n > 0 slots (with room to grow if b is a batch).
func (b *pmapBatch[K, V]) alloc(n int) []pslot[K, V] {
	if b == nil {
		return make([]pslot[K, V], n)
	}
	return make([]pslot[K, V], n, capFor(n))
}

// subtrie returns a subtrie slot whose children are kids (not empty), allocated by alloc.
func (b *pmapBatch[K, V]) subtrie(bitmap uint32, kids []pslot[K, V]) pslot[K, V] {
	return pslot[K, V]{bitmap: bitmap, owned: b != nil, kids: &kids[0]}
}

// writable returns the children of subtrie s if the batch owns them, else a copy; s is to be
// replaced by b.subtrie(s.bitmap, kids).
func (b *pmapBatch[K, V]) writable(s *pslot[K, V]) []pslot[K, V] {
	kids := s.children()
	if b != nil && s.owned {
		return kids
	}
	c := b.alloc(len(kids))
	copy(c, kids)
	return c
}

// seal returns m, the result of the batch's changes, ready to publish: its arrays trimmed to
// their length and its slots no longer owned.
func (b *pmapBatch[K, V]) seal(m pmap[K, V]) pmap[K, V] {
	if b != nil && m.root.owned {
		m.root.seal()
	}
	return m
}

func (s *pslot[K, V]) seal() {
	kids := s.children()
	if n := len(kids); n != capFor(n) {
		c := make([]pslot[K, V], n)
		copy(c, kids)
		s.kids, kids = &c[0], c
	}
	s.owned = false
	for i := range kids {
		if kids[i].owned {
			kids[i].seal()
		}
	}
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
		// Another hash ends here: a subtrie takes both entries, one level down or further.
		ob, nb := uint32(1)<<(s.hash>>shift&pmapMask), uint32(1)<<(h>>shift&pmapMask)
		if ob == nb {
			kid, _ := s.with(b, shift+pmapBits, h, k, v)
			kids := b.alloc(1)
			kids[0] = kid
			return b.subtrie(ob, kids), true
		}
		kids := b.alloc(2)
		kids[0], kids[1] = s, pslot[K, V]{hash: h, key: k, val: v}
		if nb < ob {
			kids[0], kids[1] = kids[1], kids[0]
		}
		return b.subtrie(ob|nb, kids), true
	}
	bit := uint32(1) << (h >> shift & pmapMask)
	i := bits.OnesCount32(s.bitmap & (bit - 1))
	if s.bitmap&bit == 0 {
		old := s.children()
		var kids []pslot[K, V]
		if n := len(old); b != nil && s.owned && n+1 <= capFor(n) {
			kids = unsafe.Slice(s.kids, n+1) // room left in the batch's array: insert in place
			copy(kids[i+1:], old[i:])
		} else {
			kids = b.alloc(n + 1)
			copy(kids, old[:i])
			copy(kids[i+1:], old[i:])
		}
		kids[i] = pslot[K, V]{hash: h, key: k, val: v}
		return b.subtrie(s.bitmap|bit, kids), true
	}
	kid, added := s.children()[i].with(b, shift+pmapBits, h, k, v)
	kids := b.writable(&s)
	kids[i] = kid
	return b.subtrie(s.bitmap, kids), added
}

// withSameHash sets k to v in an entry slot whose hash is k's.
func (s pslot[K, V]) withSameHash(k K, v V) (pslot[K, V], bool) {
	if s.key == k {
		s.val = v
		return s, false
	}
	for e := s.kids; e != nil; e = e.kids {
		if e.key == k {
			s.kids = s.kids.copyUntil(e, &pslot[K, V]{kids: e.kids, hash: s.hash, key: k, val: v})
			return s, false
		}
	}
	s.kids = &pslot[K, V]{kids: s.kids, hash: s.hash, key: k, val: v}
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
			if s.kids == nil {
				return pslot[K, V]{}, true, true
			}
			return *s.kids, true, false // the next entry of the chain, with the rest of it
		}
		for e := s.kids; e != nil; e = e.kids {
			if e.key == k {
				s.kids = s.kids.copyUntil(e, e.kids)
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
	old := s.children()
	kid, removed, gone := old[i].without(b, shift+pmapBits, h, k)
	switch {
	case !removed:
		return s, false, false
	case gone && len(old) == 1:
		return pslot[K, V]{}, true, true
	case gone && len(old) == 2 && old[1-i].bitmap == 0:
		// A subtrie left with one entry becomes that entry, so that the trie is as shallow
		// after removals as if the remaining keys had been added alone.
		return old[1-i], true, false
	case gone:
		kids := b.alloc(len(old) - 1) // not in place: the array keeps the size alloc gave it
		copy(kids, old[:i])
		copy(kids[i:], old[i+1:])
		return b.subtrie(s.bitmap&^bit, kids), true, false
	}
	if len(old) == 1 && kid.bitmap == 0 {
		return kid, true, false // the same for a lone child that became an entry
	}
	kids := b.writable(&s)
	kids[i] = kid
	return b.subtrie(s.bitmap, kids), true, false
}

// copyUntil returns a copy of the entry chain from e up to (not including) stop, followed by
// tail.
func (e *pslot[K, V]) copyUntil(stop, tail *pslot[K, V]) *pslot[K, V] {
	if e == stop {
		return tail
	}
	c := *e
	c.kids = c.kids.copyUntil(stop, tail)
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
		for e := s; e != nil; e = e.kids {
			f(e.key, e.val)
		}
		return
	}
	kids := s.children()
	for i := range kids {
		kids[i].each(f)
	}
}

// depth returns the number of levels of the trie (for tests).
func (s *pslot[K, V]) depth() int {
	if s.bitmap == 0 {
		return 0
	}
	d := 0
	kids := s.children()
	for i := range kids {
		d = max(d, kids[i].depth())
	}
	return d + 1
}

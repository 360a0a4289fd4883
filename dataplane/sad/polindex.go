package sad

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync/atomic"
)

// policyIndex finds the policy of an outbound packet and the policy of a tunnel. It is an
// immutable snapshot behind an atomic pointer, made of persistent maps (pmap). A change
// (indexChange, under DB.mu) works on a private copy of the snapshot: it changes only the
// entries of the tunnels it installs or removes, which copies O(log n) trie nodes per entry
// instead of rebuilding the table, and publishes the result with one pointer swap. A change
// may cover one tunnel (SetPolicy, DeletePolicy) or many (SetPolicies, DeletePolicies, used at
// start-up, reload and shutdown); a batch copies each trie node at most once, writing the
// nodes it made in place afterwards (pmapBatch), and is published once. The packet path
// reads a snapshot without a lock and without allocating, and sees a change, whole batches
// included, entirely or not at all.
//
// Outbound lookup is a longest-prefix match on the destination over the RemoteTS address
// ranges. Each range is split into its minimal set of CIDR prefixes (RangePrefixes); a policy
// is filed under every prefix of its remote selectors. (The policy does not keep that list:
// it is computed again from the selectors when the policy is replaced or removed.) A lookup
// probes one key per prefix length in use (a typical configuration uses a handful), longest
// first; a probe walks the trie's O(log n) levels (3 or 4 with 100,000 prefixes). In each
// bucket found it checks the local selectors of the policies filed there, and their remote
// selectors only where these limit protocol or ports (the prefix already implies the remote
// address).
//
// Precedence, when several policies match a packet (unchanged from the index this replaced,
// which rebuilt the whole table on every change):
//  1. The policy filed under the longest prefix containing the destination wins. A policy's
//     prefix length for a destination is the largest, over its remote selectors whose address
//     range contains the destination, of the length of the largest CIDR block that contains
//     the destination and lies inside that range. Only addresses count here: a selector whose
//     protocol or ports do not fit the packet still lends its length to its policy when
//     another selector of the same policy matches the packet.
//  2. Among policies with the same length, the one installed first wins (SetPolicy on an
//     existing tunnel keeps the tunnel's place; in a batch, policies are installed in the
//     batch's order).
//
// Local selectors, protocols and ports only filter: a policy that fails them is passed over
// and a shorter prefix may still match. A lookup therefore costs one probe per prefix length
// in use plus the selector checks of the policies sharing the matching prefixes; policies that
// share one remote prefix (many tunnels to the same remote network, told apart by their local
// selectors or ports) are checked one after the other.
type policyIndex struct {
	snap atomic.Pointer[indexSnap]
	// seed keys the hashes: prefixes come from selectors a peer proposes, and a peer that
	// could predict the hash could make the trie deep under its keys.
	seed maphash.Seed

	// Writer state (DB.mu).
	byChild  map[uint64][]*Policy // by Policy.outChild (normally one each), sorted by seq
	lenCount [2][129]int          // prefixes in use per family (0: IPv4) and length
}

// indexSnap is one version of the index; never modified once published.
type indexSnap struct {
	tunnels  pmap[string, *Policy]
	prefixes pmap[pfxKey, bucket]
	// v4Lens and v6Lens are the prefix lengths in use, longest first.
	v4Lens, v6Lens []uint8
}

// pfxKey is a CIDR prefix: the masked address (an IPv4 address in lo) and its length.
type pfxKey struct {
	hi, lo uint64
	bits   uint8
	v6     bool
}

// bucket holds the policies filed under one prefix in installation order (Policy.seq). The
// first is kept apart because most prefixes belong to one tunnel: the lookup then goes from
// the trie slot straight to the policy. The others are behind a pointer, which keeps the
// bucket at two words (it is copied into the trie's slots). Never modified once published.
type bucket struct {
	first *Policy
	more  *[]*Policy // nil if first is alone
}

func (b bucket) list() []*Policy {
	if b.first == nil {
		return nil
	}
	l := []*Policy{b.first}
	if b.more != nil {
		l = append(l, *b.more...)
	}
	return l
}

func bucketOf(ps []*Policy) bucket {
	switch len(ps) {
	case 0:
		return bucket{}
	case 1:
		return bucket{first: ps[0]}
	}
	more := ps[1:]
	return bucket{ps[0], &more}
}

// with returns b with old (if not nil) removed and np added in seq order. A bucket of one
// policy (most of them) changes without allocating.
func (b bucket) with(np, old *Policy) bucket {
	if b.more == nil && (b.first == nil || b.first == old || b.first == np) {
		return bucket{first: np}
	}
	return bucketOf(withPolicy(b.list(), np, old))
}

// without returns b without p.
func (b bucket) without(p *Policy) bucket {
	if b.more == nil {
		if b.first == p {
			return bucket{}
		}
		return b
	}
	return bucketOf(without(b.list(), p))
}

func hashPfx(seed maphash.Seed, k pfxKey) uint64 {
	var b [18]byte
	binary.LittleEndian.PutUint64(b[0:], k.hi)
	binary.LittleEndian.PutUint64(b[8:], k.lo)
	b[16] = k.bits
	if k.v6 {
		b[17] = 1
	}
	return maphash.Bytes(seed, b[:])
}

func (x *policyIndex) init() {
	x.seed = maphash.MakeSeed()
	x.snap.Store(&indexSnap{})
	x.byChild = map[uint64][]*Policy{}
}

// v4Key is the prefix of length bits containing IPv4 address a.
func v4Key(a uint32, bits uint8) pfxKey {
	var m uint32
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return pfxKey{lo: uint64(a & m), bits: bits}
}

// v6Key is the prefix of length bits containing IPv6 address u.
func v6Key(u u128, bits uint8) pfxKey {
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
	return pfxKey{hi: u.hi & mh, lo: u.lo & ml, bits: bits, v6: true}
}

// appendPrefixKeys appends the prefixes that exactly cover s's address range (see
// RangePrefixes), without allocating when keys has room.
func appendPrefixKeys(keys []pfxKey, s *sel) []pfxKey {
	eachRangePrefix(s.start, s.end, !s.v6, func(a u128, bits int) {
		if !s.v6 {
			keys = append(keys, v4Key(uint32(a.lo), uint8(bits)))
		} else {
			keys = append(keys, v6Key(a, uint8(bits)))
		}
	})
	return keys
}

func cmpPfx(a, b pfxKey) int {
	switch {
	case a.v6 != b.v6:
		if a.v6 {
			return 1
		}
		return -1
	case a.hi != b.hi:
		return cmp.Compare(a.hi, b.hi)
	case a.lo != b.lo:
		return cmp.Compare(a.lo, b.lo)
	}
	return cmp.Compare(a.bits, b.bits)
}

// lookup returns the policy of an outbound flow, or nil (see policyIndex for precedence).
func (x *policyIndex) lookup(f *Flow) *Policy { return x.lookupIn(x.snap.Load(), f) }

// lookupIn is lookup in snapshot s.
func (x *policyIndex) lookupIn(s *indexSnap, f *Flow) *Policy {
	src := addrU128(f.Src) // for the local selectors of the policies found
	if f.Dst.Is4() {
		a := f.Dst.As4()
		d := binary.BigEndian.Uint32(a[:])
		for _, l := range s.v4Lens {
			if p := x.match(s, v4Key(d, l), f, src); p != nil {
				return p
			}
		}
		return nil
	}
	d := addrU128(f.Dst)
	for _, l := range s.v6Lens {
		if p := x.match(s, v6Key(d, l), f, src); p != nil {
			return p
		}
	}
	return nil
}

// match returns the first policy filed under k that matches f.
func (x *policyIndex) match(s *indexSnap, k pfxKey, f *Flow, src u128) *Policy {
	b, ok := s.prefixes.get(hashPfx(x.seed, k), k)
	if !ok {
		return nil
	}
	if b.first.matchFiled(f, src) {
		return b.first
	}
	if b.more == nil {
		return nil
	}
	for _, p := range *b.more {
		if p.matchFiled(f, src) {
			return p
		}
	}
	return nil
}

// tunnel returns the policy of a tunnel (lock-free).
func (x *policyIndex) tunnel(name string) *Policy { return x.tunnelIn(x.snap.Load(), name) }

// tunnelIn is tunnel in snapshot s.
func (x *policyIndex) tunnelIn(s *indexSnap, name string) *Policy {
	p, _ := s.tunnels.get(maphash.String(x.seed, name), name)
	return p
}

// each calls f for every policy of a snapshot.
func (x *policyIndex) each(f func(*Policy)) {
	x.snap.Load().tunnels.each(func(_ string, p *Policy) { f(p) })
}

// indexChange is a change of the index in the making (DB.mu held from begin to commit): a
// private copy of the snapshot that put and remove modify, published by commit. Trie arrays
// are copied at most once per change, however many policies it covers (pmapBatch).
type indexChange struct {
	x    *policyIndex
	s    indexSnap
	pfx  *pmapBatch[pfxKey, bucket]
	tun  *pmapBatch[string, *Policy]
	lens bool     // the set of prefix lengths in use changed
	keys []pfxKey // scratch
	old  []pfxKey // scratch
}

// begin starts a change of the index. policies is how many policies it will put or remove:
// with one, a map gets a batch only if the policy changes more than one of its keys.
func (x *policyIndex) begin(policies int) *indexChange {
	c := &indexChange{x: x, s: *x.snap.Load()}
	if policies > 1 {
		c.pfx, c.tun = &pmapBatch[pfxKey, bucket]{}, &pmapBatch[string, *Policy]{}
	}
	return c
}

// batchFor makes sure a change of n prefixes has a batch if n > 1.
func (c *indexChange) batchFor(n int) {
	if c.pfx == nil && n > 1 {
		c.pfx = &pmapBatch[pfxKey, bucket]{}
	}
}

// tunnel returns the policy of a tunnel in the index being made.
func (c *indexChange) tunnel(name string) *Policy { return c.x.tunnelIn(&c.s, name) }

// commit publishes the change. c must not be used afterwards.
func (c *indexChange) commit() {
	if c.lens {
		c.s.v4Lens, c.s.v6Lens = c.x.lensInUse()
	}
	c.s.prefixes = c.pfx.seal(c.s.prefixes)
	c.s.tunnels = c.tun.seal(c.s.tunnels)
	s := c.s
	c.x.snap.Store(&s)
	*c = indexChange{}
}

// put files np, replacing old (the tunnel's previous policy, which has np's seq) if not nil.
func (c *indexChange) put(np, old *Policy) {
	x, s := c.x, &c.s
	c.keys = np.keys(c.keys)
	n := len(c.keys)
	c.old = c.old[:0]
	if old != nil {
		c.old = old.keys(c.old)
		for _, k := range c.old {
			if !hasKey(c.keys, k) {
				n++
			}
		}
	}
	c.batchFor(n)
	for _, k := range c.keys {
		h := hashPfx(x.seed, k)
		b, ok := s.prefixes.get(h, k)
		if !ok {
			c.lens = x.countLen(k, 1) || c.lens
		}
		s.prefixes = s.prefixes.with(c.pfx, h, k, b.with(np, old))
	}
	if old != nil {
		c.unfile(old, c.old, c.keys)
	}
	s.tunnels = s.tunnels.with(c.tun, maphash.String(x.seed, np.tunnel), np.tunnel, np)
	if old != nil {
		x.unfileChild(old, old.outChild.Load())
	}
	if id := np.outChild.Load(); id != 0 {
		x.byChild[id] = withPolicy(x.byChild[id], np, nil)
	}
}

// remove unfiles p, the current policy of its tunnel.
func (c *indexChange) remove(p *Policy) {
	x := c.x
	c.old = p.keys(c.old)
	c.batchFor(len(c.old))
	c.unfile(p, c.old, nil)
	c.s.tunnels = c.s.tunnels.without(c.tun, maphash.String(x.seed, p.tunnel), p.tunnel)
	x.unfileChild(p, p.outChild.Load())
}

// unfileChild removes p from the policies of outbound Child SA id (none if id is 0). DB.mu
// is held.
func (x *policyIndex) unfileChild(p *Policy, id uint64) {
	if id == 0 {
		return
	}
	if x.byChild[id] = without(x.byChild[id], p); len(x.byChild[id]) == 0 {
		delete(x.byChild, id)
	}
}

// hasKey reports whether keys (sorted by cmpPfx) holds k.
func hasKey(keys []pfxKey, k pfxKey) bool {
	_, ok := slices.BinarySearchFunc(keys, k, cmpPfx)
	return ok
}

// unfile removes p from its prefixes keys except those in keep (sorted).
func (c *indexChange) unfile(p *Policy, keys, keep []pfxKey) {
	x, s := c.x, &c.s
	for _, k := range keys {
		if hasKey(keep, k) {
			continue
		}
		h := hashPfx(x.seed, k)
		b, _ := s.prefixes.get(h, k)
		if b = b.without(p); b.first != nil {
			s.prefixes = s.prefixes.with(c.pfx, h, k, b)
			continue
		}
		s.prefixes = s.prefixes.without(c.pfx, h, k)
		c.lens = x.countLen(k, -1) || c.lens
	}
}

// countLen counts a prefix in or out and reports whether its length came into use or went
// out of use.
func (x *policyIndex) countLen(k pfxKey, d int) bool {
	fam := 0
	if k.v6 {
		fam = 1
	}
	c := &x.lenCount[fam][k.bits]
	*c += d
	return d > 0 && *c == 1 || d < 0 && *c == 0
}

// lensInUse lists the prefix lengths in use per family, longest first.
func (x *policyIndex) lensInUse() (v4, v6 []uint8) {
	for bits := 128; bits >= 0; bits-- {
		if x.lenCount[0][bits] > 0 {
			v4 = append(v4, uint8(bits))
		}
		if x.lenCount[1][bits] > 0 {
			v6 = append(v6, uint8(bits))
		}
	}
	return v4, v6
}

// withPolicy returns a copy of the seq-sorted list ps with old (if any) removed and np added.
func withPolicy(ps []*Policy, np, old *Policy) []*Policy {
	out := make([]*Policy, 0, len(ps)+1)
	for _, p := range ps {
		if p != old && p != np {
			out = append(out, p)
		}
	}
	i, _ := slices.BinarySearchFunc(out, np.seq, func(p *Policy, seq uint64) int { return cmp.Compare(p.seq, seq) })
	return slices.Insert(out, i, np)
}

// without returns a copy of ps without p.
func without(ps []*Policy, p *Policy) []*Policy {
	out := make([]*Policy, 0, len(ps))
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

package sad

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync/atomic"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// policyIndex finds the policy of an outbound packet and the policy of a tunnel. It is an
// immutable snapshot behind an atomic pointer, as before, but made of persistent maps (pmap):
// SetPolicy and DeletePolicy (under DB.mu) build the next snapshot by changing only the
// entries of the one tunnel, which copies O(log n) trie nodes per entry instead of rebuilding
// the table, and publish it with one pointer swap. The packet path reads a snapshot without a
// lock and without allocating, and sees a change entirely or not at all.
//
// Outbound lookup is a longest-prefix match on the destination over the RemoteTS address
// ranges. Each range is split into its minimal set of CIDR prefixes (RangePrefixes); a policy
// is filed under every prefix of its remote selectors. A lookup probes one key per prefix
// length in use (a typical configuration uses a handful), longest first; a probe walks the
// trie's O(log n) levels (3 or 4 with 100,000 prefixes). In each bucket found it checks the
// local selectors of the policies filed there, and their remote selectors only where these
// limit protocol or ports (the prefix already implies the remote address).
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
//     existing tunnel keeps the tunnel's place).
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
	byChild  map[uint64][]*Policy // by Policy.OutChild (normally one each), sorted by seq
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

func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// remoteKeys returns the distinct prefixes a policy with these remote selectors is filed
// under, sorted by cmpPfx.
func remoteKeys(sels []dataplane.Selector) []pfxKey {
	var keys []pfxKey
	for _, s := range sels {
		for _, pf := range RangePrefixes(s.StartAddr, s.EndAddr) {
			if pf.Addr().Is4() {
				keys = append(keys, v4Key(addr4(pf.Addr()), uint8(pf.Bits())))
			} else {
				keys = append(keys, v6Key(addrU128(pf.Addr()), uint8(pf.Bits())))
			}
		}
	}
	slices.SortFunc(keys, cmpPfx)
	return slices.Compact(keys)
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
func (x *policyIndex) lookup(f *Flow) *Policy {
	s := x.snap.Load()
	if f.Dst.Is4() {
		a := addr4(f.Dst)
		for _, l := range s.v4Lens {
			if p := x.match(s, v4Key(a, l), f); p != nil {
				return p
			}
		}
		return nil
	}
	u := addrU128(f.Dst)
	for _, l := range s.v6Lens {
		if p := x.match(s, v6Key(u, l), f); p != nil {
			return p
		}
	}
	return nil
}

// match returns the first policy filed under k that matches f.
func (x *policyIndex) match(s *indexSnap, k pfxKey, f *Flow) *Policy {
	b, ok := s.prefixes.get(hashPfx(x.seed, k), k)
	if !ok {
		return nil
	}
	if b.first.matchFiled(f) {
		return b.first
	}
	if b.more == nil {
		return nil
	}
	for _, p := range *b.more {
		if p.matchFiled(f) {
			return p
		}
	}
	return nil
}

// tunnel returns the policy of a tunnel (lock-free).
func (x *policyIndex) tunnel(name string) *Policy {
	p, _ := x.snap.Load().tunnels.get(maphash.String(x.seed, name), name)
	return p
}

// each calls f for every policy of a snapshot.
func (x *policyIndex) each(f func(*Policy)) {
	x.snap.Load().tunnels.each(func(_ string, p *Policy) { f(p) })
}

// put files np, replacing old (the tunnel's previous policy, which has np's seq) if not nil.
func (x *policyIndex) put(np, old *Policy) {
	s := *x.snap.Load()
	n := len(np.keys) // prefixes to change
	if old != nil {
		for _, k := range old.keys {
			if !hasKey(np.keys, k) {
				n++
			}
		}
	}
	pb := newBatch(n)
	lens := false
	for _, k := range np.keys {
		h := hashPfx(x.seed, k)
		b, ok := s.prefixes.get(h, k)
		if !ok {
			lens = x.countLen(k, 1) || lens
		}
		s.prefixes = s.prefixes.with(pb, h, k, bucketOf(withPolicy(b.list(), np, old)))
	}
	if old != nil {
		lens = x.unfile(&s, pb, old, np.keys) || lens
	}
	s.tunnels = s.tunnels.with(nil, maphash.String(x.seed, np.cfg.Tunnel), np.cfg.Tunnel, np)
	if lens {
		s.v4Lens, s.v6Lens = x.lensInUse()
	}
	x.snap.Store(&s)
	if old != nil && old.cfg.OutChild != 0 {
		x.byChild[old.cfg.OutChild] = without(x.byChild[old.cfg.OutChild], old)
		if len(x.byChild[old.cfg.OutChild]) == 0 {
			delete(x.byChild, old.cfg.OutChild)
		}
	}
	if id := np.cfg.OutChild; id != 0 {
		x.byChild[id] = withPolicy(x.byChild[id], np, nil)
	}
}

// remove unfiles p, the current policy of its tunnel.
func (x *policyIndex) remove(p *Policy) {
	s := *x.snap.Load()
	if x.unfile(&s, newBatch(len(p.keys)), p, nil) {
		s.v4Lens, s.v6Lens = x.lensInUse()
	}
	s.tunnels = s.tunnels.without(nil, maphash.String(x.seed, p.cfg.Tunnel), p.cfg.Tunnel)
	x.snap.Store(&s)
	if id := p.cfg.OutChild; id != 0 {
		if x.byChild[id] = without(x.byChild[id], p); len(x.byChild[id]) == 0 {
			delete(x.byChild, id)
		}
	}
}

// hasKey reports whether keys (sorted by cmpPfx) holds k.
func hasKey(keys []pfxKey, k pfxKey) bool {
	_, ok := slices.BinarySearchFunc(keys, k, cmpPfx)
	return ok
}

// newBatch returns a batch for a change of n prefixes: none for one (nothing to share).
func newBatch(n int) *pmapBatch[pfxKey, bucket] {
	if n <= 1 {
		return nil
	}
	return &pmapBatch[pfxKey, bucket]{}
}

// unfile removes p from its prefixes in s except those in keep (sorted), and reports whether
// the set of prefix lengths in use changed.
func (x *policyIndex) unfile(s *indexSnap, pb *pmapBatch[pfxKey, bucket], p *Policy, keep []pfxKey) (lens bool) {
	for _, k := range p.keys {
		if hasKey(keep, k) {
			continue
		}
		h := hashPfx(x.seed, k)
		b, _ := s.prefixes.get(h, k)
		if ps := without(b.list(), p); len(ps) > 0 {
			s.prefixes = s.prefixes.with(pb, h, k, bucketOf(ps))
			continue
		}
		s.prefixes = s.prefixes.without(pb, h, k)
		lens = x.countLen(k, -1) || lens
	}
	return lens
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

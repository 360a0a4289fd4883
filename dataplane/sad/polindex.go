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

// policyIndex finds the policy of an outbound packet and the policy of a tunnel. The packet
// path reads it without a lock and without allocating; SetPolicy and DeletePolicy (under
// DB.mu) change only the entries of the one tunnel, so installing a tunnel costs the same
// with 10 or 100,000 others (O(1) amortised, see rcuMap).
//
// Outbound lookup is a longest-prefix match on the destination over the RemoteTS address
// ranges. Each range is split into its minimal set of CIDR prefixes (RangePrefixes); a policy
// is filed under every prefix of its remote selectors. A lookup probes one hash key per prefix
// length in use (a typical configuration uses a handful), longest first, and in each
// bucket checks the full selectors (remote and local addresses, protocol, ports) of the
// policies filed there.
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
//
// A change becomes visible prefix by prefix: a packet routed while a policy is replaced sees
// the old or the new policy under each prefix, never neither, since the new policy is filed
// before the old one is removed from prefixes the new one does not have.
type policyIndex struct {
	byTunnel rcuMap[string, *Policy]
	prefixes rcuMap[pfxKey, []*Policy] // each bucket sorted by Policy.seq, never modified
	lens     atomic.Pointer[prefixLens]

	// Writer state (DB.mu).
	byChild  map[uint64][]*Policy // by Policy.OutChild (normally one each), sorted by seq
	lenCount [2][129]int          // prefixes in use per family (0: IPv4) and length
}

// pfxKey is a CIDR prefix: the masked address (an IPv4 address in lo) and its length.
type pfxKey struct {
	hi, lo uint64
	bits   uint8
	v6     bool
}

// prefixLens are the prefix lengths in use, longest first; replaced, never modified.
type prefixLens struct{ v4, v6 []uint8 }

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

func hashString(seed maphash.Seed, s string) uint64 { return maphash.String(seed, s) }

func (x *policyIndex) init() {
	x.byTunnel.init(hashString)
	x.prefixes.init(hashPfx)
	x.lens.Store(&prefixLens{})
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
	lens := x.lens.Load()
	if f.Dst.Is4() {
		a := addr4(f.Dst)
		for _, l := range lens.v4 {
			if p := x.match(v4Key(a, l), f); p != nil {
				return p
			}
		}
		return nil
	}
	u := addrU128(f.Dst)
	for _, l := range lens.v6 {
		if p := x.match(v6Key(u, l), f); p != nil {
			return p
		}
	}
	return nil
}

// match returns the first policy filed under k that matches f.
func (x *policyIndex) match(k pfxKey, f *Flow) *Policy {
	ps, _ := x.prefixes.get(k)
	for _, p := range ps {
		if p.matchOut(f) {
			return p
		}
	}
	return nil
}

// tunnel returns the policy of a tunnel (lock-free).
func (x *policyIndex) tunnel(name string) *Policy {
	p, _ := x.byTunnel.get(name)
	return p
}

// put files np, replacing old (the tunnel's previous policy, which has np's seq) if not nil.
func (x *policyIndex) put(np, old *Policy) {
	for _, k := range np.keys {
		b, ok := x.prefixes.get(k)
		if !ok {
			x.countLen(k, 1)
		}
		x.prefixes.set(k, withPolicy(b, np, old))
	}
	if old != nil {
		x.unfile(old, np.keys)
	}
	x.byTunnel.set(np.cfg.Tunnel, np)
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
	x.unfile(p, nil)
	x.byTunnel.del(p.cfg.Tunnel)
	if id := p.cfg.OutChild; id != 0 {
		if x.byChild[id] = without(x.byChild[id], p); len(x.byChild[id]) == 0 {
			delete(x.byChild, id)
		}
	}
}

// unfile removes p from its prefixes except those in keep (sorted).
func (x *policyIndex) unfile(p *Policy, keep []pfxKey) {
	for _, k := range p.keys {
		if _, kept := slices.BinarySearchFunc(keep, k, cmpPfx); kept {
			continue
		}
		b, _ := x.prefixes.get(k)
		if b = without(b, p); len(b) > 0 {
			x.prefixes.set(k, b)
			continue
		}
		x.prefixes.del(k)
		x.countLen(k, -1)
	}
}

// countLen keeps the published prefix lengths in step with the prefixes in use. A new length
// is published before its first prefix is filed, and a length is withdrawn after its last
// prefix was removed, so no reader misses a filed prefix.
func (x *policyIndex) countLen(k pfxKey, d int) {
	fam := 0
	if k.v6 {
		fam = 1
	}
	c := &x.lenCount[fam][k.bits]
	*c += d
	if appeared, gone := d > 0 && *c == 1, d < 0 && *c == 0; !appeared && !gone {
		return
	}
	var l prefixLens
	for bits := 128; bits >= 0; bits-- {
		if x.lenCount[0][bits] > 0 {
			l.v4 = append(l.v4, uint8(bits))
		}
		if x.lenCount[1][bits] > 0 {
			l.v6 = append(l.v6, uint8(bits))
		}
	}
	x.lens.Store(&l)
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

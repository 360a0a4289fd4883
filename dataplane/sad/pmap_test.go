package sad

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// checkPmap compares m with want entry by entry, and its size.
func checkPmap(t *testing.T, m pmap[int, int], want map[int]int, hash func(int) uint64) {
	t.Helper()
	if m.len() != len(want) {
		t.Fatalf("len %d, want %d", m.len(), len(want))
	}
	seen := 0
	m.each(func(k, v int) {
		seen++
		if w, ok := want[k]; !ok || w != v {
			t.Fatalf("each: %d=%d, want %d (present %v)", k, v, w, ok)
		}
	})
	if seen != len(want) {
		t.Fatalf("each saw %d entries, want %d", seen, len(want))
	}
	for k, w := range want {
		if v, ok := m.get(hash(k), k); !ok || v != w {
			t.Fatalf("get %d = %d %v, want %d", k, v, ok, w)
		}
	}
}

// TestPmapAgainstMap: random sets, replacements and deletes give the same contents as a Go
// map, each published version stays as it was when later ones are made from it, and removing
// every key leaves an empty root. With a good hash and with one that collides all the time
// (16 distinct hashes, equal in their low 48 bits: the deepest levels and the leaf chains),
// and with changes made one by one or in batches of up to 20.
func TestPmapAgainstMap(t *testing.T) {
	seed := maphash.MakeSeed()
	hashes := map[string]func(int) uint64{
		"maphash":   func(k int) uint64 { return maphash.Comparable(seed, k) },
		"colliding": func(k int) uint64 { return uint64(k%16) << 48 },
	}
	for name, hash := range hashes {
		for _, batched := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/batched=%v", name, batched), func(t *testing.T) {
				testPmapAgainstMap(t, hash, batched)
			})
		}
	}
}

func testPmapAgainstMap(t *testing.T, hash func(int) uint64, batched bool) {
	r := rand.New(rand.NewPCG(1, 2))
	var m pmap[int, int]
	want := map[int]int{}
	type version struct {
		m    pmap[int, int]
		want map[int]int
	}
	var kept []version
	var b *pmapBatch[int, int]
	left := 0 // changes left in the batch
	for i := range 20_000 {
		if left == 0 { // publish: the batch ends here
			m = b.seal(m)
			if i%500 == 0 {
				checkSealed(t, &m.root)
				w := make(map[int]int, len(want))
				for k, v := range want {
					w[k] = v
				}
				kept = append(kept, version{m, w})
			}
			b, left = nil, 1
			if batched {
				b, left = &pmapBatch[int, int]{}, 1+r.IntN(20)
			}
		}
		left--
		k := r.IntN(3000)
		if r.IntN(3) == 0 {
			_, had := want[k]
			m2 := m.without(b, hash(k), k)
			if (m2.len() != m.len()) != had {
				t.Fatalf("without %d: len %d -> %d, key there: %v", k, m.len(), m2.len(), had)
			}
			m = m2
			delete(want, k)
		} else {
			v := r.Int()
			m = m.with(b, hash(k), k, v)
			want[k] = v
		}
	}
	m = b.seal(m)
	checkSealed(t, &m.root)
	checkPmap(t, m, want, hash)
	for _, v := range kept {
		checkPmap(t, v.m, v.want, hash)
	}
	b = nil
	if batched {
		b = &pmapBatch[int, int]{}
	}
	for k := range want {
		m = m.without(b, hash(k), k)
	}
	m = b.seal(m)
	if m.len() != 0 || m.root.bitmap != 0 || m.root.kids != nil {
		t.Fatalf("emptied map: %d keys, root %+v", m.len(), m.root)
	}
}

// checkSealed checks that a map ready to publish has no slot marked owned by a batch.
func checkSealed[K comparable, V any](t testing.TB, s *pslot[K, V]) {
	t.Helper()
	if s.owned {
		t.Fatalf("slot %+v still owned by a batch", *s)
	}
	if s.bitmap != 0 {
		for i := range s.children() {
			checkSealed(t, &s.children()[i])
		}
	}
}

// TestPmapShallow: 100,000 keys take at most 7 levels (log32 of 100,000 is 3.3; keys that
// share a position at level 4 go on below), and removing all but one of them brings
// the trie back to a single leaf. The hash is a fixed mix of the key, not maphash: with a
// random seed, the deepest of 100,000 keys is 8 levels down in about one run of seven (some
// two keys share their first 35 hash bits), which made this test fail now and then.
func TestPmapShallow(t *testing.T) {
	hash := func(k int) uint64 { // splitmix64's finaliser
		z := uint64(k) + 0x9e3779b97f4a7c15
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	var m pmap[int, int]
	for k := range 100_000 {
		m = m.with(nil, hash(k), k, k)
	}
	if d := m.root.depth(); d < 3 || d > 7 {
		t.Fatalf("depth %d with 100,000 keys", d)
	}
	for k := 1; k < 100_000; k++ {
		m = m.without(nil, hash(k), k)
	}
	if d := m.root.depth(); d != 0 || m.root.key != 0 || m.len() != 1 {
		t.Fatalf("one key left: depth %d, root %+v", d, m.root)
	}
}

// TestPmapGetDoesNotAllocate: the packet path's probes allocate nothing.
func TestPmapGetDoesNotAllocate(t *testing.T) {
	var m pmap[pfxKey, bucket]
	seed := maphash.MakeSeed()
	for i := range 1000 {
		k := v4Key(uint32(i)<<8, 24)
		m = m.with(nil, hashPfx(seed, k), k, bucket{})
	}
	k := v4Key(7<<8, 24)
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := m.get(hashPfx(seed, k), k); !ok {
			t.Fatal("key lost")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per get", n)
	}
}

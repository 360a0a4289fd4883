package sad

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

func hashInt(seed maphash.Seed, k int) uint64 { return maphash.Comparable(seed, k) }

// checkRCUMap compares m with want entry by entry, and its size.
func checkRCUMap(t *testing.T, m *rcuMap[int, int], want map[int]int) {
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
		if v, ok := m.get(k); !ok || v != w {
			t.Fatalf("get %d = %d %v, want %d", k, v, ok, w)
		}
	}
}

// TestRCUMapAgainstMap: random sets, replacements and deletes, through growth to 20,000 keys
// and shrinking back to none, give the same contents as a Go map.
func TestRCUMapAgainstMap(t *testing.T) {
	var m rcuMap[int, int]
	m.init(hashInt)
	want := map[int]int{}
	r := rand.New(rand.NewPCG(1, 2))
	grow := func(n, keys int) {
		for range n {
			k := r.IntN(keys)
			if r.IntN(4) == 0 {
				_, had := want[k]
				if m.del(k) != had {
					t.Fatalf("del %d reported %v", k, !had)
				}
				delete(want, k)
				continue
			}
			v := r.Int()
			m.set(k, v)
			want[k] = v
		}
	}
	grow(60_000, 30_000)
	checkRCUMap(t, &m, want)
	if got := len(m.tab.Load().slots); got < len(want) || got > 4*len(want) {
		t.Fatalf("%d slots for %d keys", got, len(want))
	}
	for k := range want {
		if !m.del(k) {
			t.Fatalf("del %d: not found", k)
		}
		delete(want, k)
	}
	checkRCUMap(t, &m, want)
	if got := len(m.tab.Load().slots); got != rcuMinSlots {
		t.Fatalf("empty map kept %d slots", got)
	}
	if _, ok := m.get(7); ok {
		t.Fatal("get on empty map found a key")
	}
}

// TestRCUMapConcurrentReaders: readers never miss a key that stays in the map, nor see a
// value that was never stored, while the writer adds, replaces and removes other keys through
// several resizes (run with -race to check the publication).
func TestRCUMapConcurrentReaders(t *testing.T) {
	var m rcuMap[int, int]
	m.init(hashInt)
	const stable = 100
	for k := range stable {
		m.set(k, -k)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := i % stable
				if v, ok := m.get(k); !ok || v != -k {
					errs <- "stable key lost or changed"
					return
				}
				if v, ok := m.get(stable + i%5000); ok && v != (stable+i%5000)*2 && v != (stable+i%5000)*3 {
					errs <- "value never stored"
					return
				}
			}
		})
	}
	for round := range 4 {
		for k := stable; k < stable+5000; k++ {
			m.set(k, k*(2+round%2))
		}
		for k := stable; k < stable+5000; k++ {
			m.del(k)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if m.len() != stable {
		t.Fatalf("len %d, want %d", m.len(), stable)
	}
}

// TestRCUMapGetDoesNotAllocate: the packet path's probes allocate nothing.
func TestRCUMapGetDoesNotAllocate(t *testing.T) {
	var m rcuMap[string, int]
	m.init(func(s maphash.Seed, k string) uint64 { return maphash.String(s, k) })
	m.set("t", 1)
	if n := testing.AllocsPerRun(100, func() { m.get("t") }); n != 0 {
		t.Fatalf("%v allocations per get", n)
	}
}

package config

import (
	"fmt"
	"testing"
)

// TestNameIndex: every indexed name is found at its index, names not indexed are not, and a
// slot pointing past a shortened slice of tunnels is a miss rather than a panic.
func TestNameIndex(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 100, 10000} {
		tunnels := make([]Tunnel, n)
		for i := range tunnels {
			tunnels[i].Name = fmt.Sprintf("t%d", i)
		}
		x := newNameIndex(len(tunnels), nameIn(tunnels), func(first, later int) { t.Fatalf("duplicate %d, %d", first, later) })
		for i := range tunnels {
			if got := x.find(len(tunnels), nameIn(tunnels), tunnels[i].Name); got != i {
				t.Fatalf("%d tunnels: find(%q) = %d", n, tunnels[i].Name, got)
			}
			if got := x.find(len(tunnels), nameIn(tunnels), fmt.Sprintf("u%d", i)); got != -1 {
				t.Fatalf("%d tunnels: find(u%d) = %d, want -1", n, i, got)
			}
		}
		if n > 0 {
			if got := x.find(n-1, nameIn(tunnels), tunnels[n-1].Name); got != -1 {
				t.Errorf("%d tunnels: find in a shorter slice = %d, want -1", n, got)
			}
		}
	}
}

// TestNameIndexDuplicates: a name indexed twice is reported once per later tunnel, with the
// index of the first; lookups find the first.
func TestNameIndexDuplicates(t *testing.T) {
	tunnels := make([]Tunnel, 1000)
	for i := range tunnels {
		tunnels[i].Name = fmt.Sprintf("t%d", i%600)
	}
	var dups [][2]int
	x := newNameIndex(len(tunnels), nameIn(tunnels), func(first, later int) { dups = append(dups, [2]int{first, later}) })
	if len(dups) != 400 {
		t.Fatalf("%d duplicates reported, want 400", len(dups))
	}
	for _, d := range dups {
		if d[0] != d[1]-600 {
			t.Errorf("duplicate %v: want (later-600, later)", d)
		}
	}
	if got := x.find(len(tunnels), nameIn(tunnels), "t5"); got != 5 {
		t.Errorf("find(t5) = %d, want 5", got)
	}
}

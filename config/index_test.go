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
		x := newNameIndex(tunnels)
		for i := range tunnels {
			if got := x.find(tunnels, tunnels[i].Name); got != i {
				t.Fatalf("%d tunnels: find(%q) = %d", n, tunnels[i].Name, got)
			}
			if got := x.find(tunnels, fmt.Sprintf("u%d", i)); got != -1 {
				t.Fatalf("%d tunnels: find(u%d) = %d, want -1", n, i, got)
			}
		}
		if n > 0 {
			if got := x.find(tunnels[:n-1], tunnels[n-1].Name); got != -1 {
				t.Errorf("%d tunnels: find in a shorter slice = %d, want -1", n, got)
			}
		}
	}
}

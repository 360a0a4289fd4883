package config

import "hash/maphash"

// nameIndex finds a tunnel of Config.Tunnels by name: an open-addressing hash table of
// indexes, 4 bytes a slot at most half full, where a map[string]int costs some 50 bytes
// a tunnel. Names are compared with the tunnels' own, so the index holds no strings.
type nameIndex struct {
	seed  maphash.Seed
	slots []int32 // 1 + index in Tunnels; 0 for an empty slot
}

// newNameIndex indexes tunnels, whose names are distinct.
func newNameIndex(tunnels []Tunnel) nameIndex {
	n := 8
	for n < 2*len(tunnels) {
		n *= 2
	}
	x := nameIndex{seed: maphash.MakeSeed(), slots: make([]int32, n)}
	mask := uint64(n - 1)
	for i := range tunnels {
		h := maphash.String(x.seed, tunnels[i].Name) & mask
		for x.slots[h] != 0 {
			h = (h + 1) & mask
		}
		x.slots[h] = int32(i + 1)
	}
	return x
}

// find returns the index in tunnels of the tunnel called name, or -1. tunnels are the ones
// x was built from.
func (x *nameIndex) find(tunnels []Tunnel, name string) int {
	if len(x.slots) == 0 {
		return -1
	}
	mask := uint64(len(x.slots) - 1)
	for h := maphash.String(x.seed, name) & mask; x.slots[h] != 0; h = (h + 1) & mask {
		if i := int(x.slots[h] - 1); i < len(tunnels) && tunnels[i].Name == name {
			return i
		}
	}
	return -1
}

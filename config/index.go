package config

import (
	"hash/maphash"
	"math/bits"
)

// nameIndex finds a tunnel of Config.Tunnels by name: an open-addressing hash table of
// indexes, 4 bytes a slot and 4/3 slots a tunnel (some 5 bytes a tunnel, where a
// map[string]int costs about 50). Names are compared with the tunnels' own, so the index
// holds no strings.
type nameIndex struct {
	seed  maphash.Seed
	slots []int32 // 1 + index in Tunnels; 0 for an empty slot
}

// newNameIndex indexes n tunnels, tunnel i called nameOf(i). A name is indexed once: for each
// later tunnel of the same name, dup is called with the index of the first and of the later
// one. (Names are looked up by index, so that the tunnels of a load need not be in one slice:
// see Update.)
func newNameIndex(n int, nameOf func(int) string, dup func(first, later int)) nameIndex {
	x := nameIndex{seed: maphash.MakeSeed(), slots: make([]int32, n*4/3+1)}
next:
	for i := range n {
		name := nameOf(i)
		h := x.home(name)
		for x.slots[h] != 0 {
			if j := int(x.slots[h] - 1); nameOf(j) == name {
				dup(j, i)
				continue next
			}
			h = x.nextSlot(h)
		}
		x.slots[h] = int32(i + 1)
	}
	return x
}

// home is the first slot probed for name.
func (x *nameIndex) home(name string) int {
	hi, _ := bits.Mul64(maphash.String(x.seed, name), uint64(len(x.slots)))
	return int(hi)
}

// nextSlot is the slot probed after h.
func (x *nameIndex) nextSlot(h int) int {
	if h++; h == len(x.slots) {
		return 0
	}
	return h
}

// find returns the index of the tunnel called name, or -1, among the n tunnels x was built
// from, tunnel i called nameOf(i).
func (x *nameIndex) find(n int, nameOf func(int) string, name string) int {
	if len(x.slots) == 0 {
		return -1
	}
	for h := x.home(name); x.slots[h] != 0; h = x.nextSlot(h) {
		if i := int(x.slots[h] - 1); i < n && nameOf(i) == name {
			return i
		}
	}
	return -1
}

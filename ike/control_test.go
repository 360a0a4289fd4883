package ike

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOutIndex adds and removes Child SAs with few distinct outbound SPIs (so that most share
// one) in random order, and after every step compares each lookup with a scan of the SAs left.
func TestOutIndex(t *testing.T) {
	var x outIndex
	r := rand.New(rand.NewPCG(1, 2))
	var live []*ChildSA
	check := func(step int) {
		t.Helper()
		for spi := uint32(1); spi <= 4; spi++ {
			var want []*ChildSA
			for _, c := range live {
				if c.SPIOut == spi {
					want = append(want, c)
				}
			}
			got := x.appendAll(nil, spi)
			if len(got) != len(want) || !sameChildren(got, want) {
				t.Fatalf("step %d: SPI %d finds %d Child SAs, want %d", step, spi, len(got), len(want))
			}
		}
	}
	for step := range 2000 {
		if len(live) == 0 || r.IntN(3) > 0 {
			c := &ChildSA{ID: uint64(step), SPIOut: 1 + r.Uint32N(4)}
			x.add(c)
			live = append(live, c)
		} else {
			i := r.IntN(len(live))
			x.remove(live[i])
			live = slices.Delete(live, i, i+1)
		}
		check(step)
	}
	for _, c := range live {
		x.remove(c)
	}
	live = nil
	check(-1)
	if len(x.one) != 0 || len(x.more) != 0 {
		t.Errorf("empty index keeps %d + %d entries", len(x.one), len(x.more))
	}
}

func sameChildren(a, b []*ChildSA) bool {
	for _, c := range a {
		if !slices.Contains(b, c) {
			return false
		}
	}
	return true
}

// TestFindChildren: an SPI names our Child SA with that inbound SPI first, then every Child SA
// a peer gave that outbound SPI; nothing is chosen among them.
func TestFindChildren(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	mine := &ChildSA{ID: 1, SPIIn: 0xabcd, SPIOut: 0x1111}
	e.children[mine.SPIIn] = mine
	e.outBySPI.add(mine)
	p1 := &ChildSA{ID: 2, SPIIn: 0x2222, SPIOut: 0xabcd}
	p2 := &ChildSA{ID: 3, SPIIn: 0x3333, SPIOut: 0xabcd}
	e.outBySPI.add(p1)
	e.outBySPI.add(p2)
	if got := e.FindChildren(0xabcd); len(got) != 3 || got[0] != mine || !sameChildren(got[1:], []*ChildSA{p1, p2}) {
		t.Errorf("SPI 0xabcd finds %v, want the inbound match first, then both outbound ones", got)
	}
	if got := e.FindChildren(0x1111); len(got) != 1 || got[0] != mine {
		t.Errorf("SPI 0x1111 finds %v, want the one Child SA sending with it", got)
	}
	e.outBySPI.remove(p1)
	if got := e.FindChildren(0xabcd); len(got) != 2 || got[1] != p2 {
		t.Errorf("after removing one: %v", got)
	}
	if got := e.FindChildren(0x9999); len(got) != 0 {
		t.Errorf("unknown SPI finds %v", got)
	}
}

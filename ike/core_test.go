package ike

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"net/netip"
	"testing"
)

func TestNarrowCapped(t *testing.T) {
	var proposed []Selector
	for i := range 255 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i), 0})
		proposed = append(proposed, Selector{StartAddr: a, EndAddr: netip.AddrFrom4([4]byte{10, 1, byte(i), 255}), EndPort: 0xffff})
	}
	allowed := Selectors([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")})
	if got := Narrow(proposed, allowed); got != nil {
		t.Errorf("narrowing to %d selectors accepted", len(got))
	}
	if got := Narrow(proposed[:MaxSelectors], allowed); len(got) != MaxSelectors {
		t.Errorf("narrowing to %d distinct selectors gave %d", MaxSelectors, len(got))
	}
}

// seqRand answers 4-byte reads from a list of SPIs, in order.
type seqRand struct{ spis *[]uint32 }

func (r seqRand) Read(b []byte) (int, error) {
	if len(b) == 4 && len(*r.spis) > 0 {
		binary.BigEndian.PutUint32(b, (*r.spis)[0])
		*r.spis = (*r.spis)[1:]
		return 4, nil
	}
	return io.ReadFull(rand.Reader, b)
}

// TestInboundSPIsUnique: an SPI offered in a negotiation still in progress is not offered
// again, even before it is installed (item 2: inbound SPIs are ours, allocated unique).
func TestInboundSPIsUnique(t *testing.T) {
	e := New(Config{}, nil, nil, nil)
	spis := []uint32{0x1234, 0x1234, 7, 0x5678}
	e.rand = seqRand{&spis}
	if a, b := e.RandomChildSPI(), e.RandomChildSPI(); a != 0x1234 || b != 0x5678 {
		t.Errorf("allocated %08x then %08x", a, b)
	}
}

package sad

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

func inConfig(spi uint32) dataplane.SAConfig {
	return dataplane.SAConfig{SPI: spi, Dir: dataplane.In, Tunnel: "t", ChildID: uint64(spi),
		Local: netip.MustParseAddrPort("192.0.2.1:4500"), Remote: netip.MustParseAddrPort("192.0.2.2:4500"),
		Encap: dataplane.EncapUDP}
}

// TestInTableShards: SAs spread over the shards are all found, each exactly once, and a
// removal touches only its own SPI.
func TestInTableShards(t *testing.T) {
	db := newDB(t, nil)
	const n = 3 * inShards
	for i := range n {
		if err := db.AddSA(inConfig(uint32(1000 + i*7919))); err != nil {
			t.Fatal(err)
		}
	}
	used := map[uint32]bool{}
	for i := range n {
		spi := uint32(1000 + i*7919)
		if db.InSA(spi) == nil {
			t.Fatalf("%08x lost", spi)
		}
		used[inShard(spi)] = true
	}
	if len(used) < inShards/2 {
		t.Errorf("SPIs use only %d of %d shards", len(used), inShards)
	}
	if err := db.DeleteSA(dataplane.InSA(1000)); err != nil {
		t.Fatal(err)
	}
	count := 0
	db.in.each(func(*InSA) { count++ })
	if count != n-1 || db.InSA(1000) != nil || db.InSA(1000+7919) == nil {
		t.Errorf("after one delete: %d SAs", count)
	}
}

// BenchmarkAddInboundSA measures installing (and removing) one inbound SA next to n others:
// flat in n is the goal (issue #12: 100,000 tunnels).
func BenchmarkAddInboundSA(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db, err := New(Config{Provider: fakeProvider{}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for i := range n {
				if err := db.AddSA(inConfig(uint32(1000 + i*7919))); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				spi := uint32(0x80000000 + i)
				if err := db.AddSA(inConfig(spi)); err != nil {
					b.Fatal(err)
				}
				db.DeleteSA(dataplane.InSA(spi))
			}
		})
	}
}

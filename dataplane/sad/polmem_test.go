package sad

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// scalePolicy is tunnel i's policy in the shape of issue #12's scale test: tunnel "t<i>",
// local selector the i-th /27 of 10.0.0.0/9, remote selector the i-th /27 of 10.128.0.0/9.
func scalePolicy(i int) dataplane.Policy {
	block := func(base uint32) dataplane.Selector {
		a := base + uint32(i)<<5
		return dataplane.Selector{
			StartAddr: netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}),
			EndAddr:   netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a | 31)}),
			EndPort:   0xffff,
		}
	}
	return dataplane.Policy{
		Tunnel:   fmt.Sprintf("t%d", i),
		LocalTS:  []dataplane.Selector{block(10 << 24)},
		RemoteTS: []dataplane.Selector{block(10<<24 | 128<<16)},
	}
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestPolicyMemory: 100,000 idle policies (no SA) cost the DB at most maxBytesPerPolicy of live
// heap each, index and policy objects included. The policies given to SetPolicy stay alive
// through the measurement, so what is counted is what the DB allocated.
func TestPolicyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("installs 100,000 policies")
	}
	const n = 100_000
	pols := make([]dataplane.Policy, n)
	for i := range pols {
		pols[i] = scalePolicy(i)
	}
	db := newDB(t, nil)
	before := liveHeap()
	for _, p := range pols {
		if err := db.SetPolicy(p); err != nil {
			t.Fatal(err)
		}
	}
	after := liveHeap()
	runtime.KeepAlive(pols)
	per := float64(after-before) / n
	t.Logf("%d idle policies: %.0f bytes of live heap per policy", n, per)
	if p, ok := db.Policy("t77777"); !ok || p.Config().RemoteTS[0] != pols[77777].RemoteTS[0] {
		t.Fatal("policy t77777 lost")
	}
}

package v1

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"testing"
	"testing/synctest"

	"github.com/vigil-ipsec/vigil/ike/iketest"
	v1wire "github.com/vigil-ipsec/vigil/ikev1/wire"
)

func TestMidSetExact(t *testing.T) {
	var s midSet
	ids := map[uint32]bool{}
	var b [4]byte
	for range 5000 {
		rand.Read(b[:])
		id := binary.BigEndian.Uint32(b[:])
		s.add(id)
		ids[id] = true
	}
	for id := range ids {
		if !s.has(id) {
			t.Fatalf("%08x forgotten", id)
		}
	}
	if s.len() != len(ids) {
		t.Errorf("len %d, want %d", s.len(), len(ids))
	}
	miss := 0
	for range 5000 {
		rand.Read(b[:])
		if id := binary.BigEndian.Uint32(b[:]); !ids[id] && s.has(id) {
			miss++
		}
	}
	if miss != 0 {
		t.Errorf("%d false positives", miss)
	}
}

// TestV1QuickModeReplay: a Quick Mode message 1 replayed after more than 256 other exchanges on
// the ISAKMP SA is ignored; it would re-install a live SPI with new keys (item 9).
func TestV1QuickModeReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, fn := iketest.NewPair(t, iketest.PairOpts{Version: 1, Protocols: protos})
		sent := fn.Capture(netip.MustParseAddr("192.0.2.1"))
		in0, out0 := iketest.Up(t, a, b)
		var qm1 []byte
		for _, m := range *sent {
			if h, err := v1wire.ParseHeader(m); err == nil && h.Exchange == v1wire.ExchangeQuickMode && qm1 == nil {
				qm1 = m
			}
		}
		if qm1 == nil {
			t.Fatal("no Quick Mode message captured")
		}
		// 300 Informationals (Deletes of SPIs B does not have) from A.
		a.E.Call(func() {
			for i := range 300 {
				v1of(a.T.IKE).e.v1SendInfo(a.T.IKE, []v1wire.Payload{v1wire.NewDeleteESP(uint32(0x7000000 + i))})
			}
		})
		synctest.Wait()
		n := b.DP.Count()
		b.E.HandlePacket(netip.MustParseAddrPort("192.0.2.2:500"), netip.MustParseAddrPort("192.0.2.1:500"), qm1)
		synctest.Wait()
		if b.DP.Count() != n {
			t.Errorf("replayed Quick Mode installed SAs: %d -> %d", n, b.DP.Count())
		}
		if in, out := b.ChildSPIs(); in != in0 || out != out0 {
			t.Errorf("B's Child SA changed")
		}
		if s := b.Stats(); s.Rejected == 0 {
			t.Error("replay not counted")
		}
	})
}

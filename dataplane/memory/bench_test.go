package memory

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
	"github.com/vigil-ipsec/vigil/dataplane"
)

// BenchmarkPacketPath measures the per-packet path without the kernel: policy lookup, ESP
// seal, SPI lookup, ESP open (with anti-replay) and the inbound selector check.
func BenchmarkPacketPath(b *testing.B) {
	for _, suite := range []struct {
		name        string
		encr, integ uint16
		ekey, ikey  int
	}{
		{"aes-gcm-256", crypto.EncrAESGCM16, 0, 36, 0},
		{"chacha20-poly1305", crypto.EncrChaCha20Poly1305, 0, 36, 0},
		{"aes-cbc-256-sha256", crypto.EncrAESCBC, crypto.IntegHMACSHA256128, 32, 32},
	} {
		for _, size := range []int{64, 1400} {
			b.Run(fmt.Sprintf("%s/%d", suite.name, size), func(b *testing.B) {
				n := NewNetwork()
				delivered := 0
				a := n.Attach([]netip.Addr{addrA}, nil)
				bb := n.AttachWith([]netip.Addr{addrB}, nil, Options{Deliver: func([]byte) { delivered++ }})
				defer a.Close()
				defer bb.Close()
				pair(b, a, bb, 0x1000, 0x2000, func(c *dataplane.SAConfig) {
					c.Encr, c.Integ = suite.encr, suite.integ
					c.EncrKey = key(byte(c.SPI >> 8))[:suite.ekey]
					if suite.ikey > 0 {
						c.IntegKey = key(byte(c.SPI >> 8))[:suite.ikey]
					}
				})
				pkt, _ := BuildUDP(netip.AddrPortFrom(hostA, 1), netip.AddrPortFrom(hostB, 2), make([]byte, size-28))
				b.SetBytes(int64(len(pkt)))
				b.ReportAllocs()
				for b.Loop() {
					if err := a.Inject(pkt); err != nil {
						b.Fatal(err)
					}
				}
				if delivered != b.N {
					b.Fatalf("delivered %d of %d", delivered, b.N)
				}
			})
		}
	}
}

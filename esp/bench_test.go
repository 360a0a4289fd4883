package esp

import (
	"fmt"
	"testing"
)

const benchInner = 1400

// BenchmarkSeal seals a 1400-byte inner packet in place (zero copy).
func BenchmarkSeal(b *testing.B) {
	for _, su := range suites {
		b.Run(su.name, func(b *testing.B) {
			tx, _ := su.pair(b, false)
			h := tx.HeaderLen()
			buf := make([]byte, h+benchInner, tx.SealedLen(benchInner))
			copy(buf[h:], ipv4Packet(benchInner))
			b.SetBytes(benchInner)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tx.Seal(buf[:0], buf[h:h+benchInner], NextHeaderIPv4); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen opens pre-sealed 1400-byte packets into a separate buffer
// (so the packets survive and can be reused); the replay window is emptied
// after each pass over the batch, outside the timer.
func BenchmarkOpen(b *testing.B) {
	const batch = 1024
	for _, su := range suites {
		b.Run(su.name, func(b *testing.B) {
			tx, rx := su.pair(b, false)
			pkts := make([][]byte, batch)
			for i := range pkts {
				p, err := tx.Seal(nil, ipv4Packet(benchInner), NextHeaderIPv4)
				if err != nil {
					b.Fatal(err)
				}
				pkts[i] = p
			}
			dst := make([]byte, 0, 2048)
			b.SetBytes(benchInner)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == batch {
					b.StopTimer()
					rx.replayWindow().reset()
					i = 0
					b.StartTimer()
				}
				if _, _, err := rx.Open(dst, pkts[i]); err != nil {
					b.Fatal(fmt.Sprint(i, err))
				}
				i++
			}
		})
	}
}

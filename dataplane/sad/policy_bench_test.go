package sad

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vigil-ipsec/vigil/dataplane"
)

// Benchmarks of the policy index with n installed tunnels, shaped like a hub: every tunnel
// has the hub's 172.16.0.0/12 as its local selector and its own /24 as the remote one, and a
// trapping catch-all for 10.0.0.0/8 sits below them all.
//
//	go test ./dataplane/sad -run '^$' -bench 'Policy|Route' -benchmem

var benchSizes = []int{1_000, 10_000, 100_000}

// benchPolicy is tunnel i's policy: remote 10.0.0.0/24 + i (wrapping into 11.x above 65,535).
func benchPolicy(i int, child uint64) dataplane.Policy {
	a := uint32(10<<24 + i<<8)
	start := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0})
	end := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 255})
	return dataplane.Policy{
		Tunnel:   fmt.Sprintf("t%d", i),
		LocalTS:  []dataplane.Selector{rng("172.16.0.0", "172.31.255.255")},
		RemoteTS: []dataplane.Selector{{StartAddr: start, EndAddr: end, EndPort: 0xffff}},
		OutChild: child,
	}
}

// benchDB installs n tunnels, each with an outbound SA (child i+1), and the catch-all.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	db, err := New(Config{Provider: fakeProvider{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	pols := make([]dataplane.Policy, 0, n+1)
	pols = append(pols, dataplane.Policy{Tunnel: "default", Trap: true,
		LocalTS:  []dataplane.Selector{rng("172.16.0.0", "172.31.255.255")},
		RemoteTS: []dataplane.Selector{rng("10.0.0.0", "10.255.255.255")}})
	for i := range n {
		if err := db.AddSA(outTo(uint64(i+1), uint32(0x1000+i), peerA, fmt.Sprintf("t%d", i))); err != nil {
			b.Fatal(err)
		}
		pols = append(pols, benchPolicy(i, uint64(i+1)))
	}
	fillPolicies(b, db, pols)
	runtime.GC() // not during the measurement: the setup's garbage would be collected there
	return db
}

// BenchmarkRoute: the per-packet path (parse, policy lookup, SA) for packets spread over all
// tunnels, so that the index does not sit in the cache as it would for a single flow.
func BenchmarkRoute(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := benchDB(b, n)
			pkts := make([][]byte, 4096)
			for j := range pkts {
				i := (j * 7919) % n
				a := uint32(10<<24 + i<<8 + j%254 + 1)
				dst := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
				pkts[j] = udp("172.16.0.1", dst.String(), 1000, 53)
			}
			var tl Tally
			b.ReportAllocs()
			j := 0
			for b.Loop() {
				if sa, d := db.Route(pkts[j&4095], 1, &tl); sa == nil || d != DropNone {
					b.Fatalf("packet %d: %v", j&4095, d)
				}
				j++
			}
		})
	}
}

// BenchmarkSetPolicyReplace: replacing one tunnel's policy (what a rekey does) next to n others.
func BenchmarkSetPolicyReplace(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := benchDB(b, n)
			b.ReportAllocs()
			j := 0
			for b.Loop() {
				i := (j * 7919) % n
				if err := db.SetPolicy(benchPolicy(i, uint64(i+1))); err != nil {
					b.Fatal(err)
				}
				j++
			}
		})
	}
}

// BenchmarkSetDeletePolicy: installing one new tunnel's policy next to n others and removing
// it again (one op is both).
func BenchmarkSetDeletePolicy(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := benchDB(b, n)
			p := benchPolicy(n+1, 0)
			b.ReportAllocs()
			for b.Loop() {
				if err := db.SetPolicy(p); err != nil {
					b.Fatal(err)
				}
				if err := db.DeletePolicy(p.Tunnel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

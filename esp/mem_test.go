package esp

import (
	"runtime"
	"testing"
)

// memPairs is the number of SA pairs the memory test builds: enough that the
// per-pair figure is not lost in the noise of the runtime's own allocations.
const memPairs = 10_000

// maxIdlePair bounds the live heap of an idle SA pair (AES-GCM-128: 145
// bytes, AES-CBC+HMAC-SHA-256: 224; before the cipher state was built on
// first use, 2,944 and 3,776).
const maxIdlePair = 320

// heapPerPair builds memPairs inbound+outbound SA pairs of suite su, as the
// SA database does for an established child SA (the inbound SA with the
// configured replay window, the outbound one with none), and returns the live
// heap bytes per pair while they are idle and, after one packet has passed in
// each direction, while they are in use.
func heapPerPair(t testing.TB, su suite) (idle, used float64) {
	t.Helper()
	in := make([]*SA, memPairs)
	out := make([]*SA, memPairs)
	cfgIn, cfgOut := su.config(1, false), su.config(1, false)
	cfgIn.ReplayWindow, cfgOut.ReplayWindow = 1024, 0
	inner := ipv4Packet(100)
	pkt := make([]byte, 0, 256)
	dst := make([]byte, 0, 256)

	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC() // the second cycle frees what the first one's finalizers/pools released
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := live()
	for i := range memPairs {
		// Distinct SPIs and keys, as in a real gateway.
		cfgIn.SPI, cfgOut.SPI = uint32(2*i+1), uint32(2*i+2)
		cfgIn.EncrKey[0], cfgIn.EncrKey[1] = byte(i), byte(i>>8)
		cfgOut.EncrKey[0], cfgOut.EncrKey[1] = byte(i), byte(i>>8)
		var err error
		if in[i], err = New(cfgIn); err != nil {
			t.Fatal(err)
		}
		if out[i], err = New(cfgOut); err != nil {
			t.Fatal(err)
		}
	}
	afterNew := live()
	// One packet each way: out seals, and a packet sealed by a twin of in
	// (same keys) is opened by in.
	for i := range memPairs {
		p, err := out[i].Seal(pkt[:0], inner, NextHeaderIPv4)
		if err != nil {
			t.Fatal(err)
		}
		_ = p
		cfgIn.SPI = uint32(2*i + 1)
		cfgIn.EncrKey[0], cfgIn.EncrKey[1] = byte(i), byte(i>>8)
		twin, err := New(cfgIn)
		if err != nil {
			t.Fatal(err)
		}
		p, err = twin.Seal(pkt[:0], inner, NextHeaderIPv4)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := in[i].Open(dst[:0], p); err != nil {
			t.Fatalf("pair %d: Open: %v", i, err)
		}
	}
	afterUse := live()
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	idle = float64(int64(afterNew)-int64(before)) / memPairs
	used = float64(int64(afterUse)-int64(before)) / memPairs
	return idle, used
}

// TestHeapPerPair reports the live heap an idle and a used SA pair holds.
func TestHeapPerPair(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 10,000 SA pairs")
	}
	for _, su := range []suite{suites[0], suites[4]} {
		t.Run(su.name, func(t *testing.T) {
			idle, used := heapPerPair(t, su)
			t.Logf("%s: %.0f bytes per idle pair, %.0f bytes per pair after one packet each way", su.name, idle, used)
			// An idle pair is two 48-byte SAs and their keys (24 or 64
			// bytes each); the cipher state alone would be over 1 KiB.
			if idle > maxIdlePair {
				t.Errorf("an idle pair holds %.0f bytes, want at most %d", idle, maxIdlePair)
			}
		})
	}
}

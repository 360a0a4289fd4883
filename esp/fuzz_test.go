package esp

import (
	"bytes"
	"errors"
	"testing"
)

var sentinels = []error{ErrMalformed, ErrAuth, ErrReplay, ErrDummy, ErrPadding}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzSA returns a fixed receiving SA and its sender for suite index i.
func fuzzSA(t testing.TB, i uint8, esn bool) (tx, rx *SA) {
	su := suites[int(i)%len(suites)]
	return su.pair(t, esn)
}

// FuzzOpen feeds arbitrary packets to Open for every suite, with and without
// ESN and in the three buffer arrangements: it must never panic, must only
// return the package's sentinel errors, and anything it accepts must be
// consistent with the packet's length.
func FuzzOpen(f *testing.F) {
	for i := range suites {
		for _, esn := range []bool{false, true} {
			tx, _ := fuzzSA(f, uint8(i), esn)
			for _, n := range []int{0, 20, 61} {
				pkt, err := tx.Seal(nil, ipv4Packet(max(n, 20))[:n], NextHeaderIPv4)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(uint8(i), esn, pkt)
				f.Add(uint8(i), esn, pkt[:len(pkt)-1])
			}
			dummy, _ := tx.Seal(nil, nil, NextHeaderDummy)
			f.Add(uint8(i), esn, dummy)
		}
	}
	f.Add(uint8(0), false, []byte{})
	f.Add(uint8(4), true, make([]byte, 24))

	f.Fuzz(func(t *testing.T, suite uint8, esn bool, pkt []byte) {
		_, rx := fuzzSA(t, suite, esn)
		for mode := range 3 {
			p := bytes.Clone(pkt)
			var dst []byte
			switch mode {
			case 1:
				dst = p[:0]
			case 2:
				if h := rx.HeaderLen(); len(p) >= h {
					dst = p[h:h]
				}
			}
			inner, nh, err := rx.Open(dst, p)
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("mode %d: unexpected error %v", mode, err)
				}
				if inner != nil {
					t.Fatalf("mode %d: inner returned with error", mode)
				}
				continue
			}
			if nh == NextHeaderDummy {
				t.Fatal("dummy packet returned as data")
			}
			if len(inner)-len(dst) > len(pkt)-rx.HeaderLen()-rx.tailLen()-2 {
				t.Fatalf("inner of %d bytes from a %d-byte packet", len(inner), len(pkt))
			}
			// Authentic: the same bytes again are a replay.
			if _, _, err := rx.Open(nil, pkt); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay accepted: %v", err)
			}
		}
	})
}

// FuzzOpenTrailer encrypts arbitrary plaintexts as authentic packets, so the
// post-authentication trailer parsing (Pad Length, padding bytes, Next
// Header) is reachable by the fuzzer; the result must agree with a direct
// reading of RFC 4303 section 2.4.
func FuzzOpenTrailer(f *testing.F) {
	f.Add(uint8(0), []byte{0x45, 1, 2, 2, 4})
	f.Add(uint8(0), []byte{1, 2, 4, 59})
	f.Add(uint8(3), []byte{1, 2, 3, 3, 41})
	f.Add(uint8(4), []byte{0xff, 4})
	f.Add(uint8(5), bytes.Repeat([]byte{1}, 40))
	f.Fuzz(func(t *testing.T, suite uint8, body []byte) {
		tx, rx := fuzzSA(t, suite, false)
		pt := bytes.Clone(body)
		if r := len(pt) % int(tx.align); r != 0 || len(pt) == 0 {
			pt = append(pt, make([]byte, int(tx.align)-r)...)
		}
		inner, nh, err := rx.Open(nil, rawSeal(tx, 1, pt))

		n := len(pt)
		padLen, wantNH := int(pt[n-2]), pt[n-1]
		var want error
		if padLen > n-2 {
			want = ErrPadding
		} else {
			for i := range padLen {
				if pt[n-2-padLen+i] != byte(i+1) {
					want = ErrPadding
				}
			}
			if want == nil && wantNH == NextHeaderDummy {
				want = ErrDummy
			}
		}
		if !errors.Is(err, want) || (err == nil) != (want == nil) {
			t.Fatalf("Open(%x) = %v, want %v", pt, err, want)
		}
		if err == nil && (nh != wantNH || !bytes.Equal(inner, pt[:n-2-padLen])) {
			t.Fatalf("Open(%x) = %x nh %d", pt, inner, nh)
		}
	})
}

// FuzzReplay checks ReplayWindow against a map-based model on arbitrary
// sequences: it must accept exactly the numbers the model accepts, so in
// particular never a duplicate.
func FuzzReplay(f *testing.F) {
	f.Add(false, []byte{0, 0, 1, 0, 0, 1, 2, 0, 0})
	f.Add(true, []byte{3, 0xff, 0xff, 1, 0x10, 0, 0, 0, 5, 2, 0, 1})
	f.Add(false, bytes.Repeat([]byte{0, 0, 200, 1, 1, 0, 2, 0, 3}, 50))
	f.Fuzz(func(t *testing.T, big bool, data []byte) {
		size := 1024
		if big {
			size = 4096
		}
		checkAgainstModel(t, size, seqsFrom(data))
	})
}

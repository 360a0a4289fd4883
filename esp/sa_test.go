package esp

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-ipsec/vigil/crypto"
)

func TestNewValidation(t *testing.T) {
	key := func(n int) []byte { return make([]byte, n) }
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"gcm128", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(20)}, true},
		{"gcm192", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(28)}, true},
		{"gcm256", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(36)}, true},
		{"gcm no salt", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(16)}, false},
		{"gcm short", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(3)}, false},
		{"gcm with integ", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(20), Integ: crypto.IntegHMACSHA256128, IntegKey: key(32)}, false},
		{"chacha", Config{SPI: 1, Encr: crypto.EncrChaCha20Poly1305, EncrKey: key(36)}, true},
		{"chacha no salt", Config{SPI: 1, Encr: crypto.EncrChaCha20Poly1305, EncrKey: key(32)}, false},
		{"cbc128", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(16), Integ: crypto.IntegHMACSHA256128, IntegKey: key(32)}, true},
		{"cbc192", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(24), Integ: crypto.IntegHMACSHA384192, IntegKey: key(48)}, true},
		{"cbc256", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(32), Integ: crypto.IntegHMACSHA512256, IntegKey: key(64)}, true},
		{"cbc bad key", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(20), Integ: crypto.IntegHMACSHA256128, IntegKey: key(32)}, false},
		{"cbc no integ", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(16)}, false},
		{"cbc unknown integ", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(16), Integ: 2, IntegKey: key(20)}, false},
		{"cbc short integ key", Config{SPI: 1, Encr: crypto.EncrAESCBC, EncrKey: key(16), Integ: crypto.IntegHMACSHA256128, IntegKey: key(16)}, false},
		{"unknown encr", Config{SPI: 1, Encr: 3, EncrKey: key(24)}, false},
		{"spi zero", Config{SPI: 0, Encr: crypto.EncrAESGCM16, EncrKey: key(20)}, false},
		{"window negative", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(20), ReplayWindow: -1}, false},
		{"window too big", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(20), ReplayWindow: 65537}, false},
		{"window max", Config{SPI: 1, Encr: crypto.EncrAESGCM16, EncrKey: key(20), ReplayWindow: 65536}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("New: %v, want ok=%t", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			if s == nil && err == nil {
				t.Fatal("nil SA without error")
			}
		})
	}
}

func TestReplayWindowConfig(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 1024}, {32, 1024}, {1024, 1024}, {1025, 1088}, {4096, 4096}, {65536, 65536}} {
		s, err := New(Config{SPI: 9, Encr: crypto.EncrAESGCM16, EncrKey: make([]byte, 20), ReplayWindow: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.replayWindow().Size(); got != tc.want {
			t.Errorf("ReplayWindow %d: size %d, want %d", tc.in, got, tc.want)
		}
	}
}

// Keys must never be printed, whatever verb is used.
func TestNoKeysInOutput(t *testing.T) {
	for _, su := range suites {
		cfg := su.config(0x01020304, true)
		for i := range cfg.EncrKey {
			cfg.EncrKey[i] = 0xa5
		}
		for i := range cfg.IntegKey {
			cfg.IntegKey[i] = 0x5a
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v %s", cfg, cfg, cfg, &cfg, s, s, s, []any{s, cfg})
		for _, bad := range []string{"a5a5", "A5A5", "165", "5a5a", "5A5A", "90 90", "[90"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%s: output contains %q: %s", su.name, bad, out)
			}
		}
		// The SA's fields themselves, as a debugging dump would show them,
		// before and after the cipher state exists. These contain pointers,
		// printed in hex, so look only for runs of key bytes.
		v := reflect.ValueOf(s).Elem()
		dump := fmt.Sprintf("%v %+v %#v %x", v, v, v, v)
		if _, err := s.Seal(nil, nil, NextHeaderDummy); err != nil {
			t.Fatal(err)
		}
		dump += fmt.Sprintf("%v %+v %#v %x", v, v, v, v)
		for _, bad := range []string{"165 165", "0xa5, 0xa5", "a5a5a5a5", "90 90", "0x5a, 0x5a", "5a5a5a5a"} {
			if strings.Contains(strings.ToLower(dump), bad) {
				t.Fatalf("%s: SA fields contain %q: %s", su.name, bad, dump)
			}
		}
	}
}

// New must copy keys: wiping the caller's slices afterwards changes nothing.
func TestKeysCopied(t *testing.T) {
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			cfg := su.config(77, false)
			tx, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			clear(cfg.EncrKey)
			clear(cfg.IntegKey)
			rx, err := New(su.config(77, false))
			if err != nil {
				t.Fatal(err)
			}
			pkt, err := tx.Seal(nil, ipv4Packet(64), NextHeaderIPv4)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := rx.Open(nil, pkt); err != nil {
				t.Fatalf("Open after wiping the sender's config keys: %v", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 13, 14, 15, 16, 17, 20, 40, 41, 100, 576, 1280, 1400, 1500, 9000}
	for _, su := range suites {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/esn=%t", su.name, esn), func(t *testing.T) {
				tx, rx := su.pair(t, esn)
				for _, n := range sizes {
					for _, nh := range []uint8{NextHeaderIPv4, NextHeaderIPv6} {
						var inner []byte
						switch {
						case nh == NextHeaderIPv4 && n >= 20:
							inner = ipv4Packet(n)
						case nh == NextHeaderIPv6 && n >= 40:
							inner = ipv6Packet(n)
						default:
							inner = bytes.Repeat([]byte{0xee}, n)
						}
						roundTrip(t, tx, rx, inner, nh)
					}
				}
			})
		}
	}
}

// roundTrip seals inner in four buffer arrangements and opens each result in
// a matching arrangement, checking lengths, layout and contents.
func roundTrip(t *testing.T, tx, rx *SA, inner []byte, nh uint8) {
	t.Helper()
	h, n := tx.HeaderLen(), len(inner)
	want := tx.SealedLen(n)
	if want-n > tx.Overhead() {
		t.Fatalf("SealedLen(%d)=%d exceeds Overhead %d", n, want, tx.Overhead())
	}
	check := func(how string, pkt []byte) {
		t.Helper()
		if len(pkt) != want {
			t.Fatalf("%s: len %d, want SealedLen %d", how, len(pkt), want)
		}
		if spi, ok := SPIOf(pkt); !ok || spi != tx.SPI() {
			t.Fatalf("%s: SPIOf = %#x, %t", how, spi, ok)
		}
		if ct := len(pkt) - h - tx.tailLen(); ct%int(tx.align) != 0 {
			t.Fatalf("%s: ciphertext length %d not aligned to %d", how, ct, tx.align)
		}
	}
	open := func(how string, dst, pkt []byte) {
		t.Helper()
		got, gotNH, err := rx.Open(dst, pkt)
		if err != nil || gotNH != nh || !bytes.Equal(got[len(dst):], inner) || !bytes.Equal(got[:len(dst)], dst) {
			t.Fatalf("%s: Open(len %d) = %d bytes, nh %d, %v", how, n, len(got), gotNH, err)
		}
	}

	// 1: fresh output buffers on both sides, with a prefix in dst.
	pkt, err := tx.Seal([]byte("prefix"), inner, nh)
	if err != nil {
		t.Fatal(err)
	}
	check("append", pkt[6:])
	open("append", []byte("pre"), bytes.Clone(pkt[6:]))

	// 2: zero-copy in-place Seal; Open in place at pkt[h:h].
	buf := make([]byte, h+n, want+8)
	copy(buf[h:], inner)
	pkt, err = tx.Seal(buf[:0], buf[h:h+n], nh)
	if err != nil {
		t.Fatal(err)
	}
	check("in-place", pkt)
	if &pkt[0] != &buf[0] {
		t.Fatal("in-place Seal reallocated")
	}
	got, gotNH, err := rx.Open(pkt[h:h], pkt)
	if err != nil || gotNH != nh || !bytes.Equal(got, inner) {
		t.Fatalf("Open(pkt[h:h]): %v", err)
	}
	if n > 0 && &got[0] != &pkt[h] {
		t.Fatal("Open(pkt[h:h]) did not decrypt in place")
	}

	// 3: inner at the start of the buffer (overlaps the header area), and
	// Open with dst = pkt[:0] as for cipher.AEAD.
	buf = make([]byte, n, want)
	copy(buf, inner)
	pkt, err = tx.Seal(buf[:0], buf, nh)
	if err != nil {
		t.Fatal(err)
	}
	check("overlap", pkt)
	open("pkt[:0]", pkt[:0], pkt)

	// 4: dst without capacity gets reallocated; inner left intact.
	orig := bytes.Clone(inner)
	pkt, err = tx.Seal(inner[:0:0], inner, nh)
	if err != nil {
		t.Fatal(err)
	}
	check("realloc", pkt)
	if !bytes.Equal(inner, orig) {
		t.Fatal("Seal modified inner that did not alias dst")
	}
	open("fresh dst", nil, pkt)
}

func TestOverheadValues(t *testing.T) {
	want := map[string][2]int{ // HeaderLen, Overhead
		"aes128gcm16":      {16, 8 + 8 + 3 + 2 + 16},
		"chacha20poly1305": {16, 37},
		"aes128cbc-sha256": {24, 8 + 16 + 15 + 2 + 16},
		"aes192cbc-sha384": {24, 8 + 16 + 15 + 2 + 24},
		"aes256cbc-sha512": {24, 8 + 16 + 15 + 2 + 32},
	}
	for _, su := range suites {
		w, ok := want[su.name]
		if !ok {
			continue
		}
		s, _ := su.pair(t, false)
		if s.HeaderLen() != w[0] || s.Overhead() != w[1] {
			t.Errorf("%s: HeaderLen %d Overhead %d, want %v", su.name, s.HeaderLen(), s.Overhead(), w)
		}
	}
}

// Flipping any bit of a packet must make Open fail with ErrAuth.
func TestTamper(t *testing.T) {
	for _, su := range suites {
		for _, esn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/esn=%t", su.name, esn), func(t *testing.T) {
				tx, rx := su.pair(t, esn)
				pkt, err := tx.Seal(nil, ipv6Packet(100), NextHeaderIPv6)
				if err != nil {
					t.Fatal(err)
				}
				for i := range pkt {
					for _, bit := range []byte{0x01, 0x80} {
						bad := bytes.Clone(pkt)
						bad[i] ^= bit
						if i == 7 && bit == 0x01 {
							continue // sequence number 1 -> 0: ErrReplay, checked below
						}
						if _, _, err := rx.Open(nil, bad); !errors.Is(err, ErrAuth) {
							t.Fatalf("byte %d ^ %#x: %v, want ErrAuth", i, bit, err)
						}
					}
				}
				bad := bytes.Clone(pkt)
				bad[7] ^= 1
				if _, _, err := rx.Open(nil, bad); !errors.Is(err, ErrReplay) {
					t.Fatalf("sequence number 0: %v, want ErrReplay", err)
				}
				// Truncated or extended packets fail too.
				for _, p := range [][]byte{pkt[:len(pkt)-1], pkt[:len(pkt)-4], append(bytes.Clone(pkt), 0, 0, 0, 0)} {
					if _, _, err := rx.Open(nil, p); !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
						t.Fatalf("len %d: %v, want ErrAuth or ErrMalformed", len(p), err)
					}
				}
				if _, _, err := rx.Open(nil, pkt); err != nil {
					t.Fatalf("original packet after tampering attempts: %v", err)
				}
			})
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			_, rx := su.pair(t, false)
			h, tail := rx.HeaderLen(), rx.tailLen()
			lens := []int{0, 1, 4, 7, 8, h, h + tail, h + tail + 1}
			if su.encr == crypto.EncrAESCBC {
				lens = append(lens, h+tail+15, h+tail+17, h+tail+31)
			}
			for _, n := range lens {
				pkt := make([]byte, n)
				if n >= 8 {
					binary.BigEndian.PutUint32(pkt, 0x01020304)
					pkt[7] = 1
				}
				if _, _, err := rx.Open(nil, pkt); !errors.Is(err, ErrMalformed) {
					t.Errorf("len %d: %v, want ErrMalformed", n, err)
				}
			}
		})
	}
}

// Authentic packets with bad trailers: rawSeal encrypts arbitrary plaintext.
func TestPaddingAndDummy(t *testing.T) {
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, false)
			block := int(tx.align)
			mk := func(n int, pad []byte, nh uint8) []byte { // inner of n bytes, then pad, padlen, nh
				pt := append(bytes.Repeat([]byte{0x45}, n), pad...)
				return append(pt, byte(len(pad)), nh)
			}
			aligned := func(pt []byte) []byte { // pad with a prefix so the total is aligned
				extra := (block - len(pt)%block) % block
				return append(bytes.Repeat([]byte{0x11}, extra), pt...)
			}
			cases := []struct {
				name string
				pt   []byte
				want error
			}{
				{"good", aligned(mk(10, []byte{1, 2}, NextHeaderIPv4)), nil},
				{"good no padding", aligned(mk(2, nil, NextHeaderIPv4)), nil},
				{"wrong order", aligned(mk(9, []byte{1, 3, 2}, NextHeaderIPv4)), ErrPadding},
				{"zero padding", aligned(mk(10, []byte{0, 0}, NextHeaderIPv4)), ErrPadding},
				{"last byte wrong", aligned(mk(8, []byte{1, 2, 3, 5}, NextHeaderIPv4)), ErrPadding},
				{"pad length too long", aligned(append(bytes.Repeat([]byte{1}, 4), 200, NextHeaderIPv4)), ErrPadding},
				{"all padding", mk(0, seqBytes(block-2), NextHeaderIPv6), nil},
				{"pad length one too long", append(seqBytes(block-2), byte(block-1), NextHeaderIPv6), ErrPadding},
				{"dummy", aligned(mk(10, []byte{1, 2}, NextHeaderDummy)), ErrDummy},
			}
			for i, tc := range cases {
				seq := uint64(i + 1)
				pkt := rawSeal(tx, seq, tc.pt)
				inner, _, err := rx.Open(nil, pkt)
				if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
					t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
				}
				if err != nil && inner != nil {
					t.Fatalf("%s: non-nil inner with error", tc.name)
				}
				// Authentic packets update the window whatever their trailer.
				if _, _, err := rx.Open(nil, pkt); !errors.Is(err, ErrReplay) {
					t.Fatalf("%s: replay: %v, want ErrReplay", tc.name, err)
				}
			}
			// Dummy packets made by Seal itself.
			tx.seqCounter().n.Store(100)
			pkt, _ := tx.Seal(nil, nil, NextHeaderDummy)
			if _, nh, err := rx.Open(nil, pkt); !errors.Is(err, ErrDummy) || nh != 0 {
				t.Fatalf("sealed dummy: %d %v", nh, err)
			}
		})
	}
}

// seqBytes returns 1, 2, ..., n.
func seqBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}

func TestSeqExhausted(t *testing.T) {
	for _, esn := range []bool{false, true} {
		tx, rx := suites[0].pair(t, esn)
		limit := uint64(math.MaxUint32)
		if esn {
			limit = math.MaxUint64
		}
		tx.seqCounter().n.Store(limit - 1)
		rx.replayWindow().Update(limit - 10)
		pkt, err := tx.Seal(nil, ipv4Packet(20), NextHeaderIPv4)
		if err != nil {
			t.Fatalf("esn=%t: last sequence number refused: %v", esn, err)
		}
		if got := tx.Stats().LastSeq; got != limit {
			t.Fatalf("LastSeq %#x, want %#x", got, limit)
		}
		if _, _, err := rx.Open(nil, pkt); err != nil {
			t.Fatalf("esn=%t: Open of last packet: %v", esn, err)
		}
		for range 3 {
			if out, err := tx.Seal(nil, ipv4Packet(20), NextHeaderIPv4); !errors.Is(err, ErrSeqExhausted) || out != nil {
				t.Fatalf("esn=%t: after the last number: %v", esn, err)
			}
		}
		if got := tx.Stats().LastSeq; got != limit {
			t.Fatalf("counter moved past the limit: %#x", got)
		}
	}
}

// Packets spanning the 2^32 boundary with ESN, delivered out of order.
func TestESNBoundary(t *testing.T) {
	for _, su := range []suite{suites[0], suites[3], suites[4]} {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, true)
			const start = 1<<32 - 8
			tx.seqCounter().n.Store(start - 1)
			rx.replayWindow().Update(start - 100)
			var pkts [][]byte
			for range 16 {
				p, err := tx.Seal(nil, ipv4Packet(60), NextHeaderIPv4)
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, p)
			}
			// low halves: 0xfffffff8..0xffffffff, then 0..7
			if s, _ := SeqOf(pkts[8]); s != 0 {
				t.Fatalf("packet 8 carries low seq %#x, want 0", s)
			}
			for _, i := range []int{1, 0, 9, 3, 2, 8, 15, 4, 5, 7, 6, 12, 10, 11, 14, 13} {
				if _, _, err := rx.Open(nil, pkts[i]); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
			}
			if got, want := rx.Stats().ReplayTop, uint64(start+15); got != want {
				t.Fatalf("ReplayTop %#x, want %#x", got, want)
			}
			for _, i := range []int{0, 7, 8, 15} {
				if _, _, err := rx.Open(nil, pkts[i]); !errors.Is(err, ErrReplay) {
					t.Fatalf("replayed packet %d: %v", i, err)
				}
			}
		})
	}
}

// The CBC IV is AES(K_iv, seq||0): distinct, and not the sequence number.
func TestCBCIV(t *testing.T) {
	tx, _ := suites[4].pair(t, false)
	seen := map[string]bool{}
	for i := 1; i <= 100; i++ {
		pkt, _ := tx.Seal(nil, []byte{1, 2, 3}, NextHeaderIPv4)
		iv := pkt[8:24]
		if seen[string(iv)] {
			t.Fatal("repeated IV")
		}
		seen[string(iv)] = true
		var blk [aes.BlockSize]byte
		tx.state().cbc.ivBlock.Decrypt(blk[:], iv)
		if binary.BigEndian.Uint64(blk[:8]) != uint64(i) || binary.BigEndian.Uint64(blk[8:]) != 0 {
			t.Fatalf("IV %x does not decrypt to seq %d", iv, i)
		}
	}
	other, _ := suites[4].pair(t, false)
	a, _ := tx.Seal(nil, nil, 4)
	other.seqCounter().n.Store(tx.seqCounter().n.Load() - 1)
	b, _ := other.Seal(nil, nil, 4)
	if bytes.Equal(a[8:24], b[8:24]) {
		t.Fatal("two SAs derived the same IV for the same sequence number")
	}
}

// Several goroutines Seal on one SA: every sequence number is used exactly
// once. Then several goroutines Open every packet twice: each is accepted
// exactly once.
func TestConcurrent(t *testing.T) {
	const workers, per = 4, 400
	for _, su := range []suite{suites[0], suites[3], suites[4]} {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, false)
			out := make([][][]byte, workers)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range per {
						buf := make([]byte, tx.HeaderLen(), tx.HeaderLen()+200)
						buf = append(buf, ipv4Packet(20+i%100)...)
						p, err := tx.Seal(buf[:0], buf[tx.HeaderLen():], NextHeaderIPv4)
						if err != nil {
							t.Error(err)
							return
						}
						out[w] = append(out[w], p)
					}
				})
			}
			wg.Wait()
			var all [][]byte
			seen := make(map[uint32]bool)
			for _, ps := range out {
				for _, p := range ps {
					s, _ := SeqOf(p)
					if seen[s] || s == 0 || s > workers*per {
						t.Fatalf("sequence number %d duplicated or out of range", s)
					}
					seen[s] = true
					all = append(all, p)
				}
			}
			if len(seen) != workers*per {
				t.Fatalf("%d distinct sequence numbers, want %d", len(seen), workers*per)
			}

			var mu sync.Mutex
			accepted := make(map[uint32]int)
			for w := range workers {
				wg.Go(func() {
					for k := range len(all) {
						i := (k*7 + w*len(all)/workers) % len(all)
						if (w+k)%2 == 0 {
							i = len(all) - 1 - i
						}
						p := bytes.Clone(all[i])
						_, _, err := rx.Open(p[:0], p)
						s, _ := SeqOf(all[i])
						switch {
						case err == nil:
							mu.Lock()
							accepted[s]++
							mu.Unlock()
						case !errors.Is(err, ErrReplay):
							t.Errorf("seq %d: %v", s, err)
						}
					}
				})
			}
			wg.Wait()
			for s := range seen {
				if accepted[s] != 1 {
					t.Fatalf("seq %d accepted %d times", s, accepted[s])
				}
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			tx, rx := su.pair(t, true)
			h := tx.HeaderLen()
			buf := make([]byte, h+1400, tx.SealedLen(1400))
			inner := buf[h : h+1400]
			dst := make([]byte, 0, 1500)
			var pkt []byte
			if a := testing.AllocsPerRun(100, func() {
				pkt, _ = tx.Seal(buf[:0], inner, NextHeaderIPv4)
			}); a != 0 {
				t.Errorf("Seal in place: %v allocs", a)
			}
			if a := testing.AllocsPerRun(100, func() {
				rx.replayWindow().reset()
				if _, _, err := rx.Open(dst[:0], pkt); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("Open: %v allocs", a)
			}
		})
	}
}

func TestSPIOfSeqOf(t *testing.T) {
	cases := []struct {
		pkt   []byte
		spi   uint32
		seq   uint32
		spiOK bool
		seqOK bool
	}{
		{nil, 0, 0, false, false},
		{[]byte{1, 2, 3, 4}, 0, 0, false, false},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 9}, 0, 9, false, true},
		{[]byte{0xc0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 5}, 0xc0000001, 0xffffffff, true, true},
	}
	for _, tc := range cases {
		spi, ok := SPIOf(tc.pkt)
		if spi != tc.spi || ok != tc.spiOK {
			t.Errorf("SPIOf(%x) = %#x, %t", tc.pkt, spi, ok)
		}
		seq, ok := SeqOf(tc.pkt)
		if seq != tc.seq || ok != tc.seqOK {
			t.Errorf("SeqOf(%x) = %#x, %t", tc.pkt, seq, ok)
		}
	}
}

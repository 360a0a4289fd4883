package crypto

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// prfHashes maps each PRF to the hash crypto/hmac is given as reference.
var prfHashes = map[uint16]func() hash.Hash{
	PRFHMACSHA256: sha256.New,
	PRFHMACSHA384: sha512.New384,
	PRFHMACSHA512: sha512.New,
}

// randBytes returns n pseudo-random bytes from r.
func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestMACMatchesCryptoHMAC compares Compute, Plus and a mac reused across
// keys with crypto/hmac on random keys and messages: keys from empty through
// exactly the block size to several blocks (hashed first), messages across
// block boundaries, the key given whole and in pieces.
func TestMACMatchesCryptoHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for id, h := range prfHashes {
		p, err := NewPRF(id)
		if err != nil {
			t.Fatal(err)
		}
		bs := h().BlockSize()
		keyLens := []int{0, 1, 16, p.Size(), bs - 1, bs, bs + 1, 2*bs + 3, 300}
		for i := 0; i < 200; i++ {
			kl := keyLens[i%len(keyLens)]
			key, msg := randBytes(r, kl), randBytes(r, r.IntN(3*bs))
			want := refHMAC(h, key, msg)
			if got := p.Compute(key, msg); !bytes.Equal(got, want) {
				t.Fatalf("%s key %d B msg %d B: Compute %x, crypto/hmac %x", p, kl, len(msg), got, want)
			}
			// The same mac object keyed in two parts, reset and reused.
			cut := r.IntN(kl + 1)
			m := p.mac(key[:cut], key[cut:])
			m.write(randBytes(r, 10)) // discarded by reset
			m.reset()
			m.write(msg[:len(msg)/2])
			m.write(msg[len(msg)/2:])
			got := m.sum(nil)
			m.release()
			if !bytes.Equal(got, want) {
				t.Fatalf("%s key %d B cut at %d: mac %x, crypto/hmac %x", p, kl, cut, got, want)
			}
			n := r.IntN(5 * p.Size())
			if got := p.Plus(key, msg, n); !bytes.Equal(got, refPlus(h, key, msg, n)) {
				t.Fatalf("%s key %d B: prf+ of %d bytes differs from crypto/hmac's", p, kl, n)
			}
		}
	}
}

// TestMACRelease: a released mac holds no key, state or message byte, and
// the next user of the pooled object gets correct results.
func TestMACRelease(t *testing.T) {
	for id, h := range prfHashes {
		p, _ := NewPRF(id)
		key := bytes.Repeat([]byte{0xee}, 200) // longer than the block: hashed
		m := p.mac(key)
		m.write(bytes.Repeat([]byte{0xdd}, 77)) // leaves bytes in the block buffer
		m.sum(m.key[:0])
		m.setKey(m.key[:p.Size()])
		copy(m.aux[:], key)
		binaryFill(m.spis[:])
		m.ctr[0] = 9
		m.release()
		for name, b := range map[string][]byte{
			"pad": m.pad[:], "in": m.in[:], "key": m.key[:], "aux": m.aux[:], "spis": m.spis[:], "ctr": m.ctr[:],
			"istate": m.istate[:cap(m.istate)], "ostate": m.ostate[:cap(m.ostate)],
		} {
			if !wiped(b) {
				t.Errorf("%s: %s not wiped: %x", p, name, b)
			}
		}
		for name, hh := range map[string]stateHash{"inner": m.inner, "outer": m.outer} {
			st, _ := hh.AppendBinary(nil)
			if !bytes.Equal(st, m.blank) {
				t.Errorf("%s: %s hash not back to a fresh state", p, name)
			}
			// The marshalled state leaves out the unused part of the block
			// buffer, where Reset leaves old bytes: look at the buffer itself.
			if err := blockBufferWiped(hh); err != nil {
				t.Errorf("%s: %s hash: %v", p, name, err)
			}
		}
		if got, want := p.Compute([]byte("k"), []byte("m")), refHMAC(h, []byte("k"), []byte("m")); !bytes.Equal(got, want) {
			t.Errorf("%s: wrong result after a release", p)
		}
	}
}

// blockBufferWiped reports an error unless every byte-array field of the
// hash's struct (the block buffer of the standard library's SHA-2) is zero.
func blockBufferWiped(h hash.Hash) error {
	v := reflect.ValueOf(h)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%T is not a pointer to a struct: cannot inspect it", h)
	}
	v = v.Elem()
	found := false
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Array || f.Type().Elem().Kind() != reflect.Uint8 {
			continue
		}
		found = true
		for j := 0; j < f.Len(); j++ {
			if f.Index(j).Uint() != 0 {
				return fmt.Errorf("field %s holds %#x at %d", v.Type().Field(i).Name, f.Index(j).Uint(), j)
			}
		}
	}
	if !found {
		return fmt.Errorf("%T has no byte array field to inspect", h)
	}
	return nil
}

func binaryFill(b []byte) {
	for i := range b {
		b[i] = byte(i + 1)
	}
}

func wiped(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// TestMACConcurrent: goroutines sharing the pools get their own macs (run
// with -race for the data race check).
func TestMACConcurrent(t *testing.T) {
	p, _ := NewPRF(PRFHMACSHA256)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []byte{byte(g)}
			want := refPlus(sha256.New, key, key, 100)
			for i := 0; i < 200; i++ {
				if !bytes.Equal(p.Plus(key, key, 100), want) {
					errs <- "prf+ result differs under concurrency"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestPSKAuthFor: the streaming form equals PSKAuth over SignedOctets.
func TestPSKAuthFor(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for id := range prfHashes {
		p, _ := NewPRF(id)
		for _, pskLen := range []int{1, 20, 64, 128, 200} {
			psk, msg, nonce := randBytes(r, pskLen), randBytes(r, 400), randBytes(r, 32)
			skp, idBody := randBytes(r, p.Size()), []byte{2, 0, 0, 0, 'g', 'w'}
			want := PSKAuth(p, psk, SignedOctets(p, msg, nonce, skp, idBody))
			if got := PSKAuthFor(p, psk, msg, nonce, skp, idBody); !bytes.Equal(got, want) {
				t.Errorf("%s PSK %d B: PSKAuthFor %x, PSKAuth %x", p, pskLen, got, want)
			}
		}
	}
}

// FuzzPRF checks Compute, Plus and PSKAuthFor against crypto/hmac for any
// key, data and length, with every PRF.
func FuzzPRF(f *testing.F) {
	f.Add(uint8(0), []byte("key"), []byte("data"), uint16(40))
	f.Add(uint8(1), bytes.Repeat([]byte{1}, 128), []byte{}, uint16(0))
	f.Add(uint8(2), bytes.Repeat([]byte{2}, 129), bytes.Repeat([]byte{3}, 300), uint16(500))
	f.Add(uint8(0), []byte{}, []byte{}, uint16(1))
	ids := []uint16{PRFHMACSHA256, PRFHMACSHA384, PRFHMACSHA512}
	f.Fuzz(func(t *testing.T, which uint8, key, data []byte, n uint16) {
		id := ids[int(which)%len(ids)]
		p, _ := NewPRF(id)
		h := prfHashes[id]
		if got, want := p.Compute(key, data), refHMAC(h, key, data); !bytes.Equal(got, want) {
			t.Fatalf("%s: Compute %x, crypto/hmac %x", p, got, want)
		}
		size := int(n) % (p.MaxPlus() + 1)
		if got := p.Plus(key, data, size); !bytes.Equal(got, refPlus(h, key, data, size)) {
			t.Fatalf("%s: prf+ of %d bytes differs from crypto/hmac's", p, size)
		}
		// AUTH with key as the PSK and data cut into message, nonce, SK_p, ID.
		cut := func(i int) int { return min(len(data), i) }
		msg, nonce, skp, idBody := data[:cut(int(n)%97)], data[cut(int(n)%97):cut(100)], data[cut(100):cut(140)], data[cut(140):]
		want := refHMAC(h, refHMAC(h, key, []byte("Key Pad for IKEv2")), msg, nonce, refHMAC(h, skp, idBody))
		if got := PSKAuthFor(p, key, msg, nonce, skp, idBody); !bytes.Equal(got, want) {
			t.Fatalf("%s: PSKAuthFor %x, crypto/hmac %x", p, got, want)
		}
	})
}

package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
)

// GCM spec (McGrew/Viega) test cases 4 and 16. The 12-byte IV cafebabe |
// facedbaddecaf888 maps onto salt | explicit IV; the plaintext ends in 0x39,
// a valid pad length (57) for its 60 bytes, so Open must return the first
// 60-1-57 = 2 bytes.
const (
	gcmIV  = "facedbaddecaf888"
	gcmAAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
	gcmP   = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
)

func TestSKOpenAESGCMKnownAnswer(t *testing.T) {
	tests := []struct {
		name, key, ct, tag string
		bits               int
	}{
		{"AES-128 TC4", "feffe9928665731c6d6a8f9467308308",
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
			"5bc94fbc3221a5db94fae95ae7121a47", 128},
		{"AES-256 TC16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
			"76fc6ece0f4e1768cddf8853bb2d551b", 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Suite{Encr: EncrAESGCM16, EncrKeyBits: tt.bits}
			c, err := NewSKCipher(s, unhex(t, tt.key+"cafebabe"), nil)
			if err != nil {
				t.Fatal(err)
			}
			body := unhex(t, gcmIV+tt.ct+tt.tag)
			pt, err := c.Open(unhex(t, gcmAAD), body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, unhex(t, gcmP)[:2]) {
				t.Fatalf("plaintext %x", pt)
			}
			// Seal with the same explicit IV reproduces the vector's construction.
			c.(*aeadSK).ctr.Store(binary.BigEndian.Uint64(unhex(t, gcmIV)))
			sealed := c.Seal(nil, unhex(t, gcmAAD), pt)
			ref := gcmRef(t, unhex(t, tt.key), unhex(t, "cafebabe"+gcmIV), unhex(t, gcmAAD), append(append([]byte{}, pt...), 0))
			if !bytes.Equal(sealed, append(unhex(t, gcmIV), ref...)) {
				t.Fatalf("Seal = %x, want %x", sealed, ref)
			}
		})
	}
}

func gcmRef(t *testing.T, key, nonce, aad, pt []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(b)
	return g.Seal(nil, nonce, pt, aad)
}

// RFC 8439 section 2.8.2: constant 07000000 is the salt, 4041424344454647
// the explicit IV. The plaintext ends in '.' (46), so Open returns 114-47 bytes.
func TestSKOpenChaCha20Poly1305KnownAnswer(t *testing.T) {
	key := unhex(t, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f07000000")
	c, err := NewSKCipher(Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256}, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := unhex(t, "4041424344454647"+
		"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"+
		"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"+
		"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"+
		"3ff4def08e4b7a9de576d26586cec64b6116"+
		"1ae10b594f09e26a7e902ecbd0600691")
	pt, err := c.Open(unhex(t, "50515253c0c1c2c3c4c5c6c7"), body)
	if err != nil {
		t.Fatal(err)
	}
	msg := "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
	if string(pt) != msg[:len(msg)-47] {
		t.Fatalf("plaintext %q", pt)
	}
}

// RFC 3602 section 4 cases 1 and 3, with the ICV computed here with crypto/hmac.
func TestSKOpenAESCBCKnownAnswer(t *testing.T) {
	integKey := seq(0x40, 0x60)
	aad := []byte("IKE header and SK header")
	tests := []struct {
		name, key, iv, ct string
		want              string
		wantErr           error
	}{
		// "This is a 48-byte message (exactly 3 AES blocks)" ends in ')' = pad length 41.
		{"case 3", "6c3ea0477630ce21a2ce334aa746c2cd", "c782dc4c098c66cbd9cd27d825682c81",
			"d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684",
			"This i", nil},
		// "Single block msg" ends in 'g' = pad length 103 > 15: invalid.
		{"case 1", "06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
			"e353779c1079aeb82708942dbe77181a", "", ErrMalformedSK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: IntegHMACSHA256128}
			c, err := NewSKCipher(s, unhex(t, tt.key), integKey)
			if err != nil {
				t.Fatal(err)
			}
			signed := unhex(t, tt.iv+tt.ct)
			body := append(signed, refHMAC(sha256.New, integKey, aad, signed)[:16]...)
			pt, err := c.Open(aad, body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(pt) != tt.want {
				t.Fatalf("plaintext %q, want %q", pt, tt.want)
			}
		})
	}
}

func TestSKCipherCBCSealKnownIV(t *testing.T) {
	// RFC 3602 case 2 key and IV (the IV read from the random source): the
	// first ciphertext block of plaintext 00..0f is the RFC's first block.
	key := unhex(t, "c286696d887c9aa0611bbb3e2025a45a")
	iv := unhex(t, "562e17996d093d28ddb3ba695a2e6f58")
	integKey := seq(0, 32)
	s := Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: IntegHMACSHA256128}
	c, err := NewSKCipher(s, key, integKey)
	if err != nil {
		t.Fatal(err)
	}
	c.(*cbcSK).rand = bytes.NewReader(iv)
	aad := []byte("hdr")
	sealed := c.Seal(nil, aad, seq(0, 16))
	if len(sealed) != c.SealedLen(16) || len(sealed) != 16+32+16 {
		t.Fatalf("sealed %d bytes, SealedLen %d", len(sealed), c.SealedLen(16))
	}
	if !bytes.Equal(sealed[:16], iv) {
		t.Fatal("IV not taken from the random source")
	}
	// The first block encrypts 00..0f under this IV: RFC 3602 case 2's first block.
	checkHex(t, "C1", sealed[16:32], "d296cd94c2cccf8a3a863028b5e1dc0a")
	want := refHMAC(sha256.New, integKey, aad, sealed[:48])[:16]
	if !bytes.Equal(sealed[48:], want) {
		t.Fatal("ICV is not the truncated HMAC over aad | IV | ciphertext")
	}
	// Padding: 16 bytes + pad length byte -> 15 padding bytes of zero, pad length 15.
	pt := make([]byte, 32)
	cipher.NewCBCDecrypter(mustAES(t, key), iv).CryptBlocks(pt, sealed[16:48])
	if pt[31] != 15 || !allZero(pt[16:31]) {
		t.Fatalf("padding %x", pt[16:])
	}
}

func mustAES(t *testing.T, key []byte) cipher.Block {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type skCase struct {
	name string
	s    Suite
}

func allSKSuites() []skCase {
	var out []skCase
	for _, bits := range []int{128, 192, 256} {
		for _, integ := range []uint16{IntegHMACSHA256128, IntegHMACSHA384192, IntegHMACSHA512256} {
			s := Suite{Encr: EncrAESCBC, EncrKeyBits: bits, Integ: integ}
			out = append(out, skCase{s.String(), s})
		}
		s := Suite{Encr: EncrAESGCM16, EncrKeyBits: bits}
		out = append(out, skCase{s.String(), s})
	}
	s := Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256}
	return append(out, skCase{s.String(), s})
}

func newTestSK(t testing.TB, s Suite, fill byte) SKCipher {
	c, err := NewSKCipher(s, bytes.Repeat([]byte{fill}, s.EncrKeyLen()), bytes.Repeat([]byte{fill + 1}, s.IntegKeyLen()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSKRoundTripAndTamper(t *testing.T) {
	for _, tc := range allSKSuites() {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestSK(t, tc.s, 7)
			other := newTestSK(t, tc.s, 9)
			for _, n := range []int{0, 1, 14, 15, 16, 17, 100, 1000} {
				aad := []byte("0123456789abcdef0123456789ab")
				pt := seq(0, n)
				sealed := c.Seal(nil, aad, pt)
				if len(sealed) != c.SealedLen(n) {
					t.Fatalf("n=%d: sealed %d bytes, SealedLen %d", n, len(sealed), c.SealedLen(n))
				}
				got, err := c.Open(aad, sealed)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("n=%d: round trip failed: %v", n, err)
				}
				// Flip each byte of the body (IV, ciphertext, ICV) and of the aad.
				for i := range sealed {
					bad := bytes.Clone(sealed)
					bad[i] ^= 0x01
					if _, err := c.Open(aad, bad); !errors.Is(err, ErrIntegrity) {
						t.Fatalf("n=%d: flipped body byte %d: err %v", n, i, err)
					}
				}
				for i := range aad {
					bad := bytes.Clone(aad)
					bad[i] ^= 0x80
					if _, err := c.Open(bad, sealed); !errors.Is(err, ErrIntegrity) {
						t.Fatalf("n=%d: flipped aad byte %d: err %v", n, i, err)
					}
				}
				if _, err := other.Open(aad, sealed); err == nil {
					t.Fatalf("n=%d: opened with the wrong key", n)
				}
				for _, cut := range []int{1, 16, len(sealed)} {
					if cut > len(sealed) {
						continue
					}
					if _, err := c.Open(aad, sealed[:len(sealed)-cut]); err == nil {
						t.Fatalf("n=%d: truncated by %d accepted", n, cut)
					}
				}
			}
		})
	}
}

func TestSKSealAppendsAfterAADPrefix(t *testing.T) {
	// The wire package passes dst with the header and aad = dst's prefix.
	for _, tc := range allSKSuites() {
		c := newTestSK(t, tc.s, 3)
		buf := make([]byte, 0, 512)
		buf = append(buf, "HEADER-28-BYTES-PLUS-SK-HDR!"...)
		aad := buf[:len(buf)]
		pt := []byte("inner payloads")
		out := c.Seal(buf, aad, pt)
		if string(out[:28]) != "HEADER-28-BYTES-PLUS-SK-HDR!" || len(out) != 28+c.SealedLen(len(pt)) {
			t.Fatalf("%s: dst prefix damaged or wrong length", tc.name)
		}
		got, err := c.Open(out[:28], out[28:])
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// Plaintext in the same buffer right where the output goes (in place).
		buf2 := make([]byte, 28, 512)
		copy(buf2, out[:28])
		inPlace := append(buf2, pt...)[28:]
		out2 := c.Seal(buf2, buf2[:28], inPlace)
		got, err = c.Open(out2[:28], out2[28:])
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: in-place seal broken: %v %q", tc.name, err, got)
		}
	}
}

func TestSKAEADCounterIV(t *testing.T) {
	c := newTestSK(t, Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}, 1).(*aeadSK)
	c.ctr.Store(41)
	a := c.Seal(nil, nil, []byte("x"))
	b := c.Seal(nil, nil, []byte("x"))
	if binary.BigEndian.Uint64(a[:8]) != 41 || binary.BigEndian.Uint64(b[:8]) != 42 {
		t.Fatalf("IVs %x, %x: not a counter", a[:8], b[:8])
	}
	if bytes.Equal(a, b) {
		t.Fatal("same output for two seals")
	}
	// Two ciphers with the same key start at independent random counters.
	c1 := newTestSK(t, Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256}, 1)
	c2 := newTestSK(t, Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 256}, 1)
	if bytes.Equal(c1.Seal(nil, nil, nil)[:8], c2.Seal(nil, nil, nil)[:8]) {
		t.Fatal("two ciphers started with the same IV")
	}
}

func TestSKCBCRandomIV(t *testing.T) {
	c := newTestSK(t, Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: IntegHMACSHA256128}, 1)
	a, b := c.Seal(nil, nil, []byte("x")), c.Seal(nil, nil, []byte("x"))
	if bytes.Equal(a[:16], b[:16]) {
		t.Fatal("repeated CBC IV")
	}
}

func TestSKOpenPadding(t *testing.T) {
	// Authentic messages whose plaintext has a bad pad length are rejected;
	// any pad length that fits is accepted (RFC 7296 section 3.14).
	for _, tc := range allSKSuites() {
		c := newTestSK(t, tc.s, 5)
		raw := func(p []byte) []byte {
			switch k := c.(type) {
			case *aeadSK:
				var nonce [12]byte
				copy(nonce[:], k.salt[:])
				return append(make([]byte, 8), k.cipher().Seal(nil, nonce[:], p, nil)...)
			case *cbcSK:
				body := make([]byte, 16+len(p))
				cipher.NewCBCEncrypter(k.block, body[:16]).CryptBlocks(body[16:], p)
				return append(body, k.icv(nil, nil, body)...)
			}
			t.Fatal("unknown cipher type")
			return nil
		}
		good := append(bytes.Repeat([]byte{'a'}, 13), 9, 9, 2) // 2 padding bytes
		if got, err := c.Open(nil, raw(good)); err != nil || string(got) != "aaaaaaaaaaaaa" {
			t.Errorf("%s: pad length 2: %q %v", tc.name, got, err)
		}
		long := append(make([]byte, 31), 31) // everything is padding
		if got, err := c.Open(nil, raw(long)); err != nil || len(got) != 0 {
			t.Errorf("%s: pad length 31: %q %v", tc.name, got, err)
		}
		bad := append(make([]byte, 15), 16) // pad length exceeds the data
		if _, err := c.Open(nil, raw(bad)); !errors.Is(err, ErrMalformedSK) {
			t.Errorf("%s: pad length 16 of 15: %v", tc.name, err)
		}
	}
}

func TestNewSKCipherErrors(t *testing.T) {
	gcm := Suite{Encr: EncrAESGCM16, EncrKeyBits: 128}
	cbc := Suite{Encr: EncrAESCBC, EncrKeyBits: 256, Integ: IntegHMACSHA512256}
	tests := []struct {
		name          string
		s             Suite
		encr, integ   int
		integOverride uint16
	}{
		{"gcm key without salt", gcm, 16, 0, 0},
		{"gcm with integ key", gcm, 20, 32, 0},
		{"gcm with integ alg", Suite{Encr: EncrAESGCM16, EncrKeyBits: 128, Integ: IntegHMACSHA256128}, 20, 0, 0},
		{"cbc short key", cbc, 16, 64, 0},
		{"cbc short integ key", cbc, 32, 32, 0},
		{"cbc no integ", Suite{Encr: EncrAESCBC, EncrKeyBits: 128}, 16, 0, 0},
		{"cbc unknown integ", Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: 2}, 16, 20, 0},
		{"unknown encr", Suite{Encr: 3, EncrKeyBits: 128, Integ: IntegHMACSHA256128}, 16, 32, 0},
		{"chacha wrong bits", Suite{Encr: EncrChaCha20Poly1305, EncrKeyBits: 128}, 20, 0, 0},
	}
	for _, tt := range tests {
		if _, err := NewSKCipher(tt.s, make([]byte, tt.encr), make([]byte, tt.integ)); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestReleaseSK: an SK cipher whose state was released seals and opens as before (the state
// is rebuilt from the keys), and an AEAD one holds no state between release and next use.
func TestReleaseSK(t *testing.T) {
	for _, tc := range allSKSuites() {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newTestSK(t, tc.s, 7), newTestSK(t, tc.s, 7)
			msg := []byte("informational after a quiet hour")
			before := a.Seal(nil, []byte("hdr"), msg)
			ReleaseSK(a)
			ReleaseSK(b)
			if k, ok := a.(*aeadSK); ok && k.aead.Load() != nil {
				t.Fatal("AEAD state kept after ReleaseSK")
			}
			if got, err := b.Open([]byte("hdr"), before); err != nil || string(got) != string(msg) {
				t.Fatalf("open after release: %q %v", got, err)
			}
			after := a.Seal(nil, []byte("hdr"), msg)
			if got, err := b.Open([]byte("hdr"), after); err != nil || string(got) != string(msg) {
				t.Fatalf("seal after release: %q %v", got, err)
			}
		})
	}
}

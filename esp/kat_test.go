package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/vigil-ipsec/vigil/crypto"
)

// RFC 3602 section 4, cases 5-8: ESP packets with AES-128-CBC. The RFC's
// packets carry no ICV, so the SA uses HMAC-SHA-256-128 with a fixed key and
// the test checks the RFC bytes (header, IV, ciphertext) plus an ICV
// computed independently with crypto/hmac. Cases 5 and 6 are transport mode
// (ICMP, next header 1); 7 and 8 are tunnel mode (IPv4, next header 4).
func TestKATRFC3602(t *testing.T) {
	integKey := unhex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	cases := []struct {
		name    string
		key     string
		spi     uint32
		seq     uint64
		iv      string
		payload string
		nh      uint8
		packet  string // RFC: SPI | Seq | IV | ciphertext
	}{
		{
			name: "case5", key: "90d382b410eeba7ad938c46cec1a82bf", spi: 0x4321, seq: 1,
			iv:      "e96e8c08ab465763fd098d45dd3ff893",
			payload: "08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
			nh:      1,
			packet: "0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849a4870b66cc6b9965330013b4898dc856" +
				"a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6",
		},
		{
			name: "case6", key: "90d382b410eeba7ad938c46cec1a82bf", spi: 0x4321, seq: 8,
			iv:      "69d08df7d203329db093fc4924e5bd80",
			payload: "0800b5e8a80a0500a69c083d0b660e00777777777777777777777777",
			nh:      1,
			packet:  "000043210000000869d08df7d203329db093fc4924e5bd80f51995881ec4e0c4488987ce742e8109689bb379d2d750c0d915dca346a89f75",
		},
		{
			name: "case7", key: "0123456789abcdef0123456789abcdef", spi: 0x8765, seq: 2,
			iv: "f4e765244f6407adf13dc1380f673f37",
			payload: "45000054090400004001f988c0a87b03c0a87bc808009f76a90a0100b49c083d02a2040008090a0b0c0d0e0f10111213" +
				"1415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
			nh: 4,
			packet: "0000876500000002f4e765244f6407adf13dc1380f673f37773b5241a4c449225e4f3ce5ed611b0c237ca96cf74a93013c1b0ea1a0cf70f8" +
				"e4ecaec78ac53aad7a0f022b859243c647752e94a859352b8a4d4d2decd136e5c177f132ad3fbfb2201ac9904c74ee0a109e0ca1e4dfe9d5a100b842f1c22f0d",
		},
		{
			name: "case8", key: "0123456789abcdef0123456789abcdef", spi: 0x8765, seq: 5,
			iv:      "85d47224b5f3dd5d2101d4ea8dffab22",
			payload: "45000044090c00004001f990c0a87b03c0a87bc80800d63caa0a0200c69c083da3de0300ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			nh:      4,
			packet: "000087650000000585d47224b5f3dd5d2101d4ea8dffab2215b92683819596a8047232cc00f7048fe45318e11f8a0f62ede3c3fc61203bb50f" +
				"980a08c9843fd3a1b06d5c07ff9639b7eb7dfb3512e5de435e7207ed971ef3d2726d9b5ef6affc6d17a0decbb13892",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{SPI: tc.spi, Encr: crypto.EncrAESCBC, EncrKey: unhex(t, tc.key), Integ: crypto.IntegHMACSHA256128, IntegKey: integKey}
			tx, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			payload, want := unhex(t, tc.payload), unhex(t, tc.packet)
			m := hmac.New(sha256.New, integKey)
			m.Write(want)
			want = m.Sum(want)[:len(want)+16]

			got := tx.seal(nil, payload, tc.nh, tc.seq, unhex(t, tc.iv))
			if !bytes.Equal(got, want) {
				t.Fatalf("sealed packet\n got %x\nwant %x", got, want)
			}
			rx, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			inner, nh, err := rx.Open(nil, want)
			if err != nil || nh != tc.nh || !bytes.Equal(inner, payload) {
				t.Fatalf("Open = %x, %d, %v; want %x, %d", inner, nh, err, payload, tc.nh)
			}
		})
	}
}

// RFC 7634 Appendix A: the ChaCha20-Poly1305 ESP example (tunnel mode, SPI
// 0x01020304, sequence number 5, IV 0x1011121314151617).
func TestKATRFC7634(t *testing.T) {
	cfg := Config{
		SPI:  0x01020304,
		Encr: crypto.EncrChaCha20Poly1305,
		EncrKey: unhex(t, `808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f
			a0a1a2a3`),
	}
	source := unhex(t, `45000054a6f200004001e778c6336405 c000020508005b7a3a080000553bec10
		0007362708090a0b0c0d0e0f10111213 1415161718191a1b1c1d1e1f20212223
		2425262728292a2b2c2d2e2f30313233 34353637`)
	packet := unhex(t, `01020304000000051011121314151617 24039428b97f417e3c13753a4f05087b
		67c352e6a7fab1b982d466ef407ae5c6 14ee8099d52844eb61aa95dfab4c02f7
		2aa71e7c4c4f64c9befe2facc638e8f3 cbec163fac469b502773f6fb94e664da
		9165b82829f641e0 76aaa8266b7fb0f7b11b369907e1ad43`)
	tx, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := tx.seal(nil, source, NextHeaderIPv4, 5, unhex(t, "1011121314151617")); !bytes.Equal(got, packet) {
		t.Fatalf("sealed packet\n got %x\nwant %x", got, packet)
	}
	rx, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(packet)
	inner, nh, err := rx.Open(buf[:0], buf)
	if err != nil || nh != NextHeaderIPv4 || !bytes.Equal(inner, source) {
		t.Fatalf("Open = %x, %d, %v", inner, nh, err)
	}
	if _, _, err := rx.Open(nil, packet); !errors.Is(err, ErrReplay) {
		t.Fatalf("second Open: %v, want ErrReplay", err)
	}
}

// draft-mcgrew-gcm-test-01, the AES-256-GCM ESP test case with SPI
// 0x4a2cbfe3 (transport mode, next header 1). An external GCM vector in
// addition to the independently computed one below.
func TestKATMcGrewGCM256(t *testing.T) {
	cfg := Config{
		SPI:     0x4a2cbfe3,
		Encr:    crypto.EncrAESGCM16,
		EncrKey: unhex(t, "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344"),
	}
	inner := unhex(t, `4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
		7002400020bf0000020405b401010402`)
	packet := unhex(t, `4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d
		6a78107f1b0b1cbf06efae9d65a5d763 748a637985771d347f0545659f14e99d
		ef842d8eb335f4eecfdbf831824b4c49 15956c96`)
	tx, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := tx.seal(nil, inner, 1, 2, unhex(t, "0102030405060708")); !bytes.Equal(got, packet) {
		t.Fatalf("sealed packet\n got %x\nwant %x", got, packet)
	}
	rx, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, nh, err := rx.Open(nil, packet)
	if err != nil || nh != 1 || !bytes.Equal(got, inner) {
		t.Fatalf("Open = %x, %d, %v", got, nh, err)
	}
}

// independentAEAD builds the AEAD for an RFC 4106 / RFC 7634 key||salt
// directly, without the package.
func independentAEAD(t *testing.T, encr uint16, keySalt []byte) (cipher.AEAD, []byte) {
	t.Helper()
	key, salt := keySalt[:len(keySalt)-4], keySalt[len(keySalt)-4:]
	var a cipher.AEAD
	var err error
	if encr == crypto.EncrChaCha20Poly1305 {
		a, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return a, salt
}

// TestKATGolden checks Seal against packets assembled by hand with
// crypto/cipher over the documented layout (SPI|Seq|IV|ct|tag, IV = 64-bit
// sequence number, nonce = salt|IV, AAD = SPI|Seq), and against frozen
// golden bytes so that any future change of output is noticed.
func TestKATGolden(t *testing.T) {
	cases := []struct {
		name   string
		encr   uint16
		key    string
		spi    uint32
		inner  []byte
		nh     uint8
		trail  string // padding | Pad Length | Next Header, written out by hand
		golden string
	}{
		{
			name: "aes128gcm16-ipv4", encr: crypto.EncrAESGCM16,
			key: "feffe9928665731c6d6a8f9467308308 cafebabe", spi: 0x12345678,
			inner: ipv4Packet(41), nh: NextHeaderIPv4, trail: "01 01 04",
			golden: "12345678000000010000000000000001c944aab0f44e7cb944abb16ae881614355d2d495c5d41521ea1ba1af6c45e4e6" +
				"7255fffe50357ccbc7ffaa2c6794e38c71a545b14776ae76c2421839",
		},
		{
			name: "aes256gcm16-ipv6", encr: crypto.EncrAESGCM16,
			key: "feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308 cafebabe", spi: 0x00a5f00d,
			inner: ipv6Packet(48), nh: NextHeaderIPv6, trail: "01 02 02 29",
			golden: "00a5f00d000000010000000000000001a0047d6a8c66664ad24f461349c8346d5e95623f2aab56017f45fa1c666087d9" +
				"e2ce4d270048804fb9c547396fdff581c7d9907e590553ac722fb12dffc129f26e0e8466",
		},
		{
			name: "chacha20poly1305-ipv6", encr: crypto.EncrChaCha20Poly1305,
			key: "808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f a0a1a2a3", spi: 0x87654321,
			inner: ipv6Packet(60), nh: NextHeaderIPv6, trail: "01 02 02 29",
			golden: "87654321000000010000000000000001fa63ec05d8bafb03dcd44e0527ea696460e0d7f81781bb43ff67aa1adc3ffe48" +
				"29c5938bd9066340b074c67349689832685c26db55dae00124f3f60ef221a5692120e23950427e7e3e90bd59cb6346af",
		},
		{
			name: "chacha20poly1305-ipv4", encr: crypto.EncrChaCha20Poly1305,
			key: "808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f a0a1a2a3", spi: 0x87654321,
			inner: ipv4Packet(20), nh: NextHeaderIPv4, trail: "01 02 02 04",
			golden: "87654321000000010000000000000001df63ec11d8aeea43bcc54e052dea69656ae0d7fa1683b9462d5383401a51a07c" +
				"7ca7122c40c181f4",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keySalt := unhex(t, tc.key)
			s, err := New(Config{SPI: tc.spi, Encr: tc.encr, EncrKey: keySalt})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Seal(nil, tc.inner, tc.nh)
			if err != nil {
				t.Fatal(err)
			}

			a, salt := independentAEAD(t, tc.encr, keySalt)
			hdr := make([]byte, 16)
			binary.BigEndian.PutUint32(hdr[0:4], tc.spi)
			binary.BigEndian.PutUint32(hdr[4:8], 1) // first sequence number
			binary.BigEndian.PutUint64(hdr[8:16], 1)
			nonce := append(bytes.Clone(salt), hdr[8:16]...)
			pt := append(bytes.Clone(tc.inner), unhex(t, tc.trail)...)
			want := a.Seal(bytes.Clone(hdr), nonce, pt, hdr[:8])
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal\n got %x\nwant %x", got, want)
			}
			if hex.EncodeToString(got) != tc.golden {
				t.Fatalf("golden mismatch\n got %x\nwant %s", got, tc.golden)
			}
		})
	}
}

// TestESNLayout checks the RFC 4106 section 5 / RFC 7634 section 2.1 AAD
// (SPI | Seq-high | Seq-low) and the RFC 4303 section 2.2.1 ICV input
// (SPI | Seq | IV | ct | Seq-high) for a sequence number above 2^32.
func TestESNLayout(t *testing.T) {
	var seq uint64 = 1<<32 | 4
	for _, su := range suites {
		t.Run(su.name, func(t *testing.T) {
			cfg := su.config(0x0badcafe, true)
			tx, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tx.seqCounter().n.Store(seq - 1)
			inner := ipv4Packet(100)
			pkt, err := tx.Seal(nil, inner, NextHeaderIPv4)
			if err != nil {
				t.Fatal(err)
			}
			if got := binary.BigEndian.Uint32(pkt[4:8]); got != uint32(seq) {
				t.Fatalf("header carries seq %#x, want low bits %#x", got, uint32(seq))
			}
			esnAAD := unhex(t, "0badcafe 00000001 00000004")
			if su.encr != crypto.EncrAESCBC {
				if got := binary.BigEndian.Uint64(pkt[8:16]); got != seq {
					t.Fatalf("IV = %#x, want the 64-bit sequence number %#x", got, seq)
				}
				a, salt := independentAEAD(t, su.encr, cfg.EncrKey)
				nonce := append(bytes.Clone(salt), pkt[8:16]...)
				if _, err := a.Open(nil, nonce, pkt[16:], esnAAD); err != nil {
					t.Fatalf("tag does not verify with 12-byte ESN AAD: %v", err)
				}
				if _, err := a.Open(nil, nonce, pkt[16:], pkt[:8]); err == nil {
					t.Fatal("tag also verifies with the 8-byte non-ESN AAD")
				}
			} else {
				icv := tx.tailLen()
				m := hmac.New(hmacHash(su.integ), cfg.IntegKey)
				m.Write(pkt[:len(pkt)-icv])
				m.Write(esnAAD[4:8])
				if want := m.Sum(nil)[:icv]; !bytes.Equal(pkt[len(pkt)-icv:], want) {
					t.Fatalf("ICV %x, want %x (computed over ...|ct|Seq-high)", pkt[len(pkt)-icv:], want)
				}
			}
			// A receiver whose window has reached the 2^32 boundary infers
			// Seq-high = 1 and accepts the packet.
			rx, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rx.replayWindow().Update(1<<32 | 1)
			got, _, err := rx.Open(nil, pkt)
			if err != nil || !bytes.Equal(got, inner) {
				t.Fatalf("ESN receiver: %v", err)
			}
			// A receiver without ESN builds a different AAD / ICV input.
			cfg.ESN = false
			plain, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := plain.Open(nil, pkt); !errors.Is(err, ErrAuth) {
				t.Fatalf("non-ESN receiver: %v, want ErrAuth", err)
			}
		})
	}
}

package crypto

import (
	"reflect"
	"testing"
)

func FuzzParseProposals(f *testing.F) {
	for _, s := range []string{
		"aes128gcm16-prfsha256-x25519",
		"aes256-sha256-modp2048,aes128gcm16-prfsha256-ecp256!",
		"aes128-aes192-aes256-sha256-sha384-sha512-ecp384",
		"chacha20poly1305-esn-noesn",
		"aes256gcm16-sha384-ecp384",
		"AES128GCM-curve25519",
		"", ",", "-", "--,,!", "aes128gcm16-prfsha256-sha256-x25519", "3des-md5-modp1024",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, ike bool) {
		props, err := ParseProposals(s, ike)
		if err != nil {
			return
		}
		for _, p := range props {
			if len(p.Encr) == 0 {
				t.Fatalf("%q: proposal without encryption", s)
			}
			if ike && (len(p.PRF) == 0 || len(p.DH) == 0 || len(p.ESN) != 0) {
				t.Fatalf("%q: invalid IKE proposal %+v", s, p)
			}
			if !ike && (len(p.PRF) != 0 || len(p.ESN) == 0) {
				t.Fatalf("%q: invalid ESP proposal %+v", s, p)
			}
			if p.AEAD() == (len(p.Integ) != 0) {
				t.Fatalf("%q: AEAD %v with integ %v", s, p.AEAD(), p.Integ)
			}
			again, err := ParseProposals(p.String(), ike)
			if err != nil || !reflect.DeepEqual(again, []Proposal{p}) {
				t.Fatalf("%q: String %q does not round-trip: %v", s, p.String(), err)
			}
		}
	})
}

func FuzzSKOpen(f *testing.F) {
	suites := allSKSuites()
	ciphers := make([]SKCipher, len(suites))
	for i, tc := range suites {
		ciphers[i] = newTestSK(f, tc.s, 0x42)
	}
	for i, c := range ciphers {
		f.Add(uint8(i), []byte("aad"), c.Seal(nil, []byte("aad"), []byte("payload")))
		f.Add(uint8(i), []byte{}, make([]byte, c.SealedLen(0)))
	}
	f.Add(uint8(0), []byte(nil), []byte(nil))
	f.Add(uint8(3), []byte("x"), make([]byte, 24))
	f.Fuzz(func(t *testing.T, which uint8, aad, body []byte) {
		c := ciphers[int(which)%len(ciphers)]
		pt, err := c.Open(aad, body)
		if err != nil {
			return
		}
		// Only authentic input opens; sealing it again must round-trip.
		if len(pt) >= len(body) {
			t.Fatalf("plaintext %d bytes from %d-byte body", len(pt), len(body))
		}
		again, err := c.Open(aad, c.Seal(nil, aad, pt))
		if err != nil || string(again) != string(pt) {
			t.Fatalf("re-seal round trip failed: %v", err)
		}
	})
}

package crypto

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"testing"
)

// RFC 4231 test cases 1 and 2.
func TestPRFRFC4231(t *testing.T) {
	tc1Key := bytes.Repeat([]byte{0x0b}, 20)
	tc1Data := []byte("Hi There")
	tc2Key := []byte("Jefe")
	tc2Data := []byte("what do ya want for nothing?")
	tests := []struct {
		id        uint16
		key, data []byte
		want      string
	}{
		{PRFHMACSHA256, tc1Key, tc1Data, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{PRFHMACSHA384, tc1Key, tc1Data, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"},
		{PRFHMACSHA512, tc1Key, tc1Data, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{PRFHMACSHA256, tc2Key, tc2Data, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{PRFHMACSHA384, tc2Key, tc2Data, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
		{PRFHMACSHA512, tc2Key, tc2Data, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	}
	for _, tt := range tests {
		p, err := NewPRF(tt.id)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Compute(tt.key, tt.data)
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: got %x, want %s", p, got, tt.want)
		}
		if p.Size() != len(got) {
			t.Errorf("%s: Size %d, output %d", p, p.Size(), len(got))
		}
		if p.ID() != tt.id {
			t.Errorf("ID %d, want %d", p.ID(), tt.id)
		}
	}
}

func TestNewPRFUnsupported(t *testing.T) {
	for _, id := range []uint16{0, 1, 2, 4, 8, 12} {
		if _, err := NewPRF(id); err == nil {
			t.Errorf("NewPRF(%d) succeeded", id)
		}
	}
}

// RFC 4868 section 2.7.2 authenticator test case 1 (key of exactly the
// integrity key length, "Hi There"), checked through the SK cipher's ICV.
func TestIntegTruncationRFC4868(t *testing.T) {
	tests := []struct {
		id     uint16
		keyLen int
		want   string
	}{
		{IntegHMACSHA256128, 32, "198a607eb44bfbc69903a0f1cf2bbdc5"},
		{IntegHMACSHA384192, 48, "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"},
		{IntegHMACSHA512256, 64, "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"},
	}
	for _, tt := range tests {
		s := Suite{Encr: EncrAESCBC, EncrKeyBits: 128, Integ: tt.id}
		if s.IntegKeyLen() != tt.keyLen {
			t.Errorf("IntegKeyLen(%d) = %d, want %d", tt.id, s.IntegKeyLen(), tt.keyLen)
		}
		c, err := newCBCSK(make([]byte, 16), tt.id, bytes.Repeat([]byte{0x0b}, tt.keyLen))
		if err != nil {
			t.Fatal(err)
		}
		got := c.icv(nil, []byte("Hi "), []byte("There"))
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("integ %d: got %x, want %s", tt.id, got, tt.want)
		}
		if IntegICVLen(tt.id) != len(tt.want)/2 {
			t.Errorf("IntegICVLen(%d) = %d", tt.id, IntegICVLen(tt.id))
		}
	}
}

func TestPRFPlus(t *testing.T) {
	key := seq(0, 32)
	seed := []byte("IKEv2 prf+ seed")
	// Expected values computed independently with Python's hmac module.
	known := []struct {
		id   uint16
		n    int
		want string
	}{
		{PRFHMACSHA256, 100, "1bc62c56e47acafc6f517f0805fef0549a175162c264e0680baaf6c15bdba903e9196e48c31459267f92972dde729509acd471da05ebf6f8d775f1a635896e790cae5009291df892ac645aedb6997248c4172bb2d60553a2997f62cb41d916674abd708d"},
		{PRFHMACSHA512, 150, "08091f20349bc6eb88b53874c3c502c4103922a404bcd50dc9c93468c0ea958b95e7989794bf5dcceb2af7a54e7ecae8ac43e36aa88747b2a3924f1922b304472e3b82e36cd853af02cd3b2d76b1817d43c4d527e102a1cb0a4d0e584a0937557f2c69ee93276debdb4ac8b271976c2f2328f3566d3313b953c62071d0a34b3c8a044d9fb525983f07272690b4acb9912f4bfb02cc60"},
	}
	for _, k := range known {
		p, _ := NewPRF(k.id)
		if got := hex.EncodeToString(p.Plus(key, seed, k.n)); got != k.want {
			t.Errorf("prf+ %s: got %s, want %s", p, got, k.want)
		}
	}

	// Hand derivation of the first blocks for HMAC-SHA-256:
	// T1 = prf(K, S | 0x01), T2 = prf(K, T1 | S | 0x02), T3 = prf(K, T2 | S | 0x03).
	p, _ := NewPRF(PRFHMACSHA256)
	t1 := refHMAC(sha256.New, key, seed, []byte{1})
	t2 := refHMAC(sha256.New, key, t1, seed, []byte{2})
	t3 := refHMAC(sha256.New, key, t2, seed, []byte{3})
	want := append(append(append([]byte{}, t1...), t2...), t3[:10]...)
	if got := p.Plus(key, seed, 74); !bytes.Equal(got, want) {
		t.Errorf("prf+ hand derivation mismatch:\n got %x\nwant %x", got, want)
	}

	// Cross-check every PRF and many lengths with the reference.
	hashes := map[uint16]func() hash.Hash{PRFHMACSHA256: sha256.New, PRFHMACSHA384: sha512.New384, PRFHMACSHA512: sha512.New}
	for id, h := range hashes {
		p, _ := NewPRF(id)
		for _, n := range []int{0, 1, p.Size() - 1, p.Size(), p.Size() + 1, 3*p.Size() + 7, p.MaxPlus()} {
			got := p.Plus(key, seed, n)
			if len(got) != n || !bytes.Equal(got, refPlus(h, key, seed, n)) {
				t.Errorf("%s prf+ n=%d mismatch", p, n)
			}
		}
	}
}

func TestPRFPlusTooLongPanics(t *testing.T) {
	p, _ := NewPRF(PRFHMACSHA256)
	defer func() {
		if recover() == nil {
			t.Error("Plus beyond 255 blocks did not panic")
		}
	}()
	p.Plus([]byte("k"), nil, p.MaxPlus()+1)
}

package v1crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// refCBC encrypts already padded data with the standard library.
func refCBC(t *testing.T, key, iv, padded []byte) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, padded)
	return out
}

// rfcPad pads as RFC 2409 section 5.3 describes.
func rfcPad(p []byte) []byte {
	n := 16 - len(p)%16
	out := append(append([]byte{}, p...), make([]byte, n)...)
	out[len(out)-1] = byte(n - 1)
	return out
}

func TestCBCChainMatchesStdlib(t *testing.T) {
	for _, keyLen := range []int{16, 24, 32} {
		key, iv := random(t, keyLen), random(t, 16)
		c, err := NewCBC(key, iv)
		if err != nil {
			t.Fatal(err)
		}
		cur := iv
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 100} {
			p := random(t, n)
			prefix := []byte("hdr")
			got := c.Encrypt(prefix, p)
			if !bytes.HasPrefix(got, []byte("hdr")) {
				t.Fatal("Encrypt lost dst")
			}
			ct := got[3:]
			want := refCBC(t, key, cur, rfcPad(p))
			if !bytes.Equal(ct, want) {
				t.Fatalf("key %d, %d bytes: ciphertext differs from crypto/cipher", keyLen, n)
			}
			cur = ct[len(ct)-16:]
			if !bytes.Equal(c.IV(), cur) {
				t.Fatalf("IV not advanced to the last ciphertext block")
			}
		}
	}
}

func TestCBCPadding(t *testing.T) {
	key, iv := random(t, 16), random(t, 16)
	for n := 0; n <= 48; n++ {
		enc, _ := NewCBC(key, iv)
		dec, _ := NewCBC(key, iv)
		p := bytes.Repeat([]byte{0xee}, n)
		ct := enc.Encrypt(nil, p)
		pad := len(ct) - n
		if len(ct)%16 != 0 || pad < 1 || pad > 16 {
			t.Fatalf("%d bytes: ciphertext %d bytes", n, len(ct))
		}
		pt, err := dec.Decrypt(append([]byte{}, ct...))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pt[:n], p) {
			t.Fatalf("%d bytes: plaintext differs", n)
		}
		tail := pt[n:]
		if int(tail[len(tail)-1]) != pad-1 || !bytes.Equal(tail[:pad-1], make([]byte, pad-1)) {
			t.Fatalf("%d bytes: padding %x", n, tail)
		}
		if !bytes.Equal(enc.IV(), dec.IV()) {
			t.Fatalf("%d bytes: sender and receiver IVs diverge", n)
		}
	}
}

func TestCBCDecryptErrors(t *testing.T) {
	c, _ := NewCBC(random(t, 32), random(t, 16))
	iv := c.IV()
	for _, n := range []int{0, 1, 15, 17, 33} {
		if _, err := c.Decrypt(make([]byte, n)); !errors.Is(err, ErrCiphertextLength) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	if !bytes.Equal(c.IV(), iv) {
		t.Error("failed Decrypt changed the IV")
	}
}

func TestCBCCloneAndWithIV(t *testing.T) {
	key, iv := random(t, 16), random(t, 16)
	c, _ := NewCBC(key, iv)
	ct := c.Encrypt(nil, []byte("first message"))
	d, _ := NewCBC(key, iv)
	trial := d.Clone()
	if _, err := trial.Decrypt(append([]byte{}, ct...)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.IV(), iv) {
		t.Error("decrypting with a clone advanced the original")
	}
	if !bytes.Equal(trial.IV(), c.IV()) {
		t.Error("clone IV not advanced")
	}
	x, err := c.WithIV(iv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.IV(), iv) || bytes.Equal(c.IV(), iv) {
		t.Error("WithIV did not set the IV or touched the original")
	}
	if _, err := c.WithIV(iv[:8]); err == nil {
		t.Error("WithIV accepted an 8-byte IV")
	}
}

func TestNewCBCErrors(t *testing.T) {
	if _, err := NewCBC(make([]byte, 20), make([]byte, 16)); err == nil {
		t.Error("20-byte key accepted")
	}
	if _, err := NewCBC(make([]byte, 16), make([]byte, 8)); err == nil {
		t.Error("8-byte IV accepted")
	}
}

func TestCBCAllocations(t *testing.T) {
	c, _ := NewCBC(random(t, 32), random(t, 16))
	p := random(t, 200)
	dst := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { c.Encrypt(dst, p) }); n != 0 {
		t.Errorf("Encrypt allocates %v times", n)
	}
	ct := make([]byte, 208)
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Decrypt(ct) }); n != 0 {
		t.Errorf("Decrypt allocates %v times", n)
	}
}

// TestNoSecretsInOutput formats the secret-holding types every way fmt
// allows and looks for the key material.
func TestNoSecretsInOutput(t *testing.T) {
	psk := []byte("super-secret-psk-value")
	p := Phase1Params{Hash: SHA256, EncKeyLen: 32, PSK: psk, Ni: []byte{1}, Nr: []byte{2}, GXi: []byte{3}, GXr: []byte{4}, GXY: []byte{0xde, 0xad, 0xbe, 0xef}}
	k, err := DerivePhase1PSK(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Cipher()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, v := range []any{p, &p, k, *k, c, *c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	s := out.String()
	secrets := map[string][]byte{"PSK": psk, "g^xy": p.GXY, "SKEYID": k.SKEYID, "SKEYID_a": k.SKEYIDa, "SKEYID_d": k.SKEYIDd, "Ka": k.EncKey[:8], "IV": k.IV[:8]}
	for name, sec := range secrets {
		if strings.Contains(s, string(sec)) || strings.Contains(s, hex.EncodeToString(sec)) || strings.Contains(s, fmt.Sprint(sec)) {
			t.Errorf("%s appears in formatted output", name)
		}
	}
	if !strings.Contains(s, "redacted") {
		t.Error("formatted output does not look redacted")
	}
}
